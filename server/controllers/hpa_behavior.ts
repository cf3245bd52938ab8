/**
 * From a metric's proposal to the replica count an autoscaler sets: kube-controller-manager's
 * normalization (podautoscaler/horizontal.go). Two shapes, as upstream:
 * - no `behavior`: the highest proposal of the last 5 minutes wins on a scale-down
 *   (downscale stabilization), and a scale-up is at most max(2 × current, 4);
 * - with `behavior`: each direction's stabilization window (the lowest recent proposal on the way
 *   up, the highest on the way down) and its policies, which limit how many pods (or percent)
 *   may be added or removed per period given the scale events already made in it
 *   (`selectPolicy` Max picks the policy allowing the largest change, Min the smallest,
 *   Disabled none).
 * Then min/maxReplicas. Each step returns the condition upstream sets (`AbleToScale` reason for
 * the stabilization, `ScalingLimited` for the limit). The history of proposals and scale events
 * lives in a {@linkcode ScaleHistory} per autoscaler, in memory, as upstream keeps it.
 */

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Upstream's `--horizontal-pod-autoscaler-downscale-stabilization` default. */
export const DOWNSCALE_STABILIZATION_MS = 5 * 60_000;

/** A proposal, or a scale event, with when it happened. */
interface Timed {
  value: number;
  at: number;
}

/** One autoscaler's recent proposals and scale events. */
export class ScaleHistory {
  recommendations: Timed[] = [];
  scaleUpEvents: Timed[] = [];
  scaleDownEvents: Timed[] = [];

  /** Records a completed rescale (only autoscalers with `behavior` keep events, as upstream). */
  recordScale(from: number, to: number, now: number, behavior: Obj | undefined): void {
    if (!behavior) return;
    const events = to > from ? this.scaleUpEvents : this.scaleDownEvents;
    const rules = to > from ? behavior.scaleUp : behavior.scaleDown;
    const longest = Math.max(0, ...(rules?.policies ?? []).map((p: Obj) => p.periodSeconds));
    const kept = events.filter((e) => e.at > now - longest * 1000);
    kept.push({ value: Math.abs(to - from), at: now });
    if (to > from) this.scaleUpEvents = kept;
    else this.scaleDownEvents = kept;
  }
}

/** What a normalization decided. */
export interface Normalized {
  replicas: number;
  /** `AbleToScale` reason and message for the stabilization step. */
  stabilization: { reason: string; message: string };
  /** `ScalingLimited` status, reason and message for the limit step. */
  limited: { status: "True" | "False"; reason: string; message: string };
}

/** The arguments of a normalization. */
export interface NormalizeArgs {
  current: number;
  proposed: number;
  minReplicas: number;
  maxReplicas: number;
  behavior?: Obj;
  history: ScaleHistory;
  now: number;
}

const READY = { reason: "ReadyForNewScale", message: "recommended size matches current size" };
const WITHIN = {
  status: "False" as const,
  reason: "DesiredWithinRange",
  message: "the desired count is within the acceptable range",
};

/** Normalizes `proposed` for an autoscaler with or without `behavior`. */
export function normalizeReplicas(a: NormalizeArgs): Normalized {
  return a.behavior ? withBehavior(a, a.behavior) : withoutBehavior(a);
}

function withoutBehavior(a: NormalizeArgs): Normalized {
  const h = a.history;
  const cutoff = a.now - DOWNSCALE_STABILIZATION_MS;
  let stabilized = a.proposed;
  let oldest = -1;
  h.recommendations.forEach((r, i) => {
    if (r.at > cutoff) stabilized = Math.max(stabilized, r.value);
    else oldest = i;
  });
  record(h, oldest, a.proposed, a.now);
  const stabilization = stabilized !== a.proposed
    ? {
      reason: "ScaleDownStabilized",
      message:
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    }
    : READY;
  const scaleUpLimit = Math.max(2 * a.current, 4);
  let replicas = stabilized;
  let limited: Normalized["limited"] = WITHIN;
  if (stabilized < a.minReplicas) {
    replicas = a.minReplicas;
    limited = {
      status: "True",
      reason: "TooFewReplicas",
      message: "the desired replica count is less than the minimum replica count",
    };
  } else if (stabilized > Math.min(a.maxReplicas, scaleUpLimit)) {
    replicas = Math.min(a.maxReplicas, scaleUpLimit);
    limited = a.maxReplicas > scaleUpLimit
      ? {
        status: "True",
        reason: "ScaleUpLimit",
        message: "the desired replica count is increasing faster than the maximum scale rate",
      }
      : {
        status: "True",
        reason: "TooManyReplicas",
        message: "the desired replica count is more than the maximum replica count",
      };
  }
  return { replicas, stabilization, limited };
}

