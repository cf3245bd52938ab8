/**
 * The pod condition `DisruptionTarget` (KEP-3329): a pod about to be deleted or stopped is told
 * why, by its reason — the Eviction API (`EvictionByEvictionAPI`), the scheduler's preemption
 * (`PreemptionByScheduler`), the kubelet's eviction (`TerminationByKubelet`). One helper sets it
 * for all of them, as upstream's `UpdatePodCondition`: the transition time moves only when the
 * condition's status does, and the same reason and message again change nothing.
 */

export const DISRUPTION_TARGET = "DisruptionTarget";

/** What a pod condition list holds, as far as this helper reads and writes it. */
interface ConditionFields {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
  lastTransitionTime?: unknown;
}

/**
 * `conditions` (not changed) with DisruptionTarget True for `reason` and `message`; `conditions`
 * itself when that is what it already says.
 */
export function withDisruptionTarget<C extends ConditionFields>(
  conditions: readonly C[] | undefined,
  reason: string,
  message: string,
  now: string,
): C[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === DISRUPTION_TARGET);
  const prev = i >= 0 ? list[i] : undefined;
  if (prev?.status === "True" && prev.reason === reason && prev.message === message) return list;
  const next = {
    type: DISRUPTION_TARGET,
    status: "True",
    reason,
    message,
    lastTransitionTime: prev?.status === "True" && typeof prev.lastTransitionTime === "string"
      ? prev.lastTransitionTime
      : now,
  } as unknown as C;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}
