/**
 * The pure arithmetic of Deployments: `pod-template-hash`, maxSurge/maxUnavailable resolution
 * (ints and percentages; surge rounds up, unavailable rounds down; both zero means one
 * unavailable), and how far a rolling update may scale the new ReplicaSet up and the old ones
 * down in one step.
 */

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with object keys sorted and undefined fields left out: equal values, equal text. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const keys = Object.keys(v as Record<string, unknown>).filter((k) =>
    (v as Record<string, unknown>)[k] !== undefined
  ).sort();
  return `{${
    keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(
      ",",
    )
  }}`;
}

/**
 * The `pod-template-hash` of a pod template: FNV-1a (32 bit) over its canonical JSON (without any
 * `pod-template-hash` label) and the collision count, written in Kubernetes' vowel-free
 * alphabet. Stable across processes, so the same template always names the same ReplicaSet.
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = strip(template) + (collisionCount ? `#${collisionCount}` : "");
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = "";
  let n = h;
  do {
    out = SAFE_ALPHABET[n % SAFE_ALPHABET.length] + out;
    n = Math.floor(n / SAFE_ALPHABET.length);
  } while (n > 0);
  return out;
}

/** Whether two pod templates are equal apart from the `pod-template-hash` label. */
export function templatesEqual(a: unknown, b: unknown): boolean {
  return podTemplateHash(a) === podTemplateHash(b) && strip(a) === strip(b);
}

function strip(t: unknown): string {
  const c = structuredClone(t ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (c.metadata?.labels) delete c.metadata.labels["pod-template-hash"];
  return canonical(pruneEmpty(c));
}

/**
 * Drops null, `{}` and `[]` values, which Kubernetes' Go types cannot tell from absent ones:
 * `kubectl rollout undo` sends a ReplicaSet's template back with `resources: {}` and
 * `creationTimestamp: null`, and must land on that ReplicaSet again, not on a new one.
 */
function pruneEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneEmpty);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = pruneEmpty(x);
    if (p === null || p === undefined) continue;
    if (Array.isArray(p) && p.length === 0) continue;
    if (typeof p === "object" && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

/**
 * Resolves an int-or-percent against `total`: `"25%"` of 10 is 2.5, rounded up or down as
 * asked; plain ints pass through. Throws on a malformed value.
 */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean) {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * maxSurge and maxUnavailable as pod counts for `replicas` (defaults 25%/25%). If both come
 * out zero, unavailable becomes 1 so the rollout can progress — Kubernetes' rule.
 */
export function resolveFenceposts(
  strategy: { maxSurge?: number | string; maxUnavailable?: number | string } | undefined,
  replicas: number,
): { maxSurge: number; maxUnavailable: number } {
  const maxSurge = scaledValue(strategy?.maxSurge ?? "25%", replicas, true);
  let maxUnavailable = scaledValue(strategy?.maxUnavailable ?? "25%", replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/** A ReplicaSet as the rollout math sees it. */
export interface RsCounts {
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
}

/**
 * The new ReplicaSet's target size in this step: grow toward `replicas` while the total of all
 * ReplicaSets' sizes stays ≤ replicas + maxSurge.
 */
export function newReplicaSetReplicas(
  replicas: number,
  maxSurge: number,
  newRs: RsCounts,
  all: readonly RsCounts[],
): number {
  const total = all.reduce((s, r) => s + r.replicas, 0);
  const room = replicas + maxSurge - total;
  if (room <= 0) return Math.min(newRs.replicas, Math.max(replicas, 0));
  return Math.min(newRs.replicas + room, replicas);
}

/**
 * How many old-ReplicaSet pods may go now while at least `replicas - maxUnavailable` stay
 * available, counting the new ReplicaSet's not-yet-available pods as unavailable. Returns new
 * sizes for the old ReplicaSets (same order as given; pass them oldest first), taking
 * unavailable old pods first, then available ones.
 */
export function scaleDownOldReplicaSets(
  replicas: number,
  maxUnavailable: number,
  newRs: RsCounts,
  old: readonly RsCounts[],
): number[] {
  const sizes = old.map((r) => r.replicas);
  const all = [newRs, ...old];
  const allPods = all.reduce((s, r) => s + r.replicas, 0);
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = Math.max(0, newRs.replicas - newRs.available);
  let budget = allPods - minAvailable - newUnavailable;
  if (budget <= 0) return sizes;
  // First the old pods that are not available anyway: removing them costs no availability.
  for (let i = 0; i < old.length && budget > 0; i++) {
    const unhealthy = Math.max(0, old[i].replicas - old[i].available);
    const cut = Math.min(unhealthy, budget);
    sizes[i] -= cut;
    budget -= cut;
  }
  // Then available ones, as far as availability allows.
  const available = newRs.available +
    old.reduce((s, r, i) => s + Math.min(r.available, sizes[i]), 0);
  let canRemove = Math.min(budget, available - minAvailable);
  for (let i = 0; i < old.length && canRemove > 0; i++) {
    const cut = Math.min(sizes[i], canRemove);
    sizes[i] -= cut;
    canRemove -= cut;
  }
  return sizes;
}
