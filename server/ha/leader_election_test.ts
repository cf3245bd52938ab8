/**
 * LeaderElector on a fake clock and an in-memory Lease API: one leader at a time, takeover only
 * after the lease duration, stepping down at the renew deadline, fencing after a freeze, release
 * on shutdown.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../../shared/errors.ts";
import {
  type Clock,
  EXPIRY_MARGIN_MS,
  fencedFetch,
  LeaderElector,
  type LeaseClient,
  validateTiming,
} from "./leader_election.ts";

const SUBJECT = { resource: "leases", group: "coordination.k8s.io", name: "l" };

/** A clock whose time moves only in `advance()`, firing due sleeps in order. */
class FakeClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; fire: (ok: boolean) => void }[] = [];
  now = () => this.t;
  sleep = (ms: number, signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(false);
      const timer = { at: this.t + ms, fire: resolve };
      this.#timers.push(timer);
      signal.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        resolve(false);
      }, { once: true });
    });
  /**
   * Moves time forward in small steps, stopping at every timer's due time (so timers fire
   * exactly when due), letting promise chains run between timers.
   */
  async advance(ms: number, step = 100): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      const next = Math.min(...this.#timers.map((x) => x.at).filter((at) => at > this.t));
      this.t = Math.min(end, this.t + step, next);
      await this.settle();
    }
  }
  /** Fires due timers and flushes microtasks until nothing more happens. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const due = this.#timers.filter((x) => x.at <= this.t);
      this.#timers = this.#timers.filter((x) => x.at > this.t);
      for (const d of due) d.fire(true);
      await new Promise((r) => setTimeout(r, 0));
      if (!due.length && !this.#timers.some((x) => x.at <= this.t)) return;
    }
  }
}

/**
 * One Lease store; each candidate gets a view that can be cut off (a partition). With `watch`,
 * views also watch the Lease: every write is reported to them at once.
 */
class FakeLeases {
  lease?: KubeObject;
  rv = 0;
  writes: string[] = [];
  readonly watchers = new Set<(lease: KubeObject) => void>();
  constructor(readonly options: { watch?: boolean } = {}) {}
  view(name: string): LeaseClient & { cut: boolean } {
    return fakeLeaseView(this, name);
  }
  get holder(): string {
    return (this.lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? "";
  }
  /** Stores `obj` as the next version and tells the watchers. */
  write(obj: KubeObject, by: string): KubeObject {
    this.lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    this.writes.push(by);
    for (const w of this.watchers) w(structuredClone(this.lease));
    return structuredClone(this.lease);
  }
  /** A holder that is not a candidate here renews (or first takes) the Lease, as of `now`. */
  renewAs(holder: string, now: number): void {
    const time = new Date(now).toISOString();
    this.write({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l", namespace: "kube-system" },
      spec: {
        ...(this.lease?.spec ?? { acquireTime: time, leaseTransitions: 0 }),
        holderIdentity: holder,
        leaseDurationSeconds: 15,
        renewTime: time,
      },
    }, holder);
  }
}

function fakeLeaseView(store: FakeLeases, name: string): LeaseClient & { cut: boolean } {
  {
    const v = {
      cut: false,
      getLease(): Promise<KubeObject> {
        if (v.cut) return Promise.reject(new Error("unreachable"));
        if (!store.lease) return Promise.reject(new NotFoundError(SUBJECT));
        return Promise.resolve(structuredClone(store.lease));
      },
      createLease(obj: KubeObject): Promise<KubeObject> {
        if (v.cut) return Promise.reject(new Error("unreachable"));
        if (store.lease) return Promise.reject(new AlreadyExistsError(SUBJECT));
        return Promise.resolve(store.write(obj, name));
      },
      updateLease(obj: KubeObject): Promise<KubeObject> {
        if (v.cut) return Promise.reject(new Error("unreachable"));
        if (obj.metadata.resourceVersion !== store.lease?.metadata.resourceVersion) {
          return Promise.reject(new ConflictError(SUBJECT, "stale"));
        }
        return Promise.resolve(store.write(obj, name));
      },
      watchLease: store.options.watch
        ? (_ns: string, _name: string, o: { onChange(l: KubeObject): void; signal: AbortSignal }) =>
          new Promise<void>((resolve) => {
            // As an informer: the current state first, then every change (none while cut).
            const onChange = (l: KubeObject) => v.cut || o.onChange(l);
            if (store.lease) onChange(structuredClone(store.lease));
            store.watchers.add(onChange);
            o.signal.addEventListener("abort", () => {
              store.watchers.delete(onChange);
              resolve();
            }, { once: true });
          })
        : undefined,
    };
    return v;
  }
}

function candidate(leases: FakeLeases, clock: FakeClock, identity: string) {
  const client = leases.view(identity);
  const elector = new LeaderElector({ client, name: "l", identity, clock });
  const terms: { start: number; end?: number }[] = [];
  const stop = new AbortController();
  const run = elector.run({
    onStartedLeading: (signal) =>
      new Promise<void>((resolve) => {
        const term: { start: number; end?: number } = { start: clock.now() };
        terms.push(term);
        signal.addEventListener("abort", () => {
          term.end = clock.now();
          resolve();
        }, { once: true });
      }),
  }, stop.signal);
  return { elector, client, terms, stop, run };
}

Deno.test("validateTiming() refuses a renew deadline not below the lease duration", () => {
  assert.throws(
    () =>
      validateTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    /leaseDuration must be greater/,
  );
  assert.throws(
    () => validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    /retryPeriod\*1.2/,
  );
});

Deno.test("LeaderElector: one leader among three, holder written in the Lease", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const cs = ["a", "b", "c"].map((id) => candidate(leases, clock, id));
  await clock.advance(10_000);
  const leaders = cs.filter((c) => c.elector.isLeader());
  assert.equal(leaders.length, 1);
  assert.equal(leases.holder, leaders[0].elector.identity);
  assert.equal(cs.reduce((n, c) => n + c.terms.length, 0), 1);
  for (const c of cs) c.stop.abort();
  await clock.settle();
  await Promise.all(cs.map((c) => c.run));
});

