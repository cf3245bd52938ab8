/**
 * Pure pieces of the job controller: the interval notation of `status.completedIndexes` and
 * `status.failedIndexes` (`"0-2,5"`), a finished pod's outcome and completion index, its index
 * failure counts (backoffLimitPerIndex), podFailurePolicy and successPolicy matching, pod
 * back-off, conditions, and the pod a Job creates from its template (labels, the completion
 * index annotation and `JOB_COMPLETION_INDEX`, the index failure counts, the tracking finalizer,
 * the controller reference).
 */
import {
  JOB_COMPLETION_INDEX,
  JOB_INDEX_FAILURE_COUNT,
  JOB_INDEX_IGNORED_FAILURE_COUNT,
  JOB_TRACKING_FINALIZER,
  type PodFailurePolicyRule,
  type SuccessPolicyRule,
} from "../../shared/api/batch_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { newControllerRef } from "./controller_utils.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Parses `"0-2,5"` into a sorted set of indexes below `completions`. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  if (!text) return out;
  for (const part of text.split(",")) {
    const [a, b] = part.split("-");
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue;
    for (let i = lo; i <= hi && i < completions; i++) out.add(i);
  }
  return out;
}

/**
 * Writes a set of indexes as Kubernetes does: sorted, runs of three or more as `a-b`, a run of
 * two as `a,b` (the job controller's orderedIntervals.String: `"0,1"`, `"0-2,5,7,8"`).
 */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    if (i === j) parts.push(`${sorted[i]}`);
    else parts.push(`${sorted[i]}${j === i + 1 ? "," : "-"}${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** An Indexed Job pod's completion index (annotation, else label), or undefined. */
export function podIndex(pod: KubeObject): number | undefined {
  const text = pod.metadata.annotations?.[JOB_COMPLETION_INDEX] ??
    pod.metadata.labels?.[JOB_COMPLETION_INDEX];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** An int32 annotation as Kubernetes reads it: absent, unparsable or out of range count 0. */
function int32Annotation(pod: KubeObject, key: string): number {
  const text = pod.metadata.annotations?.[key];
  if (text === undefined || !/^[+-]?\d+$/.test(text)) return 0;
  const n = Number(text);
  return n < 0 || n > 2147483647 ? 0 : n;
}

/**
 * The failure counts an Indexed Job pod carries (backoffLimitPerIndex): failures of its index
 * before it (`job-index-failure-count`), and those a podFailurePolicy Ignore rule matched
 * (`job-index-ignored-failure-count`).
 */
export function indexFailureCounts(pod: KubeObject): { failures: number; ignored: number } {
  return {
    failures: int32Annotation(pod, JOB_INDEX_FAILURE_COUNT),
    ignored: int32Annotation(pod, JOB_INDEX_IGNORED_FAILURE_COUNT),
  };
}

/** Whether the pod still carries the job-tracking finalizer. */
export function hasTrackingFinalizer(pod: KubeObject): boolean {
  return (pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

/**
 * A pod that is being deleted and that its node has finished with: the agent deletes with grace
 * 0 once the containers are gone, and only the finalizer keeps the object.
 */
export function isFullyTerminated(pod: KubeObject): boolean {
  return !!pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;
}

/**
 * The outcome of a finished pod, or undefined while it still runs. A pod deleted before it
 * succeeded counts as failed (it never will succeed); with podReplacementPolicy `Failed` only
 * once it has fully terminated.
 */
export function podOutcome(
  pod: KubeObject,
  onlyReplaceFailed: boolean,
): "Succeeded" | "Failed" | undefined {
  const phase = pod.status?.phase;
  if (phase === "Succeeded") return "Succeeded";
  if (phase === "Failed") return "Failed";
  if (!pod.metadata.deletionTimestamp) return undefined;
  if (onlyReplaceFailed && !isFullyTerminated(pod)) return undefined;
  return "Failed";
}

/** Active: not finished and not being deleted. */
export function isActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

/** Being deleted but not finished yet (`status.terminating`). */
export function isTerminating(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !!pod.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed" &&
    !isFullyTerminated(pod);
}

/** The result of matching a failed pod against spec.podFailurePolicy. */
export interface FailurePolicyMatch {
  action: "FailJob" | "FailIndex" | "Ignore" | "Count";
  /** The FailJob condition message, as Kubernetes words it. */
  message?: string;
}

/**
 * The first podFailurePolicy rule matching a failed pod (Kubernetes' matchPodFailurePolicy):
 * onExitCodes against terminated containers (a named container or any), onPodConditions
 * against the pod's conditions. No match: undefined (the failure counts).
 */
export function matchPodFailurePolicy(
  rules: PodFailurePolicyRule[] | undefined,
  pod: KubeObject,
): FailurePolicyMatch | undefined {
  if (!rules) return undefined;
  const statuses: Obj[] = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.onExitCodes) {
      const req = rule.onExitCodes;
      for (const s of statuses) {
        if (req.containerName && s.name !== req.containerName) continue;
        const code = s.state?.terminated?.exitCode;
        if (typeof code !== "number" || code === 0) continue;
        const inValues = req.values.includes(code);
        if ((req.operator === "In") === inValues) {
          return {
            action: rule.action as FailurePolicyMatch["action"],
            message: `Container ${s.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} ` +
              `failed with exit code ${code} matching ${rule.action} rule at index ${i}`,
          };
        }
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const c = (pod.status?.conditions ?? []).find((c: Obj) => c.type === pattern.type);
      if (c && c.status === (pattern.status ?? "True")) {
        return {
          action: rule.action as FailurePolicyMatch["action"],
          message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ` +
            `${pattern.type} matching ${rule.action} rule at index ${i}`,
        };
      }
    }
  }
  return undefined;
}

