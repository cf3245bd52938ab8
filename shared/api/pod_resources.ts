/**
 * A pod's total of one resource over its containers, as Kubernetes' PodRequests/PodLimits add it
 * up: app containers and sidecars (init containers with `restartPolicy: Always`, which keep running
 * beside them) are summed; a regular init container runs alone with the sidecars started before
 * it, so the pod needs at least that much while it runs. The scheduler sums requests with it, the
 * agent limits (a memory-backed emptyDir's size, local-storage eviction).
 */

/** The part of a container this needs. */
interface ContainerLike {
  restartPolicy?: string;
}

/** True for a sidecar: an init container that restarts always and runs beside the app. */
export function isSidecar(c: ContainerLike): boolean {
  return c.restartPolicy === "Always";
}

/**
 * The pod's total of `amount` (0 for a container without it): the sum over app containers and
 * sidecars, or more while a regular init container runs beside the sidecars before it.
 */
export function podTotal<C extends ContainerLike>(
  spec: { containers?: C[]; initContainers?: C[] },
  amount: (c: C) => number,
): number {
  let sum = 0;
  for (const c of spec.containers ?? []) sum += amount(c);
  let sidecars = 0;
  let initPeak = 0;
  for (const c of spec.initContainers ?? []) {
    const own = amount(c);
    if (isSidecar(c)) {
      sum += own;
      sidecars += own;
      initPeak = Math.max(initPeak, sidecars);
    } else {
      initPeak = Math.max(initPeak, own + sidecars);
    }
  }
  return Math.max(sum, initPeak);
}
