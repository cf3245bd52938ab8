/**
 * `sessionAffinity: ClientIP`: remembers which backend each client address was sent to, so later
 * connections (or UDP sessions) from the same address go to the same backend while it stays in
 * the list and the client was seen within the timeout (`sessionAffinityConfig.clientIP
 * .timeoutSeconds`, Kubernetes' default 10800 s). Expiry is checked lazily; no timers.
 */

import { type Backend, backendKey } from "./round_robin.ts";

/** Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

interface Pin {
  backend: Backend;
  lastSeen: number;
}

/** Options for {@linkcode SessionAffinity}. */
export interface SessionAffinityOptions {
  /** How long a pin lasts after the client was last seen. Default 10800 s. */
  timeoutSeconds?: number;
  /** Most pins kept; the least recently seen go first. Default 65536. */
  maxEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Client address → pinned backend table. */
export class SessionAffinity {
  readonly timeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #pins = new Map<string, Pin>();

  constructor(options: SessionAffinityOptions = {}) {
    this.timeoutMs = (options.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) * 1000;
    this.#maxEntries = options.maxEntries ?? 65536;
    this.#now = options.now ?? Date.now;
  }

  /** Number of pins held (expired ones included until touched). */
  get size(): number {
    return this.#pins.size;
  }

  /**
   * The backend `clientIp` is pinned to, if the pin is fresh and that backend is still in
   * `backends`; a stale or dangling pin is dropped.
   */
  lookup(clientIp: string, backends: readonly Backend[]): Backend | undefined {
    const pin = this.#pins.get(clientIp);
    if (!pin) return undefined;
    const now = this.#now();
    const key = backendKey(pin.backend);
    if (now - pin.lastSeen > this.timeoutMs || !backends.some((b) => backendKey(b) === key)) {
      this.#pins.delete(clientIp);
      return undefined;
    }
    this.#touch(clientIp, pin.backend, now);
    return pin.backend;
  }

  /** Pins `clientIp` to `backend` (after a successful connect). */
  record(clientIp: string, backend: Backend): void {
    this.#touch(clientIp, backend, this.#now());
    if (this.#pins.size > this.#maxEntries) {
      // Map iteration is insertion order and #touch re-inserts, so the first is least recent.
      const oldest = this.#pins.keys().next().value;
      if (oldest !== undefined) this.#pins.delete(oldest);
    }
  }

  /** Forgets `clientIp` (its backend failed). */
  forget(clientIp: string): void {
    this.#pins.delete(clientIp);
  }

  #touch(clientIp: string, backend: Backend, now: number): void {
    this.#pins.delete(clientIp);
    this.#pins.set(clientIp, { backend, lastSeen: now });
  }
}
