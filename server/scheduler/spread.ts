/**
 * Score `SelectorSpread`: prefers nodes running fewer pods of the same controlling owner
 * (ReplicaSet, ReplicationController, ...), so replicas land on different nodes. Score is
 * `100 * (max - count) / max` over the feasible nodes; a pod without an owner scores all nodes
 * alike. It stands in for kube-scheduler's system-default topology spreading (which counts the
 * pods selected by the pod's Services and controllers per node and per zone), and so, like those
 * defaults, stands back for a pod with `topologySpreadConstraints` of its own.
 */
import { type NodeInfo, type PodInfo, type ScorePlugin, SKIP } from "./framework.ts";

/** Spreads replicas of one owner across nodes. Not re-entrant: one decision at a time. */
export function createSpread(weight = 2): ScorePlugin {
  let max = 0;
  return {
    name: "SelectorSpread",
    weight,
    prepare(pod: PodInfo, feasible: readonly NodeInfo[]) {
      max = 0;
      if (!pod.ownerUid || pod.spreadConstraints) return SKIP;
      for (const n of feasible) {
        const c = n.ownerCounts.get(pod.ownerUid) ?? 0;
        if (c > max) max = c;
      }
      // No replica anywhere yet: every node alike.
      return max === 0 ? SKIP : undefined;
    },
    score(pod: PodInfo, node: NodeInfo) {
      const c = node.ownerCounts.get(pod.ownerUid!) ?? 0;
      return (100 * (max - c)) / max;
    },
  };
}
