/**
 * How many replicas a resource metric asks for: kube-controller-manager's replica calculator
 * (podautoscaler/replica_calculator.go) for `Resource` and `ContainerResource` metrics, both
 * `Utilization` (percent of the pods' requests) and `AverageValue` targets. Pure: pods, their
 * metrics and the target in, a replica count out, so every branch is unit-tested.
 *
 * Pods are grouped as upstream: deleted, failed and pending pods are ignored; pods without a
 * metric are "missing"; for CPU, pods not yet ready (or whose sample predates their readiness) are
 * "unready". The ratio of use to target comes from the ready pods with metrics. When nothing is
 * missing or unready, a ratio within the tolerance keeps the current count, else the count is
 * ceil(ratio × ready pods). Otherwise the ratio is recomputed assuming missing pods use 100% of
 * their request on a scale-down (0% on a scale-up) and unready pods 0% on a scale-up; a scale
 * whose direction flips, or that lands within the tolerance, keeps the current count.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { quantityMillis } from "../../shared/api/quantity.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Kubernetes' default tolerance (`--horizontal-pod-autoscaler-tolerance`). */
export const DEFAULT_TOLERANCE = 0.1;
/** CPU samples of a pod younger than this need its readiness to count (upstream's 5 min). */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** A pod that became ready within this of starting counts as ready from the start (30 s). */
export const INITIAL_READINESS_DELAY_MS = 30_000;

/** One pod's sample: the metric in milli-units (millicores, or milli-bytes), and when/over what. */
export interface PodMetric {
  valueMillis: number;
  timestampMs: number;
  windowMs: number;
}

/** What the calculator is asked. */
export interface ResourceReplicaQuery {
  /** The scale target's current replica count (its `spec.replicas`). */
  currentReplicas: number;
  /** The pods the target's selector selects. */
  pods: KubeObject[];
  /** Samples by pod name (only pods the metrics API reported). */
  metrics: Map<string, PodMetric>;
  /** `cpu` or `memory`. */
  resource: string;
  /** For ContainerResource metrics: the one container counted. */
  container?: string;
  /** A Utilization target in percent, or an AverageValue target in milli-units. */
  target: { utilization: number } | { averageValueMillis: number };
  tolerance?: number;
  now: number;
}

/** The answer: the proposal and what the status reports. */
export interface ResourceReplicaResult {
  replicas: number;
  /** Percent of requests (Utilization targets only). */
  utilization?: number;
  /** Average use per pod in milli-units. */
  rawAverageMillis: number;
  timestampMs: number;
}

interface Groups {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

function readyCondition(pod: Obj): Obj | undefined {
  return (pod.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
}

/** upstream's groupPods. */
export function groupPods(
  pods: KubeObject[],
  metrics: Map<string, PodMetric>,
  resource: string,
  now: number,
): Groups {
  const g: Groups = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods as Obj[]) {
    const name = pod.metadata.name;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Failed" || phase === "Pending") {
      g.ignored.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === "cpu" && cpuUnready(pod, metric, now)) {
      g.unready.add(name);
      continue;
    }
    g.ready++;
  }
  return g;
}

function cpuUnready(pod: Obj, metric: PodMetric, now: number): boolean {
  const ready = readyCondition(pod);
  const started = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  if (!ready || Number.isNaN(started)) return true;
  const transition = Date.parse(ready.lastTransitionTime ?? "") || 0;
  if (started + CPU_INITIALIZATION_PERIOD_MS > now) {
    // Still initialising: its sample counts only if it was taken wholly after it became ready.
    return ready.status === "False" || metric.timestampMs < transition + metric.windowMs;
  }
  return ready.status === "False" && started + INITIAL_READINESS_DELAY_MS > transition;
}

/** Each pod's request for the resource in milli-units; throws when a counted container has none. */
export function podRequests(
  pods: KubeObject[],
  resource: string,
  container?: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods as Obj[]) {
    let total = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const request = c.resources?.requests?.[resource];
      if (request === undefined) {
        throw new Error(
          `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`,
        );
      }
      total += quantityMillis(request);
    }
    out.set(pod.metadata.name, total);
  }
  return out;
}

