/**
 * Leader election on a coordination.k8s.io Lease, as client-go's `leaderelection` package does it
 * for kube-controller-manager and kube-scheduler: candidates try to acquire or renew the Lease
 * every `retryPeriod`; a Lease held by someone else is taken only once its record (holder,
 * duration, acquire and renew times, transitions) has not changed for `leaseDuration` as measured
 * by this candidate's own clock from when it observed the last change (never by comparing the
 * holder's `renewTime` with local time, so clock skew between servers does not matter); the
 * leader stops acting once it has gone `renewDeadline` without a successful renew.
 *
 * Unlike client-go, which observes the Lease only on its tries, a standing-by candidate also
 * watches it ({@linkcode LeaseClient.watchLease}): a change is observed when it is written rather
 * than at the next try, up to a retry period later, and each observed change reschedules the next
 * try to the moment the record expires (plus {@linkcode EXPIRY_MARGIN_MS}) rather than a retry
 * tick. A takeover then comes a lease duration after the holder's last renewal, not up to a
 * retry period more; the rule about when the Lease may be taken is unchanged.
 *
 * Fencing: `renewDeadline` < `leaseDuration`, so a leader that cannot renew gives up (its term's
 * signal aborts) before anyone else may take the Lease, and {@linkcode LeaderElector.isLeader}
 * is computed from the clock at the moment it is asked, so a process frozen (SIGSTOP) past its
 * deadline is not leader the instant it resumes — before any of its timers have had a chance to
 * notice. {@linkcode fencedFetch} uses that to refuse a stale leader's writes.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { rfc3339Micro } from "../../shared/time.ts";
import { jsonEqual } from "../../shared/api/validation.ts";

/** Time as the elector sees it; injected so unit tests can run on a fake clock. */
export interface Clock {
  /** Milliseconds, monotonic enough for durations. */
  now(): number;
  /** Resolves after `ms`, or early (false) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<boolean>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const done = (ok: boolean) => {
        clearTimeout(t);
        signal.removeEventListener("abort", onAbort);
        resolve(ok);
      };
      const onAbort = () => done(false);
      const t = setTimeout(() => done(true), ms);
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};

/** The subset of the API client the elector needs (Leases only). */
export interface LeaseClient {
  getLease(namespace: string, name: string): Promise<KubeObject>;
  createLease(obj: KubeObject): Promise<KubeObject>;
  updateLease(obj: KubeObject): Promise<KubeObject>;
  /**
   * Optional: calls `onChange` with the Lease when it is first listed and on every change (a
   * list+watch of that one Lease), until `signal` aborts; resolves once stopped. Without it the
   * elector observes the Lease only on its tries, every retry period, as client-go does.
   */
  watchLease?(
    namespace: string,
    name: string,
    options: { onChange(lease: KubeObject): void; signal: AbortSignal },
  ): Promise<void>;
}

/**
 * A candidate tries to take a Lease this long after its observed record expired: enough that a
 * timer firing a hair early does not make a try that finds the Lease still valid.
 */
export const EXPIRY_MARGIN_MS = 20;

/** Timing of an election (client-go's defaults: 15 s, 10 s, 2 s). */
export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** kube-controller-manager's and kube-scheduler's defaults. */
export const DEFAULT_ELECTION_TIMING: ElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Options of {@linkcode LeaderElector}. */
export interface LeaderElectorOptions extends Partial<ElectionTiming> {
  client: LeaseClient;
  /** The Lease's name, e.g. `skiff-controllers`. */
  name: string;
  /** The Lease's namespace (default `kube-system`). */
  namespace?: string;
  /** `holderIdentity`: this server's name. */
  identity: string;
  clock?: Clock;
  logger?: Logger;
}

/** What the elector runs while it leads. */
export interface LeaderCallbacks {
  /** Starts the leader's work; `signal` aborts when the term ends. Resolve when work has stopped. */
  onStartedLeading(signal: AbortSignal): Promise<void> | void;
  /** Called after a term ended (the work's promise has settled). */
  onStoppedLeading?(): void;
  /** Called whenever the observed holder changes (including to this identity). */
  onNewLeader?(identity: string): void;
}

/** Checks timings as client-go's `NewLeaderElector` does. */
export function validateTiming(t: ElectionTiming): void {
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new RangeError("leaseDuration must be greater than renewDeadline");
  }
  if (t.renewDeadlineMs <= 1.2 * t.retryPeriodMs) {
    throw new RangeError("renewDeadline must be greater than retryPeriod*1.2");
  }
  if (t.retryPeriodMs < 1) throw new RangeError("retryPeriod must be positive");
}

/** One candidate in one election; see the module comment. */
export class LeaderElector {
  readonly name: string;
  readonly namespace: string;
  readonly identity: string;
  readonly timing: ElectionTiming;
  readonly #client: LeaseClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** The Lease as last read, watched or written, and when (local clock) its record last changed. */
  #observed?: KubeObject;
  #observedAt = 0;
  /** Local time of this candidate's last successful acquire/renew while leading; 0 = not leading. */
  #renewedAt = 0;
  #leading = false;
  #holder = "";
  /** Wakes a standing-by candidate's wait between tries, when a watched change matters. */
  #wake?: () => void;