/** Replaces the oldest out-of-window proposal, or appends (upstream keeps the list short so). */
function record(h: ScaleHistory, oldest: number, value: number, now: number): void {
  if (oldest >= 0) h.recommendations[oldest] = { value, at: now };
  else h.recommendations.push({ value, at: now });
}

function withBehavior(a: NormalizeArgs, behavior: Obj): Normalized {
  const h = a.history;
  const upWindow = (behavior.scaleUp?.stabilizationWindowSeconds ?? 0) * 1000;
  const downWindow = behavior.scaleDown?.stabilizationWindowSeconds !== undefined
    ? behavior.scaleDown.stabilizationWindowSeconds * 1000
    : DOWNSCALE_STABILIZATION_MS;
  let up = a.proposed;
  let down = a.proposed;
  let oldest = -1;
  h.recommendations.forEach((r, i) => {
    if (r.at > a.now - upWindow) up = Math.min(up, r.value);
    if (r.at > a.now - downWindow) down = Math.max(down, r.value);
    if (r.at < a.now - upWindow && r.at < a.now - downWindow) oldest = i;
  });
  let stabilized = Math.max(a.current, up);
  stabilized = Math.min(stabilized, down);
  record(h, oldest, a.proposed, a.now);
  const stabilization = stabilized === a.proposed ? READY : a.proposed >= a.current
    ? {
      reason: "ScaleUpStabilized",
      message:
        "recent recommendations were lower than current one, applying the lowest recent recommendation",
    }
    : {
      reason: "ScaleDownStabilized",
      message:
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    };
  const { replicas, limited } = limitByRate({ ...a, proposed: stabilized }, behavior);
  return { replicas, stabilization, limited };
}

/** Sum of the changes of the events within the last `periodSeconds`. */
function changeInPeriod(events: Timed[], periodSeconds: number, now: number): number {
  return events.filter((e) => e.at > now - periodSeconds * 1000)
    .reduce((sum, e) => sum + e.value, 0);
}

/** upstream's calculateScaleUpLimitWithScalingRules. */
export function scaleUpLimit(current: number, events: Timed[], rules: Obj, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** upstream's calculateScaleDownLimitWithBehaviors (Max allows the largest decrease). */
export function scaleDownLimit(current: number, events: Timed[], rules: Obj, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current + changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

function limitByRate(
  a: NormalizeArgs,
  behavior: Obj,
): { replicas: number; limited: Normalized["limited"] } {
  if (a.proposed > a.current) {
    const limit = Math.max(
      a.current,
      scaleUpLimit(a.current, a.history.scaleUpEvents, behavior.scaleUp ?? {}, a.now),
    );
    const byRate = a.maxReplicas > limit;
    const allowed = byRate ? limit : a.maxReplicas;
    if (a.proposed > allowed) {
      return {
        replicas: allowed,
        limited: byRate
          ? {
            status: "True",
            reason: "ScaleUpLimit",
            message: "the desired replica count is increasing faster than the maximum scale rate",
          }
          : {
            status: "True",
            reason: "TooManyReplicas",
            message: "the desired replica count is more than the maximum replica count",
          },
      };
    }
  } else if (a.proposed < a.current) {
    const limit = Math.min(
      a.current,
      scaleDownLimit(a.current, a.history.scaleDownEvents, behavior.scaleDown ?? {}, a.now),
    );
    const byRate = a.minReplicas < limit;
    const allowed = byRate ? limit : a.minReplicas;
    if (a.proposed < allowed) {
      return {
        replicas: allowed,
        limited: byRate
          ? {
            status: "True",
            reason: "ScaleDownLimit",
            message: "the desired replica count is decreasing faster than the maximum scale rate",
          }
          : {
            status: "True",
            reason: "TooFewReplicas",
            message: "the desired replica count is less than the minimum replica count",
          },
      };
    }
  }
  return { replicas: a.proposed, limited: WITHIN };
}
