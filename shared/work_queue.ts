/**
 * A de-duplicating work queue of string keys with delayed and rate-limited re-adds, shaped like
 * client-go's workqueue. Informer handlers `add("namespace/name")`; workers `get()` a key,
 * reconcile it and call `done()`. A key is never handed to two workers at once: re-adding a key
 * that is being processed marks it dirty, and it is queued again when `done()` is called.
 */

/** Options for {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** First retry delay of `addRateLimited` (default 5 ms); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Largest retry delay of `addRateLimited` (default 30 000 ms). */
  maxDelayMs?: number;
  /**
   * Hands out keys in this order (negative: `a` first) instead of first-in first-out — the
   * scheduler's queue, highest priority first. It must not change for keys already queued.
   */
  order?: (a: string, b: string) => number;
}

/**
 * What a queue reports to its metrics (client-go's workqueue metrics): each add, how long each
 * key waited before a worker took it, and each rate-limited retry. Set by `runController`.
 */
export interface WorkQueueMetrics {
  added(): void;
  waited(seconds: number): void;
  retried(): void;
}

interface Waiter {
  wake: () => void;
}

interface Pending {
  at: number;
  timer: ReturnType<typeof setTimeout>;
}

/** De-duplicating FIFO of keys with per-key exponential retry. */
export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  // FIFO as an array with a moving head, so `get()` is O(1) even with 10 000 queued keys; with
  // an `order`, a binary heap in the same array (head fixed at 0), O(log n) either way.
  #items: string[] = [];
  #head = 0;
  readonly #order?: (a: string, b: string) => number;
  /** Keys that need processing (queued, or re-added while processing). */
  readonly #dirty = new Set<string>();
  /** Keys handed out by `get()` and not yet `done()`. */
  readonly #processing = new Set<string>();
  readonly #waiters: Waiter[] = [];
  readonly #pending = new Map<string, Pending>();
  readonly #failures = new Map<string, number>();
  #shuttingDown = false;
  /** When each queued key was added (only kept while metrics are attached). */
  readonly #addedAt = new Map<string, number>();
  /** Where adds, waits and retries are reported (none by default). */
  metrics?: WorkQueueMetrics;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#order = options.order;
  }

  /** Number of keys waiting to be handed out (not counting delayed or in-process keys). */
  get len(): number {
    return this.#items.length - this.#head;
  }

  /** True after `shutDown()`. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `key` unless it is already queued; a key being processed is re-queued on `done()`. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.metrics) {
      this.metrics.added();
      this.#addedAt.set(key, performance.now());
    }
    if (this.#processing.has(key)) return;
    this.#push(key);
    this.#wakeOne();
  }

  /**
   * Queues `key` after `ms` milliseconds. If the key is already waiting for an earlier time, the
   * earlier time wins (a key waits for at most one timer).
   */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.#pending.get(key);
    if (existing) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      this.add(key);
    }, ms);
    this.#pending.set(key, { at, timer });
  }

  /**
   * Queues `key` after its per-key back-off: `baseDelayMs * 2^failures`, capped at `maxDelayMs`.
   * Each call counts one more failure until `forget(key)`.
   */
  addRateLimited(key: string): void {
    this.metrics?.retried();
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, this.backoffFor(failures));
  }

  /** The delay `addRateLimited` uses after `failures` consecutive failures. */
  backoffFor(failures: number): number {
    // Cap the exponent so 2 ** n stays finite for keys that fail for days.
    return Math.min(this.#baseDelayMs * 2 ** Math.min(failures, 50), this.#maxDelayMs);
  }

  /** How many times `key` was rate-limited since its last `forget()`. */
  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the failure count of `key` (call after a successful reconcile). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /**
   * The next key to process, waiting for one if the queue is empty. Resolves `undefined` once the
   * queue is shut down or `signal` aborts. The caller must call `done(key)` when finished.
   */
  async get(signal?: AbortSignal): Promise<string | undefined> {
    while (true) {
      if (this.#shuttingDown) return undefined;
      if (signal?.aborted) {
        // A wake-up this waiter consumed must not be lost for the others.
        if (this.len > 0) this.#wakeOne();
        return undefined;
      }
      if (this.len > 0) return this.#take();
      await this.#wait(signal);
    }
  }

  /** Marks `key` finished; if it was re-added meanwhile it is queued again now. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#push(key);
      this.#wakeOne();
    }
  }

  /** Stops the queue: pending `get()`s resolve `undefined`, delayed adds are cancelled. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    for (const w of this.#waiters.splice(0)) w.wake();
  }

  #push(key: string): void {
    const items = this.#items;
    items.push(key);
    const order = this.#order;
    if (!order) return;
    // Sift up.
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (order(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  #shift(): string {
    const order = this.#order;
    if (!order) {
      const key = this.#items[this.#head]!;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return key;
    }
    const items = this.#items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      // Sift down.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && order(items[l], items[m]) < 0) m = l;
        if (r < items.length && order(items[r], items[m]) < 0) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }

  #take(): string {
    const key = this.#shift();
    this.#dirty.delete(key);
    this.#processing.add(key);
    const at = this.#addedAt.get(key);
    if (at !== undefined) {
      this.#addedAt.delete(key);
      this.metrics?.waited((performance.now() - at) / 1000);
    }
    return key;
  }

  #wakeOne(): void {
    this.#waiters.shift()?.wake();
  }

  #wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }
}
