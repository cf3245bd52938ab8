/**
 * The last 15 minutes of each node's CPU and memory usage, as the metrics API computed it, so
 * the dashboard can draw a sparkline the moment it opens. Samples are recorded whenever node
 * metrics are computed (kubectl top, the dashboard) and by a slow background sampler; they are
 * served on each NodeMetrics item as the `skiff.io/usage-history` annotation (JSON
 * `[[unixMillis, cpuNanoCores, memoryBytes], …]`), so reading them needs exactly the permission
 * that reading node metrics needs.
 */

/** The annotation carrying a node's history on its NodeMetrics item. */
export const USAGE_HISTORY_ANNOTATION = "skiff.io/usage-history";

/** One sample: time (ms), CPU (nanocores), memory working set (bytes). */
export type UsageSample = [number, number, number];

/** Per-node rings of samples no older than the window, at most one per `minGapMs`. */
export class UsageHistory {
  readonly #byNode = new Map<string, UsageSample[]>();
  readonly #windowMs: number;
  readonly #minGapMs: number;

  constructor(options: { windowMs?: number; minGapMs?: number } = {}) {
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#minGapMs = options.minGapMs ?? 10_000;
  }

  /** Records a sample unless the node's newest one is less than `minGapMs` older. */
  record(node: string, sample: UsageSample): void {
    const ring = this.#byNode.get(node) ?? [];
    const last = ring.at(-1);
    if (last && sample[0] - last[0] < this.#minGapMs) return;
    ring.push(sample);
    while (ring.length && ring[0][0] < sample[0] - this.#windowMs) ring.shift();
    this.#byNode.set(node, ring);
  }

  /** The node's samples, oldest first. */
  get(node: string): readonly UsageSample[] {
    return this.#byNode.get(node) ?? [];
  }

  /** Forgets nodes that no longer exist. */
  retain(nodes: Set<string>): void {
    for (const name of this.#byNode.keys()) if (!nodes.has(name)) this.#byNode.delete(name);
  }
}
