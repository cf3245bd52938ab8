/**
 * A pod's QoS class, as the kubelet computes it (`GetPodQOS`): from the cpu and memory requests
 * and limits of all its containers. The server writes it into `status.qosClass` on create; the
 * agent falls back to it for a pod that has none.
 */

/** The containers' resources, as much as the QoS class needs. */
interface QosSpec {
  containers?: {
    resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  }[];
  initContainers?: QosSpec["containers"];
}

/** A pod's QoS class. */
export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

/**
 * `BestEffort` when no container sets a cpu or memory request or limit; `Guaranteed` when every
 * container limits both and requests what it limits; else `Burstable`.
 */
export function qosClass(spec: QosSpec): QosClass {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let anySet = false;
  let guaranteed = true;
  for (const c of all) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const r of ["cpu", "memory"]) {
      if (requests[r] !== undefined || limits[r] !== undefined) anySet = true;
      // Quantities arrive as strings or numbers (`1` and `"1"` are the same request).
      if (
        limits[r] === undefined ||
        (requests[r] !== undefined && String(requests[r]) !== String(limits[r]))
      ) {
        guaranteed = false;
      }
    }
  }
  if (!anySet) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