/** When a finished pod finished (ms): its containers' last finishedAt, else its deletion. */
export function finishTime(pod: KubeObject, fallback: number): number {
  let latest = 0;
  for (const s of (pod.status?.containerStatuses ?? []) as Obj[]) {
    const t = Date.parse(s.state?.terminated?.finishedAt ?? "");
    if (!Number.isNaN(t) && t > latest) latest = t;
  }
  if (latest > 0) return latest;
  const d = Date.parse(pod.metadata.deletionTimestamp ?? "");
  return Number.isNaN(d) ? fallback : d;
}

/**
 * The successPolicy rule the succeeded indexes satisfy, as the condition message Kubernetes
 * writes (`Matched rules at index 0`), or undefined. A rule with `succeededIndexes` is met when
 * all of them succeeded, or `succeededCount` of them; one with only `succeededCount` when that
 * many indexes succeeded. Rules are tried in order; none is met before some index succeeded.
 */
export function matchSuccessPolicy(
  rules: SuccessPolicyRule[] | undefined,
  s: { completions: number; succeeded: Set<number> },
): string | undefined {
  if (!rules || s.succeeded.size === 0) return undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.succeededIndexes !== undefined) {
      const wanted = parseIndexes(rule.succeededIndexes, s.completions);
      // A rule whose indexes are all out of range (completions shrank) never matches.
      if (wanted.size === 0) continue;
      let have = 0;
      for (const index of wanted) if (s.succeeded.has(index)) have++;
      const count = rule.succeededCount;
      if (have === wanted.size || (count !== undefined && have >= count)) {
        return `Matched rules at index ${i}`;
      }
    } else if (rule.succeededCount !== undefined && s.succeeded.size >= rule.succeededCount) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}

/**
 * Kubernetes' pod failure back-off: 10 s doubling per consecutive failure, at most 10 min (the
 * job controller's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff).
 */
export function podBackoffMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 0) return 0;
  return Math.min(10_000 * 2 ** (consecutiveFailures - 1), 600_000);
}

/** Sum of container restarts of active pods (restartPolicy OnFailure retries in place). */
export function restartsOf(pods: KubeObject[]): number {
  let n = 0;
  for (const p of pods) {
    for (
      const s of [
        ...(p.status?.initContainerStatuses ?? []),
        ...(p.status?.containerStatuses ?? []),
      ]
    ) {
      n += (s as Obj).restartCount ?? 0;
    }
  }
  return n;
}

/** A condition of the Job with status True. */
export function hasJobCondition(job: KubeObject, type: string): boolean {
  return (job.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === "True");
}

/** The Job's condition of `type`, if present. */
export function jobCondition(job: KubeObject, type: string): Obj | undefined {
  return (job.status?.conditions ?? []).find((c: Obj) => c.type === type);
}

/** Complete or Failed: the Job is done for good. */
export function isJobFinished(job: KubeObject): boolean {
  return hasJobCondition(job, "Complete") || hasJobCondition(job, "Failed");
}

/** A condition value, timestamps `now`. */
export function newCondition(
  type: string,
  status: "True" | "False",
  reason: string,
  message: string,
  now: string,
): Obj {
  return { type, status, lastProbeTime: now, lastTransitionTime: now, reason, message };
}

/** `conditions` with `c` set (replacing one of its type; transition time kept if unchanged). */
export function setCondition(conditions: Obj[] | undefined, c: Obj): Obj[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) list.push(c);
  else if (list[i].status === c.status && list[i].reason === c.reason) {
    list[i] = { ...list[i], lastProbeTime: c.lastProbeTime, message: c.message };
  } else list[i] = c;
  return list;
}

/** Options of {@linkcode podFromTemplate}. */
export interface PodFromTemplateOptions {
  /**
   * With backoffLimitPerIndex: the index's earlier failures, written as the
   * `job-index-failure-count` annotation (always) and `job-index-ignored-failure-count` (when
   * not 0).
   */
  failureCounts?: { failures: number; ignored: number };
}

/**
 * The pod a Job creates: its template's labels, annotations and spec, the tracking finalizer, a
 * controller reference, and for Indexed Jobs the completion index as annotation and label,
 * `JOB_COMPLETION_INDEX` in every container's environment and `<job>-<index>` as hostname.
 */
export function podFromTemplate(
  job: KubeObject,
  index: number | undefined,
  options: PodFromTemplateOptions = {},
): KubeObject {
  const template = job.spec.template ?? {};
  const name = job.metadata.name!;
  const labels: Record<string, string> = { ...template.metadata?.labels };
  const annotations: Record<string, string> = { ...template.metadata?.annotations };
  const spec: Obj = structuredClone(template.spec ?? {});
  if (index !== undefined) {
    labels[JOB_COMPLETION_INDEX] = String(index);
    annotations[JOB_COMPLETION_INDEX] = String(index);
    const env = {
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } },
    };
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as Obj[]) {
      if (!(c.env ?? []).some((e: Obj) => e.name === env.name)) c.env = [...(c.env ?? []), env];
    }
    spec.hostname ??= `${name}-${index}`;
    const counts = options.failureCounts;
    if (counts) {
      annotations[JOB_INDEX_FAILURE_COUNT] = String(counts.failures);
      if (counts.ignored > 0) annotations[JOB_INDEX_IGNORED_FAILURE_COUNT] = String(counts.ignored);
    }
  }
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      namespace: job.metadata.namespace,
      labels,
      finalizers: [...(template.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER],
      ownerReferences: [newControllerRef(job, { apiVersion: "batch/v1", kind: "Job" })],
    },
    spec,
  };
  if (Object.keys(annotations).length > 0) pod.metadata.annotations = annotations;
  return pod;
}