for (const watch of [false, true]) {
  const how = watch ? "watching the Lease" : "polling the Lease";

  Deno.test(`LeaderElector (${how}): a cut-off leader stops at the renew deadline, the other takes over only after the lease duration`, async () => {
    const clock = new FakeClock();
    const leases = new FakeLeases({ watch });
    const a = candidate(leases, clock, "a");
    await clock.settle();
    assert.ok(a.elector.isLeader());
    const b = candidate(leases, clock, "b");
    await clock.advance(6_000);
    assert.equal(leases.holder, "a");
    const lastRenew = clock.now();
    a.client.cut = true; // partitioned: renewals fail from now on
    // Its term ends within renewDeadline (10 s) + one retry period of the last renew...
    await clock.advance(12_000);
    assert.ok(a.terms[0].end !== undefined, "the cut-off leader's term ended");
    assert.ok(a.terms[0].end! - lastRenew <= 12_000);
    assert.equal(a.elector.isLeader(), false);
    // ...and b takes over once 15 s passed since it saw the last renew, not before.
    await clock.advance(6_000);
    assert.equal(leases.holder, "b");
    assert.ok(b.elector.isLeader());
    assert.ok(b.terms[0].start >= lastRenew + 15_000, "no takeover before the lease duration");
    assert.ok(b.terms[0].start > a.terms[0].end!, "terms never overlap");
    assert.equal(leases.lease?.spec.leaseTransitions, 1);
    for (const c of [a, b]) c.stop.abort();
    await clock.settle();
    await Promise.all([a.run, b.run]);
  });

  Deno.test(`LeaderElector (${how}): a frozen leader is not leader the instant it resumes, and does not act after the takeover`, async () => {
    // Each candidate has its own clock, so one can be frozen (SIGSTOP) while the other runs.
    const clockA = new FakeClock();
    const clockB = new FakeClock();
    const both = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        await clockA.advance(100);
        await clockB.advance(100);
      }
    };
    const leases = new FakeLeases({ watch });
    const a = candidate(leases, clockA, "a");
    await clockA.settle();
    assert.ok(a.elector.isLeader());
    const b = candidate(leases, clockB, "b");
    await both(4_000);
    assert.equal(leases.holder, "a");
    const guarded = fencedFetch(
      () => Promise.resolve(new Response("ok")),
      () => a.elector.isLeader(),
    );
    assert.equal((await guarded("http://x/", { method: "POST" })).status, 200);
    // SIGSTOP a: its time passes with none of its timers running; b keeps campaigning.
    clockA.t += 20_000;
    await clockB.advance(20_000);
    assert.equal(leases.holder, "b", "b took the Lease after the lease duration");
    assert.ok(b.elector.isLeader());
    // Resumed: a is not leader before any of its timers ran, and its writes are refused.
    assert.equal(a.elector.isLeader(), false);
    assert.equal((await guarded("http://x/", { method: "POST" })).status, 503);
    assert.equal((await guarded("http://x/", { method: "GET" })).status, 200);
    const aWrites = leases.writes.filter((w) => w === "a").length;
    await both(6_000);
    assert.ok(a.terms[0].end !== undefined, "its term ended on resume");
    assert.equal(a.terms.length, 1, "it did not lead again");
    assert.equal(leases.writes.filter((w) => w === "a").length, aWrites, "it wrote nothing");
    assert.equal(leases.holder, "b");
    a.stop.abort();
    b.stop.abort();
    await clockA.settle();
    await clockB.settle();
    await Promise.all([a.run, b.run]);
  });
}

Deno.test("LeaderElector: shutdown releases the Lease so a successor acquires at once", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate(leases, clock, "a");
  await clock.settle();
  const b = candidate(leases, clock, "b");
  await clock.advance(4_000);
  assert.equal(leases.holder, "a");
  a.stop.abort();
  await clock.settle();
  await a.run;
  assert.equal(leases.holder, "");
  await clock.advance(3_000);
  assert.equal(leases.holder, "b");
  assert.ok(b.elector.isLeader());
  b.stop.abort();
  await clock.settle();
  await b.run;
});

