/**
 * Filter `NodeResourcesFit`: the requests of the node's non-terminated pods plus this pod's must
 * stay within the node's allocatable cpu, memory, ephemeral-storage and pod count. Every exhausted resource is a
 * separate reason, as in Kubernetes (`Insufficient cpu`, `Insufficient memory`, `Too many pods`).
 */
import type { FilterPlugin } from "./framework.ts";

const TOO_MANY_PODS = "Too many pods";
const CPU = "Insufficient cpu";
const MEMORY = "Insufficient memory";
const EPHEMERAL_STORAGE = "Insufficient ephemeral-storage";

/** Rejects nodes without room for the pod's requests. */
export const nodeResourcesFit: FilterPlugin = {
  name: "NodeResourcesFit",
  events: ["Node", "AssignedPodDelete"],
  filter(pod, node) {
    const a = node.allocatable;
    const r = node.requested;
    const p = pod.requests;
    let reasons: string[] | null = null;
    if (r.pods + 1 > a.pods) (reasons ??= []).push(TOO_MANY_PODS);
    if (p.milliCpu > 0 && r.milliCpu + p.milliCpu > a.milliCpu) (reasons ??= []).push(CPU);
    if (p.memory > 0 && r.memory + p.memory > a.memory) (reasons ??= []).push(MEMORY);
    if (p.ephemeralStorage > 0 && r.ephemeralStorage + p.ephemeralStorage > a.ephemeralStorage) {
      (reasons ??= []).push(EPHEMERAL_STORAGE);
    }
    return reasons;
  },
};
