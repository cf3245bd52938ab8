/**
 * Filter `TaintToleration`: every NoSchedule and NoExecute taint of the node must be tolerated
 * by the pod. Also the toleration-matching rules the node lifecycle controller reuses for
 * NoExecute evictions.
 */
import type { FilterPlugin, Taint, Toleration } from "./framework.ts";

/**
 * Whether `toleration` tolerates `taint`, by Kubernetes' rules: effects must match unless the
 * toleration's is empty; an empty key with `Exists` tolerates every taint; `Exists` ignores the
 * value, `Equal` (the default) compares it.
 */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const op = toleration.operator || "Equal";
  if (!toleration.key) return op === "Exists";
  if (toleration.key !== taint.key) return false;
  if (op === "Exists") return true;
  return (toleration.value ?? "") === (taint.value ?? "");
}

/** The first taint with one of `effects` that no toleration tolerates, if any. */
export function findUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  effects: readonly string[],
): Taint | undefined {
  for (const taint of taints) {
    if (!effects.includes(taint.effect)) continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

const FILTERED_EFFECTS = ["NoSchedule", "NoExecute"] as const;

/** Rejects nodes with an untolerated NoSchedule/NoExecute taint. */
export const taintToleration: FilterPlugin = {
  name: "TaintToleration",
  events: ["Node"],
  filter(pod, node) {
    if (node.taints.length === 0) return null;
    const taint = findUntoleratedTaint(node.taints, pod.tolerations, FILTERED_EFFECTS);
    if (!taint) return null;
    return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`];
  },
};
