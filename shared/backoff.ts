/**
 * Exponential back-off with jitter and a cap, plus an abortable `delay()`. Used by the informer
 * when a list or watch fails, and by anything else that retries a remote call in a loop.
 */

/** Options for {@linkcode Backoff}. */
export interface BackoffOptions {
  /** First delay in ms (default 200). */
  initialMs?: number;
  /** Largest delay in ms (default 30 000). */
  maxMs?: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Fraction of the delay added at random, 0..1 (default 0.2), so many clients don't retry in step. */
  jitter?: number;
}

/** Exponential back-off: each `next()` returns a longer delay until `reset()`. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 200;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.2;
  }

  /** Number of `next()` calls since the last `reset()`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry, in ms; grows with each call, never above `maxMs`. */
  next(): number {
    const base = Math.min(this.#initialMs * this.#factor ** this.#attempt, this.#maxMs);
    this.#attempt++;
    return Math.min(base * (1 + this.#jitter * Math.random()), this.#maxMs);
  }

  /** Back to the initial delay (call after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Waits `ms` milliseconds, or less if `signal` aborts first. Resolves `true` when the full time
 * passed and `false` when aborted; never rejects and never leaves a timer behind.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
