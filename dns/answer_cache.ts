/**
 * A small cache of upstream answers that honours their TTLs: an entry lives as long as the
 * smallest TTL in it (negative answers as long as their SOA's minimum, RFC 2308), capped at
 * `maxTtlSeconds`, and is served with its TTLs counted down. Bounded in entries (oldest out).
 */

// deno-lint-ignore no-explicit-any
type Packet = any;

interface Entry {
  packet: Packet;
  storedAt: number;
  expiresAt: number;
}

/** Options of {@linkcode AnswerCache}. */
export interface AnswerCacheOptions {
  maxEntries?: number;
  maxTtlSeconds?: number;
  now?: () => number;
}

function sections(p: Packet): Packet[] {
  return [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])]
    .filter((r: Packet) => r.type !== "OPT");
}

/** How long a decoded upstream response may be cached, in seconds (0: not at all). */
export function cacheableSeconds(p: Packet): number {
  if (p.flag_tc) return 0;
  if (p.rcode !== "NOERROR" && p.rcode !== "NXDOMAIN") return 0;
  if (p.rcode === "NXDOMAIN" || (p.answers ?? []).length === 0) {
    // Negative answers: only with an SOA to say for how long (RFC 2308 §5).
    const soa = (p.authorities ?? []).find((r: Packet) => r.type === "SOA");
    if (!soa) return 0;
    return Math.min(soa.ttl ?? 0, soa.data?.minimum ?? 0);
  }
  return Math.min(...sections(p).map((r: Packet) => r.ttl ?? 0));
}

/** Decoded upstream responses keyed by question. */
export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #maxTtl: number;
  readonly #now: () => number;

  constructor(options: AnswerCacheOptions = {}) {
    this.#max = options.maxEntries ?? 1000;
    this.#maxTtl = options.maxTtlSeconds ?? 300;
    this.#now = options.now ?? Date.now;
  }

  /** The key of a question: name case-folded, type and class. */
  static key(q: { name: string; type: string; class?: string }): string {
    return `${q.name.toLowerCase().replace(/\.$/, "")}|${q.type}|${q.class ?? "IN"}`;
  }

  /** Stores a decoded response if its TTLs allow. */
  put(key: string, packet: Packet): void {
    const seconds = Math.min(cacheableSeconds(packet), this.#maxTtl);
    if (seconds <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    const now = this.#now();
    this.#entries.set(key, { packet, storedAt: now, expiresAt: now + seconds * 1000 });
  }

  /**
   * The cached response for `key` with every TTL reduced by the time it has spent here, or
   * undefined when absent or expired.
   */
  get(key: string): Packet | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const now = this.#now();
    if (now >= e.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    const age = Math.floor((now - e.storedAt) / 1000);
    const age1 = (r: Packet) =>
      r.type === "OPT" ? r : { ...r, ttl: Math.max(0, (r.ttl ?? 0) - age) };
    return {
      ...e.packet,
      answers: (e.packet.answers ?? []).map(age1),
      authorities: (e.packet.authorities ?? []).map(age1),
      additionals: (e.packet.additionals ?? []).map(age1),
    };
  }

  get size(): number {
    return this.#entries.size;
  }
}