  constructor(options: LeaderElectorOptions) {
    this.timing = {
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_ELECTION_TIMING.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_ELECTION_TIMING.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_ELECTION_TIMING.retryPeriodMs,
    };
    validateTiming(this.timing);
    this.name = options.name;
    this.namespace = options.namespace ?? "kube-system";
    this.identity = options.identity;
    this.#client = options.client;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child(`leader-election.${options.name}`);
  }

  /**
   * True while this candidate leads and its last renew is younger than the renew deadline, read
   * from the clock now (so it turns false the moment the deadline passes, even if the process
   * was frozen and no timer has run since).
   */
  isLeader(): boolean {
    return this.#leading && this.#clock.now() - this.#renewedAt < this.timing.renewDeadlineMs;
  }

  /** The holder last observed (may be this identity), or "" before the first read. */
  get holder(): string {
    return this.#holder;
  }

  /**
   * Campaigns until `signal` aborts: acquire, lead (running `onStartedLeading` under a signal
   * that aborts at the renew deadline or on shutdown), then stand by again and campaign anew.
   * On shutdown a leader releases the Lease (client-go's `ReleaseOnCancel`), so a successor
   * need not wait a lease duration.
   */
  async run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    const watching = this.#client.watchLease?.(this.namespace, this.name, {
      onChange: (lease) => this.#watched(lease),
      signal,
    });
    try {
      await this.#campaign(callbacks, signal);
    } finally {
      this.#wake = undefined;
      await watching?.catch((e) => this.#logger.warn("lease watch failed", { error: e }));
    }
  }

  async #campaign(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!await this.#acquire(callbacks, signal)) break;
      this.#logger.info("became leader", { lease: `${this.namespace}/${this.name}` });
      const term = new AbortController();
      const onShutdown = () => term.abort();
      signal.addEventListener("abort", onShutdown, { once: true });
      const work = Promise.resolve().then(() => callbacks.onStartedLeading(term.signal));
      await this.#renewLoop(term);
      this.#leading = false;
      signal.removeEventListener("abort", onShutdown);
      await work.catch((e) => this.#logger.error("leader work failed", { error: e }));
      callbacks.onStoppedLeading?.();
      if (signal.aborted) {
        await this.#release();
        break;
      }
      this.#logger.warn("lost leadership", { lease: `${this.namespace}/${this.name}` });
    }
  }

  /**
   * Tries until this candidate holds the Lease (true) or shutdown (false): every retry period,
   * and in between at the moment the observed record expires — moved by every change the watch
   * reports — so a takeover happens a lease duration after the last change was seen, not up to
   * a retry period later.
   */
  async #acquire(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      const before = this.#holder;
      const ok = await this.#tryAcquireOrRenew();
      if (this.#holder !== before && this.#holder) callbacks.onNewLeader?.(this.#holder);
      if (ok) return true;
      const triedAt = this.#clock.now();
      const nextRetryAt = triedAt + this.#jittered();
      for (;;) {
        // An expiry not after the failed try has had its try (it lost a race, or the API
        // failed): the retry period paces the next, so a failing API is not hammered.
        const expiry = this.#expiry();
        const due = expiry > triedAt
          ? Math.min(nextRetryAt, expiry + EXPIRY_MARGIN_MS)
          : nextRetryAt;
        const woken = new AbortController();
        const onShutdown = () => woken.abort();
        signal.addEventListener("abort", onShutdown, { once: true });
        this.#wake = () => woken.abort();
        const slept = await this.#clock.sleep(Math.max(0, due - this.#clock.now()), woken.signal);
        this.#wake = undefined;
        signal.removeEventListener("abort", onShutdown);
        if (signal.aborted) return false;
        if (slept) break;
        // Woken by a watched change: wait on for the new expiry (or the same retry tick).
      }
    }
  }

  /**
   * Local time from which the observed record lets this candidate take the Lease: a lease
   * duration after the record last changed while someone else holds it; at once once it is
   * released or ours; never (Infinity) before anything was observed.
   */
  #expiry(): number {
    if (!this.#observed) return Infinity;
    const spec = (this.#observed.spec ?? {}) as Record<string, unknown>;
    const holder = spec.holderIdentity;
    if (typeof holder !== "string" || holder === "" || holder === this.identity) {
      return this.#observedAt;
    }
    return this.#observedAt + this.#durationOf(spec);
  }

  /** The record's lease duration (ours when it has none). */
  #durationOf(spec: Record<string, unknown>): number {
    return Number(spec.leaseDurationSeconds ?? 0) * 1000 || this.timing.leaseDurationMs;
  }

  /** Renews every retryPeriod; aborts `term` when renewDeadline passes without success. */
  async #renewLoop(term: AbortController): Promise<void> {
    while (!term.signal.aborted) {
      if (!await this.#clock.sleep(this.timing.retryPeriodMs, term.signal)) return;
      // A frozen process wakes here past its deadline: give up without touching the Lease.
      if (!this.isLeader()) break;
      // Retry within the deadline, as client-go's renew loop does (PollImmediateUntil).
      let renewed = false;
      while (!renewed && this.isLeader() && !term.signal.aborted) {
        renewed = await this.#tryAcquireOrRenew();
        if (!renewed && !await this.#clock.sleep(this.timing.retryPeriodMs / 4, term.signal)) {
          return;
        }
      }
      if (!renewed) break;
    }
    term.abort();
  }

  /** One attempt, as client-go's `tryAcquireOrRenew`; true when this candidate now holds it. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#clock.now();
    const nowTime = rfc3339Micro(now);
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timing.leaseDurationMs / 1000),
      acquireTime: nowTime,
      renewTime: nowTime,
      leaseTransitions: 0,
    };
    let current: KubeObject;
    try {
      current = await this.#client.getLease(this.namespace, this.name);
    } catch (e) {
      if (!isNotFound(e)) return this.#failed("cannot read the lease", e);
      try {
        const created = await this.#client.createLease({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.name, namespace: this.namespace },
          spec,
        });
        this.#observe(created, now);
        return this.#won(now);
      } catch (e) {
        if (!isAlreadyExists(e)) return this.#failed("cannot create the lease", e);
        return false;
      }
    }
    const old = (current.spec ?? {}) as Record<string, unknown>;
    this.#observe(current, now);
    const held = typeof old.holderIdentity === "string" && old.holderIdentity !== "";
    const mine = old.holderIdentity === this.identity;
    if (held && !mine && this.#observedAt + this.#durationOf(old) > now) return false;
    // Ours to renew, or expired/released: take it. Keep acquireTime while we already held it.
    const next = { ...spec };
    if (mine && this.#leading) {
      next.acquireTime = String(old.acquireTime ?? nowTime);
      next.leaseTransitions = Number(old.leaseTransitions ?? 0);
    } else {
      next.leaseTransitions = Number(old.leaseTransitions ?? 0) + (mine ? 0 : 1);
    }
    try {
      const updated = await this.#client.updateLease({ ...current, spec: next });
      this.#observe(updated, now);
      return this.#won(now);
    } catch (e) {
      if (isConflict(e)) return false;
      return this.#failed("cannot update the lease", e);
    }
  }

  /**
   * Keeps `lease` as the latest state seen; its observation time moves only when the record
   * (the spec) changed, as client-go compares the raw record. Returns whether it changed.
   */
  #observe(lease: KubeObject, at: number): boolean {
    const changed = !this.#observed || !jsonEqual(this.#observed.spec, lease.spec);
    this.#observed = lease;
    if (!changed) return false;
    this.#observedAt = at;
    this.#holder = String(
      (lease.spec as Record<string, unknown> | undefined)?.holderIdentity ?? "",
    );
    return true;
  }

  /**
   * A Lease reported by the watch. A standing-by candidate records it (and the time) and
   * reschedules its next try. A leader ignores it: its own renew's response is newer than any
   * event in flight, and its Lease state must stay the one it wrote (for the release).
   */
  #watched(lease: KubeObject): void {
    if (this.#leading) return;
    if (this.#observe(lease, this.#clock.now())) this.#wake?.();
  }

  #won(at: number): boolean {
    this.#leading = true;
    this.#renewedAt = at;
    return true;
  }

  #failed(message: string, e: unknown): boolean {
    this.#logger.debug(message, { error: (e as Error).message });
    return false;
  }

  /** Empties holderIdentity (only if still ours), so a successor acquires at once. */
  async #release(): Promise<void> {
    const lease = this.#observed;
    if (!lease || this.#holder !== this.identity) return;
    try {
      await this.#client.updateLease({
        ...lease,
        spec: {
          ...(lease.spec as Record<string, unknown>),
          holderIdentity: "",
          leaseDurationSeconds: 1,
        },
      });
    } catch (e) {
      this.#logger.debug("cannot release the lease", { error: (e as Error).message });
    }
  }

  /** retryPeriod with client-go's JitterFactor 1.2 for candidates. */
  #jittered(): number {
    return this.timing.retryPeriodMs * (1 + Math.random() * 0.2);
  }
}

/**
 * Wraps `fetch` so that writes (anything but GET/HEAD) are refused with a 503 Status unless
 * `isLeader()` holds at the moment they are sent: the scheduler's and the controllers' client,
 * so a leader that lost its Lease cannot bind or write, whatever its timers are doing.
 */
export function fencedFetch(
  inner: typeof fetch,
  isLeader: () => boolean,
  onWrite?: (allowed: boolean) => void,
): typeof fetch {
  return (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET"))
      .toUpperCase();
    if (method === "GET" || method === "HEAD") return inner(input, init);
    const allowed = isLeader();
    onWrite?.(allowed);
    if (!allowed) {
      return Promise.resolve(
        new Response(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            message: "this server no longer holds the leader lease",
            reason: "ServiceUnavailable",
            code: 503,
          }),
          { status: 503, headers: { "content-type": "application/json" } },
        ),
      );
    }
    return inner(input, init);
  };
}
