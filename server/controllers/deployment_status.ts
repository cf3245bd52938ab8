/**
 * The pure status arithmetic of the Deployment controller (kube-controller-manager's
 * `calculateStatus` and `syncRolloutStatus` condition rules): the replica counts summed over the
 * Deployment's ReplicaSets, whether the rollout is complete, and the Available and Progressing
 * conditions including the progress deadline. No I/O: the reconciler writes what this computes.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from "../../shared/api/apps_v1.ts";
import type { Condition } from "../../shared/api/meta.ts";
import { rfc3339 } from "../../shared/time.ts";

/** A Progressing reason and message set by this reconcile (a new ReplicaSet was created). */
export interface Progress {
  reason: string;
  message: string;
}

/**
 * calculateStatus: counts over all ReplicaSets (the new one first); complete when the new
 * ReplicaSet has observed its spec and every replica is updated and available.
 */
export function calculateStatus(
  d: Deployment,
  newRs: ReplicaSet | undefined,
  olds: ReplicaSet[],
): { status: DeploymentStatus; complete: boolean } {
  const all = newRs ? [newRs, ...olds] : olds;
  const sum = (f: (rs: ReplicaSet) => number) => all.reduce((s, rs) => s + f(rs), 0);
  const replicas = d.spec.replicas;
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRs?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
  };
  const unavailable = Math.max(0, sum((rs) => rs.spec.replicas) - status.availableReplicas!);
  if (unavailable > 0) status.unavailableReplicas = unavailable;
  if (d.status?.collisionCount) status.collisionCount = d.status.collisionCount;
  const newOk = !newRs ||
    (newRs.status?.observedGeneration ?? 0) >= (newRs.metadata.generation ?? 0);
  const complete = !!newRs && newOk && status.updatedReplicas === replicas &&
    status.replicas === replicas && status.availableReplicas === replicas;
  return { status, complete };
}

/** What {@linkcode syncConditions} needs besides the Deployment and its new status. */
export interface ConditionInputs {
  newRs?: ReplicaSet;
  complete: boolean;
  maxUnavailable: number;
  progress?: Progress;
  /** Milliseconds since the epoch. */
  now: number;
}

/**
 * The Available and Progressing conditions for `status`, and the ms after which the progress
 * deadline must be checked again (when the rollout is still within it).
 */
export function syncConditions(
  d: Deployment,
  status: DeploymentStatus,
  o: ConditionInputs,
): { conditions: Condition[]; requeueMs?: number } {
  const conditions: Condition[] = [...(d.status?.conditions ?? [])];
  const t = rfc3339(o.now);
  const minAvailable = d.spec.replicas - o.maxUnavailable;
  setCondition(
    conditions,
    status.availableReplicas! >= minAvailable
      ? available("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
      : available(
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
      ),
    t,
  );
  const { condition, requeueMs } = progressingCondition(d, status, o);
  if (condition) setCondition(conditions, condition, t, condition.reason === "ReplicaSetUpdated");
  return { conditions, requeueMs };
}

function available(status: "True" | "False", reason: string, message: string): Condition {
  return { type: "Available", status, reason, message };
}

/** The Progressing condition to set now, if it changes, and the deadline re-check. */
export function progressingCondition(
  d: Deployment,
  status: DeploymentStatus,
  o: ConditionInputs,
): { condition?: Condition; requeueMs?: number } {
  const progressing = d.status?.conditions?.find((c) => c.type === "Progressing");
  const rsName = o.newRs?.metadata.name ?? "";
  const p = (s: Condition["status"], reason: string, message: string) => ({
    condition: { type: "Progressing", status: s, reason, message },
  });
  if (d.spec.paused) return p("Unknown", "DeploymentPaused", "Deployment is paused");
  if (progressing?.reason === "DeploymentPaused") {
    return p("Unknown", "DeploymentResumed", "Deployment is resumed");
  }
  if (o.complete) {
    return p(
      "True",
      "NewReplicaSetAvailable",
      `ReplicaSet "${rsName}" has successfully progressed.`,
    );
  }
  if (o.progress) return p("True", o.progress.reason, o.progress.message);
  if (!o.newRs) return {};
  if (!progressing || progressing.reason === "NewReplicaSetAvailable") {
    return p("True", "FoundNewReplicaSet", `Found new replica set "${rsName}"`);
  }
  const old = d.status ?? {};
  const fields = ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"] as const;
  if (
    fields.some((f) => old[f] !== status[f]) || old.observedGeneration !== status.observedGeneration
  ) {
    // Progress resets the deadline clock.
    return p("True", "ReplicaSetUpdated", `ReplicaSet "${rsName}" is progressing.`);
  }
  if (progressing.reason === "ProgressDeadlineExceeded" || !progressing.lastUpdateTime) return {};
  const left = Date.parse(progressing.lastUpdateTime) + d.spec.progressDeadlineSeconds * 1000 -
    o.now;
  if (left > 0) return { requeueMs: left + 50 };
  return p(
    "False",
    "ProgressDeadlineExceeded",
    `ReplicaSet "${rsName}" has timed out progressing.`,
  );
}

/**
 * Sets `c` in `conditions` at time `t`: unchanged conditions keep their times; the transition
 * time moves only when the status changes. `touch` refreshes lastUpdateTime even when nothing
 * else changed (progress made).
 */
export function setCondition(
  conditions: Condition[],
  c: Condition,
  t: string,
  touch = false,
): void {
  const i = conditions.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conditions[i] : undefined;
  const same = prev && prev.status === c.status && prev.reason === c.reason &&
    prev.message === c.message;
  if (same && !touch) return;
  const next: Condition = {
    ...c,
    lastUpdateTime: t,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : t,
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
}