/** upstream's GetResourceUtilizationRatio: (ratio, utilization %, raw average). */
export function utilizationRatio(
  metrics: Map<string, PodMetric>,
  requests: Map<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawAverageMillis: number } {
  let used = 0;
  let requested = 0;
  let n = 0;
  for (const [name, m] of metrics) {
    const request = requests.get(name);
    if (request === undefined) continue;
    used += m.valueMillis;
    requested += request;
    n++;
  }
  if (requested === 0) throw new Error("no metrics returned matched known pods");
  const utilization = Math.trunc((used * 100) / requested);
  return {
    ratio: utilization / targetUtilization,
    utilization,
    rawAverageMillis: Math.trunc(used / n),
  };
}

function averageRatio(
  metrics: Map<string, PodMetric>,
  targetMillis: number,
): { ratio: number; utilization?: number; rawAverageMillis: number } {
  let used = 0;
  for (const m of metrics.values()) used += m.valueMillis;
  const average = used / metrics.size;
  return { ratio: average / targetMillis, rawAverageMillis: Math.trunc(average) };
}

/** The replica count one resource metric asks for; throws with upstream's messages. */
export function resourceReplicas(q: ResourceReplicaQuery): ResourceReplicaResult {
  const tolerance = q.tolerance ?? DEFAULT_TOLERANCE;
  if (q.pods.length === 0) {
    throw new Error("no pods returned by selector while calculating replica count");
  }
  const metrics = new Map(q.metrics);
  const g = groupPods(q.pods, metrics, q.resource, q.now);
  for (const name of [...g.ignored, ...g.unready]) metrics.delete(name);
  if (metrics.size === 0) {
    throw new Error("did not receive metrics for targeted pods (pods might be unready)");
  }
  const timestampMs = Math.min(...[...metrics.values()].map((m) => m.timestampMs));
  const requests = "utilization" in q.target
    ? podRequests(q.pods, q.resource, q.container)
    : new Map();
  const ratioOf = (
    m: Map<string, PodMetric>,
  ): { ratio: number; utilization?: number; rawAverageMillis: number } =>
    "utilization" in q.target
      ? utilizationRatio(m, requests, q.target.utilization)
      : averageRatio(m, q.target.averageValueMillis);
  const first = ratioOf(metrics);
  const result = (replicas: number): ResourceReplicaResult => ({
    replicas,
    ...(first.utilization !== undefined ? { utilization: first.utilization } : {}),
    rawAverageMillis: first.rawAverageMillis,
    timestampMs,
  });
  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return result(q.currentReplicas);
    return result(Math.ceil(first.ratio * g.ready));
  }
  if (g.missing.size > 0) {
    for (const name of g.missing) {
      let assumed = 0;
      if (first.ratio < 1) {
        // On a scale-down a missing pod is taken to use all of its request (or the target).
        assumed = "utilization" in q.target
          ? (requests.get(name) ?? 0) * Math.max(100, q.target.utilization) / 100
          : q.target.averageValueMillis;
      }
      metrics.set(name, { valueMillis: assumed, timestampMs, windowMs: 0 });
    }
  }
  if (scaleUpWithUnready) {
    for (const name of g.unready) metrics.set(name, { valueMillis: 0, timestampMs, windowMs: 0 });
  }
  const second = ratioOf(metrics);
  if (
    Math.abs(1 - second.ratio) <= tolerance ||
    (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)
  ) {
    return result(q.currentReplicas);
  }
  const proposed = Math.ceil(second.ratio * metrics.size);
  if (
    (second.ratio < 1 && proposed > q.currentReplicas) ||
    (second.ratio > 1 && proposed < q.currentReplicas)
  ) {
    return result(q.currentReplicas);
  }
  return result(proposed);
}
