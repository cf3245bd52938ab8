/**
 * Score `NodeResourcesLeastAllocated`: prefers nodes with the most free cpu and memory after
 * placing the pod — the mean of `(allocatable - requested) / allocatable` over both, scaled to
 * 0–100.
 */
import type { ScorePlugin } from "./framework.ts";

function free(capacity: number, requested: number): number {
  if (capacity <= 0) return 0;
  const left = capacity - requested;
  return left <= 0 ? 0 : (left * 100) / capacity;
}

/** Spreads load by preferring emptier nodes. */
export const leastAllocated: ScorePlugin = {
  name: "NodeResourcesLeastAllocated",
  weight: 1,
  score(pod, node) {
    const a = node.allocatable;
    const r = node.requested;
    return (free(a.milliCpu, r.milliCpu + pod.requests.milliCpu) +
      free(a.memory, r.memory + pod.requests.memory)) / 2;
  },
};