/** A candidate `b` watching a Lease that `x` (no candidate here) holds, renewed by the test. */
async function standingBy(clock: FakeClock) {
  const leases = new FakeLeases({ watch: true });
  leases.renewAs("x", clock.now());
  const b = candidate(leases, clock, "b");
  await clock.settle();
  assert.equal(leases.holder, "x");
  return { leases, b };
}

/**
 * Advances to just before `expiry` (holder still x), then to the expiry plus the margin (b took
 * over by then). A retry tick of b's (jittered) may land inside the margin and take the Lease a
 * few milliseconds sooner: that is a try after the expiry too, so both are right.
 */
async function takesOverAt(clock: FakeClock, leases: FakeLeases, expiry: number) {
  await clock.advance(expiry - 1 - clock.now());
  assert.equal(leases.holder, "x", "not taken before the observed record expired");
  await clock.advance(expiry + EXPIRY_MARGIN_MS - clock.now());
  assert.equal(leases.holder, "b", `taken by ${expiry} + ${EXPIRY_MARGIN_MS} ms`);
}

async function stop(clock: FakeClock, ...cs: { stop: AbortController; run: Promise<void> }[]) {
  for (const c of cs) c.stop.abort();
  await clock.settle();
  await Promise.all(cs.map((c) => c.run));
}

Deno.test("LeaderElector: takes a Lease exactly a lease duration after it observed the record, whatever its renewTime says", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases({ watch: true });
  // The holder's clock is an hour behind: its renewTime must not make the Lease look expired.
  leases.renewAs("x", clock.now() - 3_600_000);
  await clock.advance(5_000);
  const observedAt = clock.now();
  const b = candidate(leases, clock, "b");
  await takesOverAt(clock, leases, observedAt + 15_000);
  const start = b.terms[0].start - (observedAt + 15_000);
  assert.ok(start >= 0 && start <= EXPIRY_MARGIN_MS, `term started ${start} ms after the expiry`);
  assert.equal(leases.lease?.spec.leaseTransitions, 1);
  await stop(clock, b);
});

Deno.test("LeaderElector: a renewal seen on the watch moves the takeover to a lease duration after it", async () => {
  const clock = new FakeClock();
  const { leases, b } = await standingBy(clock);
  await clock.advance(14_000);
  const renewedAt = clock.now();
  leases.renewAs("x", renewedAt);
  // Past the first record's expiry, with b's retry ticks in between: still x's.
  await clock.advance(3_000);
  assert.equal(leases.holder, "x");
  assert.deepEqual(leases.writes.filter((w) => w === "b"), []);
  // Taken the moment the renewal's expiry passes, not at b's next retry tick after it.
  await takesOverAt(clock, leases, renewedAt + 15_000);
  await stop(clock, b);
});

Deno.test("LeaderElector: a retry tick landing inside the expiry margin takes the Lease then", async () => {
  // With the jitter pinned (2,072 ms retry period), b's 14th tick comes 29,008 ms after its
  // first try: 8 ms after the renewed record's expiry, inside the 20 ms margin. That try finds
  // the record expired (observed + duration <= now, as client-go) and takes the Lease then,
  // before the wake-up scheduled for the expiry plus the margin.
  const random = Math.random;
  Math.random = () => 0.18;
  try {
    const clock = new FakeClock();
    const firstTry = clock.now();
    const { leases, b } = await standingBy(clock);
    await clock.advance(14_000);
    const renewedAt = clock.now();
    leases.renewAs("x", renewedAt);
    await takesOverAt(clock, leases, renewedAt + 15_000);
    assert.equal(b.terms[0].start, firstTry + 14 * 2_072);
    assert.ok(b.terms[0].start < renewedAt + 15_000 + EXPIRY_MARGIN_MS);
    await stop(clock, b);
  } finally {
    Math.random = random;
  }
});

Deno.test("LeaderElector: no takeover while renewals keep coming, even just inside the lease duration", async () => {
  const clock = new FakeClock();
  const { leases, b } = await standingBy(clock);
  const c = candidate(leases, clock, "c");
  let last = clock.now();
  for (const gap of [2_000, 14_000, 7_000, 14_900, 1_000, 14_500]) {
    await clock.advance(gap);
    last = clock.now();
    leases.renewAs("x", last);
  }
  await clock.advance(14_000);
  assert.equal(leases.holder, "x");
  assert.deepEqual(leases.writes.filter((w) => w !== "x"), [], "b and c wrote nothing");
  assert.deepEqual([b.terms, c.terms], [[], []]);
  // Once the renewals stop, one of them takes it a lease duration after the last.
  await clock.advance(last + 15_000 + EXPIRY_MARGIN_MS - clock.now());
  assert.ok(["b", "c"].includes(leases.holder));
  assert.equal(b.terms.length + c.terms.length, 1);
  await stop(clock, b, c);
});
