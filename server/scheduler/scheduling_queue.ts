/**
 * The order of the scheduler's active queue, kube-scheduler's PrioritySort queue-sort plugin:
 * higher `spec.priority` first, then the pod created first (then by key, so the order is total).
 * The queue itself is the shared WorkQueue with this `order`.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { podPriority } from "../../shared/api/scheduling_v1.ts";

/** A WorkQueue `order` over pod keys, reading the pods through `podOf`. */
export function prioritySort(
  podOf: (key: string) => KubeObject | undefined,
): (a: string, b: string) => number {
  return (a, b) => {
    const pa = podOf(a);
    const pb = podOf(b);
    const d = (pb ? podPriority(pb) : 0) - (pa ? podPriority(pa) : 0);
    if (d !== 0) return d;
    const ta = pa?.metadata.creationTimestamp ?? "";
    const tb = pb?.metadata.creationTimestamp ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };
}
