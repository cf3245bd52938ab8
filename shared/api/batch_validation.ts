/**
 * Validation of batch/v1 Jobs and CronJobs (kube-apiserver's ValidateJob / ValidateCronJob and
 * their update rules). Fields Skiff's job controller does not implement — backoffLimitPerIndex,
 * maxFailedIndexes, successPolicy and the FailIndex action — are refused here with a 422 naming
 * the field, so nothing accepted is silently ignored.
 */
import { ApiError } from "../errors.ts";
import { selectorFromLabelSelector } from "../labels.ts";
import { isValidTimeZone, parseSchedule } from "../cron/schedule.ts";
import type { FieldErrors } from "./field_errors.ts";
import { validateLabels, validatePodSpec } from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Most completions or parallelism an Indexed Job may ask for, as Kubernetes. */
const MAX_INDEXED_COMPLETIONS = 100_000;
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
  if (rules.length > 20) errs.tooLong(`${field}.podFailurePolicy.rules`, 20);
  rules.forEach((rule, i) => {
    const f = `${field}.podFailurePolicy.rules[${i}]`;
    if (rule.action === "FailIndex") {
      // FailIndex needs backoffLimitPerIndex, which Skiff does not implement.
      errs.notSupported(`${f}.action`, rule.action, ["FailJob", "Ignore", "Count"]);
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
      if (values.length > 255) errs.tooLong(`${cf}.values`, 255);
      values.forEach((v, j) => {
        if (codes.operator === "In" && v === 0) {
          errs.invalid(`${cf}.values[${j}]`, v, "must not be 0 for the In operator");
        }
        if (j > 0 && values[j - 1] >= v) {
          errs.invalid(
            `${cf}.values[${j}]`,
            v,
            values[j - 1] === v ? "duplicate value" : "must be ordered",
          );
        }
      });
    }
    (rule.onPodConditions as Obj[] | undefined)?.forEach((p, j) => {
      if (!p.type) errs.required(`${f}.onPodConditions[${j}].type`);
    });
  });
}

/** The rules of a JobSpec (a Job's, or a CronJob's template's) under `field`. */
export function validateJobSpec(spec: Obj, field: string, errs: FieldErrors): void {
  nonNegative(spec.parallelism, `${field}.parallelism`, errs);
  nonNegative(spec.completions, `${field}.completions`, errs);
  nonNegative(spec.backoffLimit, `${field}.backoffLimit`, errs);
  nonNegative(spec.ttlSecondsAfterFinished, `${field}.ttlSecondsAfterFinished`, errs);
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0) {
    errs.invalid(
      `${field}.activeDeadlineSeconds`,
      spec.activeDeadlineSeconds,
      "must be greater than 0",
    );
  }
  for (const unsupported of ["backoffLimitPerIndex", "maxFailedIndexes", "successPolicy"]) {
    if (spec[unsupported] !== undefined) {
      errs.forbidden(`${field}.${unsupported}`, "not supported by Skiff's job controller");
    }
  }
  if (spec.completionMode === "Indexed") {
    if (spec.completions === undefined) {
      errs.required(`${field}.completions`, "when completion mode is Indexed");
    } else if (spec.completions > MAX_INDEXED_COMPLETIONS) {
      errs.invalid(
        `${field}.completions`,
        spec.completions,
        `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`,
      );
    }
    if ((spec.parallelism ?? 0) > MAX_INDEXED_COMPLETIONS) {
      errs.invalid(
        `${field}.parallelism`,
        spec.parallelism,
        `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`,
      );
    }
  }
  if (
    spec.podFailurePolicy && spec.podReplacementPolicy && spec.podReplacementPolicy !== "Failed"
  ) {
    errs.notSupported(`${field}.podReplacementPolicy`, spec.podReplacementPolicy, ["Failed"]);
  }
  validatePodFailurePolicy(spec, field, errs);
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
  const restartPolicy = template.spec?.restartPolicy;
  if (restartPolicy !== "OnFailure" && restartPolicy !== "Never") {
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
    // Elastic Indexed Jobs: completions may change together with parallelism (kept equal).
    const elastic = spec.completionMode === "Indexed" && spec.completions === spec.parallelism;
    if (!elastic) errs.invalid("spec.completions", spec.completions, "field is immutable");
  }
  for (const f of ["completionMode", "podFailurePolicy", "manualSelector", "managedBy"]) {
    if (!jsonEqual(spec[f], was[f])) errs.invalid(`spec.${f}`, spec[f], "field is immutable");
  }
}
