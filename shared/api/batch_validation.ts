/**
 * Validation of batch/v1 Jobs and CronJobs (kube-apiserver's ValidateJob / ValidateCronJob and
 * their update rules), in its words: the Job spec (counts, Indexed mode and its limits,
 * backoffLimitPerIndex and maxFailedIndexes, podFailurePolicy, successPolicy), CronJob schedules
 * and time zones, and which fields an update may change.
 */
import { ApiError } from "../errors.ts";
import { selectorFromLabelSelector } from "../labels.ts";
import { isValidTimeZone, parseSchedule } from "../cron/schedule.ts";
import type { FieldErrors } from "./field_errors.ts";
import { validateLabels, validatePodSpec } from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Most parallelism an Indexed Job may ask for (Kubernetes' maxParallelismForIndexedJob). */
const MAX_INDEXED_PARALLELISM = 100_000;
/** Most maxFailedIndexes (Kubernetes' maxFailedIndexesForIndexedJob). */
const MAX_FAILED_INDEXES = 100_000;
/**
 * Above this many completions, backoffLimitPerIndex needs maxFailedIndexes, and both it and
 * parallelism at most {@linkcode HIGH_COMPLETIONS_LIMIT} (Kubernetes' completionsSoftLimit:
 * keeps `status.failedIndexes` small).
 */
const COMPLETIONS_SOFT_LIMIT = 100_000;
const HIGH_COMPLETIONS_LIMIT = 10_000;
/** Most rules of a podFailurePolicy or a successPolicy. */
const MAX_POLICY_RULES = 20;
/** Longest `succeededIndexes` of a successPolicy rule (64 KiB). */
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
/** A CronJob's name is followed by `-<minutes>` in its Jobs' names, which must stay ≤ 63. */
const MAX_CRONJOB_NAME = 52;

function nonNegative(v: number | undefined, field: string, errs: FieldErrors): void {
  if (v !== undefined && v < 0) errs.invalid(field, v, "must be greater than or equal to 0");
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  const out: Obj = {};
  for (const k of Object.keys(v as Obj).sort()) {
    if ((v as Obj)[k] !== undefined) out[k] = sortKeys((v as Obj)[k]);
  }
  return out;
}

/** Whether `selector` selects `labels` (undefined when the selector itself is invalid). */
function selects(selector: Obj, labels: Record<string, string>): boolean | undefined {
  try {
    return selectorFromLabelSelector(selector).matches(labels);
  } catch (e) {
    if (e instanceof ApiError) return undefined;
    throw e;
  }
}

function validatePodFailurePolicy(spec: Obj, field: string, errs: FieldErrors): void {
  const policy = spec.podFailurePolicy;
  if (!policy) return;
  const restartPolicy = spec.template?.spec?.restartPolicy;
  if (restartPolicy !== "Never") {
    errs.invalid(
      `${field}.template.spec.restartPolicy`,
      restartPolicy,
      'only "Never" is supported when podFailurePolicy is specified',
    );
  }
  const containers = new Set<string>(
    [...(spec.template?.spec?.containers ?? []), ...(spec.template?.spec?.initContainers ?? [])]
      .map((c: Obj) => c.name),
  );
  const rules: Obj[] = policy.rules ?? [];
  if (rules.length > MAX_POLICY_RULES) {
    errs.tooMany(`${field}.podFailurePolicy.rules`, rules.length, MAX_POLICY_RULES);
  }
  rules.forEach((rule, i) => {
    const f = `${field}.podFailurePolicy.rules[${i}]`;
    if (rule.action === "FailIndex" && spec.backoffLimitPerIndex === undefined) {
      errs.invalid(`${f}.action`, rule.action, "requires the backoffLimitPerIndex to be set");
    }
    const hasCodes = rule.onExitCodes !== undefined;
    const hasConditions = rule.onPodConditions !== undefined;
    if (hasCodes === hasConditions) {
      errs.invalid(f, "", "specifying one of OnExitCodes and OnPodConditions is required");
    }
    if (hasCodes) {
      const codes = rule.onExitCodes;
      const cf = `${f}.onExitCodes`;
      if (codes.containerName !== undefined && !containers.has(codes.containerName)) {
        errs.invalid(
          `${cf}.containerName`,
          codes.containerName,
          "must be one of the container or initContainer names in the pod template",
        );
      }
      const values: number[] = codes.values ?? [];
      if (values.length === 0) {
        errs.invalid(`${cf}.values`, values, "at least one value is required");
      }
      if (values.length > 255) errs.tooMany(`${cf}.values`, values.length, 255);
      // As kube-apiserver: each repeated value is a Duplicate, and one "must be ordered" for the
      // list when any value is lower than the one before it.
      const seen = new Set<number>();
      let ordered = true;
      values.forEach((v, j) => {
        if (codes.operator === "In" && v === 0) {
          errs.invalid(`${cf}.values[${j}]`, v, "must not be 0 for the In operator");
        }
        if (seen.has(v)) errs.duplicate(`${cf}.values[${j}]`, v);
        seen.add(v);
        if (j > 0 && values[j - 1] > v) ordered = false;
      });
      if (!ordered) errs.invalid(`${cf}.values`, values, "must be ordered");
    }
    (rule.onPodConditions as Obj[] | undefined)?.forEach((p, j) => {
      if (!p.type) errs.required(`${f}.onPodConditions[${j}].type`);
    });
  });
}

/**
 * Parses a successPolicy's `succeededIndexes` as kube-apiserver's validateIndexesFormat: ordered,
 * non-overlapping `a` or `a-b` intervals below `completions`. Returns how many indexes it names,
 * or the error in Kubernetes' words.
 */
export function parseIndexesFormat(
  text: string,
  completions: number,
): { total: number } | { error: string } {
  if (text === "") return { total: 0 };
  // strconv.Atoi: an optional sign, then decimal digits.
  const atoi = (part: string) => /^[+-]?\d+$/.test(part) ? Number(part) : undefined;
  let last: number | undefined;
  let total = 0;
  for (const interval of text.split(",")) {
    const limits = interval.split("-");
    if (limits.length > 2) {
      return {
        error: `the fragment ${JSON.stringify(interval)} violates the requirement that an index ` +
          "interval can have at most two parts separated by '-'",
      };
    }
    const bounds: number[] = [];
    for (const part of limits) {
      const n = atoi(part);
      if (n === undefined) {
        return { error: `cannot convert string to integer for index: ${JSON.stringify(part)}` };
      }
      if (n >= completions) return { error: `too large index: ${JSON.stringify(part)}` };
      bounds.push(n);
    }
    const [x, y = x] = bounds;
    if (limits.length === 2 && x >= y) {
      return { error: `non-increasing order, previous: ${x}, current: ${y}` };
    }
    if (last !== undefined && last >= x) {
      return { error: `non-increasing order, previous: ${last}, current: ${x}` };
    }
    total += y - x + 1;
    last = y;
  }
  return { total };
}

/** spec.successPolicy of an Indexed Job (kube-apiserver's validateSuccessPolicy). */
function validateSuccessPolicy(spec: Obj, field: string, errs: FieldErrors): void {
  const rules: Obj[] = spec.successPolicy.rules ?? [];
  const rf = `${field}.successPolicy.rules`;
  if (rules.length === 0) {
    errs.required(rf, "at least one rules must be specified when the successPolicy is specified");
  }
  if (rules.length > MAX_POLICY_RULES) errs.tooMany(rf, rules.length, MAX_POLICY_RULES);
  const completions: number | undefined = spec.completions;
  rules.forEach((rule, i) => {
    const f = `${rf}[${i}]`;
    if (rule.succeededCount === undefined && rule.succeededIndexes === undefined) {
      errs.required(f, "at least one of succeededCount or succeededIndexes must be specified");
    }
    // Without completions (already an error for Indexed Jobs) nothing below can be checked.
    if (completions === undefined) return;
    let total = 0;
    if (rule.succeededIndexes !== undefined) {
      const text: string = rule.succeededIndexes;
      if (text.length > MAX_SUCCEEDED_INDEXES_LENGTH) {
        errs.tooLong(`${f}.succeededIndexes`, MAX_SUCCEEDED_INDEXES_LENGTH);
      }
      const parsed = parseIndexesFormat(text, completions);
      if ("error" in parsed) {
        errs.invalid(
          `${f}.succeededIndexes`,
          text,
          `error parsing succeededIndexes: ${parsed.error}`,
        );
      } else total = parsed.total;
    }
    if (rule.succeededCount !== undefined) {
      const cf = `${f}.succeededCount`;
      const count: number = rule.succeededCount;
      nonNegative(count, cf, errs);
      if (count > completions) {
        errs.invalid(
          cf,
          count,
          `must be less than or equal to ${completions} (the number of specified completions)`,
        );
      }
      if (rule.succeededIndexes !== undefined && count > total) {
        errs.invalid(
          cf,
          count,
          `must be less than or equal to ${total} (the number of indexes in the specified ` +
            "succeededIndexes field)",
        );
      }
    }
  });
}

/**
 * The Indexed-mode rules of a JobSpec: completions required, parallelism and maxFailedIndexes
 * bounded, and above 10^5 completions with backoffLimitPerIndex the tighter limits.
 */
function validateIndexedJobSpec(spec: Obj, field: string, errs: FieldErrors): void {
  const { completions, parallelism, maxFailedIndexes } = spec;
  if (completions === undefined) {
    errs.required(`${field}.completions`, "when completion mode is Indexed");
  }
  if (parallelism !== undefined && parallelism > MAX_INDEXED_PARALLELISM) {
    errs.invalid(
      `${field}.parallelism`,
      parallelism,
      `must be less than or equal to ${MAX_INDEXED_PARALLELISM} when completion mode is Indexed`,
    );
  }
  if (
    completions !== undefined && maxFailedIndexes !== undefined && maxFailedIndexes > completions
  ) {
    errs.invalid(
      `${field}.maxFailedIndexes`,
      maxFailedIndexes,
      "must be less than or equal to completions",
    );
  }
  if (maxFailedIndexes !== undefined && maxFailedIndexes > MAX_FAILED_INDEXES) {
    errs.invalid(
      `${field}.maxFailedIndexes`,
      maxFailedIndexes,
      `must be less than or equal to ${MAX_FAILED_INDEXES}`,
    );
  }
  if (
    completions !== undefined && completions > COMPLETIONS_SOFT_LIMIT &&
    spec.backoffLimitPerIndex !== undefined
  ) {
    const why = `when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff ` +
      "limit per index";
    if (maxFailedIndexes === undefined) {
      errs.required(
        `${field}.maxFailedIndexes`,
        `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`,
      );
    }
    if (parallelism !== undefined && parallelism > HIGH_COMPLETIONS_LIMIT) {
      errs.invalid(
        `${field}.parallelism`,
        parallelism,
        `must be less than or equal to ${HIGH_COMPLETIONS_LIMIT} ${why}`,
      );
    }
    if (maxFailedIndexes !== undefined && maxFailedIndexes > HIGH_COMPLETIONS_LIMIT) {
      errs.invalid(
        `${field}.maxFailedIndexes`,
        maxFailedIndexes,
        `must be less than or equal to ${HIGH_COMPLETIONS_LIMIT} ${why}`,
      );
    }
  }
}

/** The rules of a JobSpec (a Job's, or a CronJob's template's) under `field`. */
export function validateJobSpec(spec: Obj, field: string, errs: FieldErrors): void {
  nonNegative(spec.parallelism, `${field}.parallelism`, errs);
  nonNegative(spec.completions, `${field}.completions`, errs);
  nonNegative(spec.backoffLimit, `${field}.backoffLimit`, errs);
  nonNegative(spec.ttlSecondsAfterFinished, `${field}.ttlSecondsAfterFinished`, errs);
  // 0 is allowed, as kube-apiserver allows it (such a Job fails at once with DeadlineExceeded).
  nonNegative(spec.activeDeadlineSeconds, `${field}.activeDeadlineSeconds`, errs);
  nonNegative(spec.backoffLimitPerIndex, `${field}.backoffLimitPerIndex`, errs);
  if (spec.maxFailedIndexes !== undefined) {
    nonNegative(spec.maxFailedIndexes, `${field}.maxFailedIndexes`, errs);
    if (spec.backoffLimitPerIndex === undefined) {
      errs.required(`${field}.backoffLimitPerIndex`, "when maxFailedIndexes is specified");
    }
  }
  const indexed = spec.completionMode === "Indexed";
  if (indexed) validateIndexedJobSpec(spec, field, errs);
  else {
    for (const f of ["backoffLimitPerIndex", "maxFailedIndexes"]) {
      if (spec[f] !== undefined) {
        errs.invalid(`${field}.${f}`, spec[f], "requires indexed completion mode");
      }
    }
  }
  if (
    spec.podFailurePolicy && spec.podReplacementPolicy && spec.podReplacementPolicy !== "Failed"
  ) {
    errs.notSupported(`${field}.podReplacementPolicy`, spec.podReplacementPolicy, ["Failed"]);
  }
  validatePodFailurePolicy(spec, field, errs);
  if (spec.successPolicy !== undefined) {
    if (!indexed) {
      errs.invalid(
        `${field}.successPolicy`,
        spec.successPolicy,
        "requires indexed completion mode",
      );
    } else validateSuccessPolicy(spec, field, errs);
  }
  const template = spec.template ?? {};
  const tf = `${field}.template`;
  validateLabels(template.metadata?.labels, `${tf}.metadata.labels`, errs);
  if (spec.selector) {
    validateLabels(spec.selector.matchLabels, `${field}.selector.matchLabels`, errs);
    const ok = selects(spec.selector, template.metadata?.labels ?? {});
    if (ok === undefined) {
      errs.invalid(`${field}.selector`, spec.selector, "invalid label selector");
    } else if (!ok) {
      errs.invalid(
        `${tf}.metadata.labels`,
        template.metadata?.labels ?? {},
        "`selector` does not match template `labels`",
      );
    }
  } else if (spec.manualSelector === true) {
    errs.required(`${field}.selector`);
  }
  validatePodSpec(template.spec ?? {}, `${tf}.spec`, errs);
  // As kube-apiserver: Always (what a pod spec defaults to) or none is "Required", any other value
  // "Unsupported".
  const restartPolicy = template.spec?.restartPolicy;
  if (restartPolicy === "Always" || !restartPolicy) {
    errs.required(`${tf}.spec.restartPolicy`, 'valid values: "OnFailure", "Never"');
  } else if (restartPolicy !== "OnFailure" && restartPolicy !== "Never") {
    errs.notSupported(`${tf}.spec.restartPolicy`, restartPolicy, ["OnFailure", "Never"]);
  }
}

/** A Job's rules (its selector may still be absent: it is generated once the uid exists). */
export function validateJob(job: Obj, errs: FieldErrors): void {
  validateJobSpec(job.spec, "spec", errs);
}

/** A CronJob's rules: schedule, time zone, limits, name length and its Job template. */
export function validateCronJob(cj: Obj, errs: FieldErrors): void {
  const spec = cj.spec;
  const name: string | undefined = cj.metadata?.name;
  if (name && name.length > MAX_CRONJOB_NAME) {
    errs.invalid("metadata.name", name, `must be no more than ${MAX_CRONJOB_NAME} characters`);
  }
  if (spec.timeZone !== undefined && !isValidTimeZone(spec.timeZone)) {
    errs.invalid("spec.timeZone", spec.timeZone, `unknown time zone ${spec.timeZone}`);
  }
  if (!spec.schedule) errs.required("spec.schedule");
  else {
    try {
      parseSchedule(spec.schedule);
    } catch (e) {
      errs.invalid("spec.schedule", spec.schedule, (e as Error).message);
    }
  }
  nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds", errs);
  nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit", errs);
  nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit", errs);
  validateLabels(
    spec.jobTemplate?.metadata?.labels,
    "spec.jobTemplate.metadata.labels",
    errs,
  );
  validateJobSpec(spec.jobTemplate?.spec ?? {}, "spec.jobTemplate.spec", errs);
}

/** Scheduling directives a suspended Job that never started may still change (Kubernetes 1.27+). */
const MUTABLE_WHILE_SUSPENDED = ["nodeSelector", "affinity", "tolerations", "schedulingGates"];

/** Immutable fields of a Job on update. */
export function validateJobUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  const spec = next.spec;
  const was = old.spec ?? {};
  if (was.selector && !jsonEqual(spec.selector, was.selector)) {
    errs.invalid("spec.selector", spec.selector, "field is immutable");
  }
  if (!jsonEqual(spec.template, was.template)) {
    const neverStarted = was.suspend === true && !old.status?.startTime;
    let allowed = false;
    if (neverStarted) {
      const a = structuredClone(spec.template ?? {});
      const b = structuredClone(was.template ?? {});
      for (const t of [a, b]) {
        t.metadata = { ...t.metadata, labels: undefined, annotations: undefined };
        for (const k of MUTABLE_WHILE_SUSPENDED) if (t.spec) delete t.spec[k];
      }
      allowed = jsonEqual(a, b);
    }
    if (!allowed) errs.invalid("spec.template", spec.template, "field is immutable");
  }
  if (spec.completions !== was.completions) {
    // Elastic Indexed Jobs: completions may change together with parallelism (kept equal); an
    // Indexed Job's completions set to nothing is validateJobSpec's error already.
    if (spec.completionMode !== "Indexed") {
      errs.invalid("spec.completions", spec.completions, "field is immutable");
    } else if (spec.completions !== undefined && spec.completions !== spec.parallelism) {
      errs.invalid(
        "spec.completions",
        spec.completions,
        "can only be modified in tandem with spec.parallelism",
      );
    }
  }
  // kube-apiserver's list (manualSelector is not on it: the selector itself is immutable).
  const immutable = [
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "successPolicy",
    "managedBy",
  ];
  for (const f of immutable) {
    if (!jsonEqual(spec[f], was[f])) errs.invalid(`spec.${f}`, spec[f], "field is immutable");
  }
}
