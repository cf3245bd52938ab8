/**
 * The conformance suite every {@linkcode Backend} must pass (Kubernetes' storage tests, in
 * spirit): `runBackendConformance("sqlite", open)` registers one `Deno.test` per behaviour, each
 * on a freshly opened, empty backend. Run it from the backend's own test file.
 */
import assert from "node:assert/strict";
import {
  type Backend,
  type BackendChange,
  type BackendEvent,
  CompactedError,
  type KeyValue,
} from "./backend.ts";

/** Opens a fresh, empty backend and says how to dispose of it. */
export type OpenBackend = () => Promise<{ backend: Backend; cleanup: () => Promise<void> }>;

/** Unwraps a successful CAS result. */
function ok(
  result: { ok: true; kv: KeyValue } | { ok: false; current: KeyValue | null },
): KeyValue {
  if (!result.ok) {
    assert.fail(`expected the write to succeed, got current=${JSON.stringify(result)}`);
  }
  return result.kv;
}

/** The changes of an event list as `type key value@rev` strings, for compact comparisons. */
function summary(events: BackendChange[]): string[] {
  return events.map((e) => `${e.type} ${e.kv.key} ${e.kv.value}@${e.kv.modRevision}`);
}

/**
 * A watch that is read step by step. `next(n)` returns the next n changes (skipping progress
 * events); a watch that stays silent for 20 s fails the test instead of hanging it.
 */
class WatchReader {
  readonly #controller = new AbortController();
  readonly #iterator: AsyncIterator<BackendEvent>;
  readonly progress: number[] = [];

  constructor(backend: Backend, prefix: string, afterRevision: number) {
    this.#iterator = backend.watch(prefix, afterRevision, this.#controller.signal)
      [Symbol.asyncIterator]();
  }

  async next(n: number): Promise<BackendChange[]> {
    const out: BackendChange[] = [];
    while (out.length < n) {
      const event = await this.#step();
      if (event.type === "progress") this.progress.push(event.revision);
      else out.push(event);
    }
    return out;
  }

  /** Reads until a progress event at or above `revision`; returns the changes seen meanwhile. */
  async untilProgress(revision: number): Promise<BackendChange[]> {
    const out: BackendChange[] = [];
    for (;;) {
      const event = await this.#step();
      if (event.type !== "progress") out.push(event);
      else if (event.revision >= revision) return out;
    }
  }

  async #step(): Promise<BackendEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("watch delivered nothing for 20 s")), 20_000);
    });
    try {
      const r = await Promise.race([this.#iterator.next(), timeout]);
      if (r.done) assert.fail("the watch ended early");
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts the watch and checks that the iterator then ends. */
  async close(): Promise<void> {
    this.#controller.abort();
    const r = await this.#iterator.next();
    assert.ok(r.done, "the watch ends after its signal aborts");
  }
}

/**
 * Registers the conformance tests for a backend. `open` must return an empty backend each time.
 */
export function runBackendConformance(name: string, open: OpenBackend): void {
  /**
   * `r(n)` is the revision of the n-th write to the fresh backend: an empty SqliteBackend is at
   * revision 0, a fresh etcd at 1.
   */
  const test = (title: string, body: (b: Backend, r: (n: number) => number) => Promise<void>) => {
    Deno.test(`${name} backend: ${title}`, async () => {
      const { backend, cleanup } = await open();
      try {
        const base = await backend.currentRevision();
        await body(backend, (n) => base + n);
      } finally {
        await cleanup();
      }
    });
  };

  test(
    "create() stores a key; get() returns it; a second create() reports the current value",
    async (b, r) => {
      assert.equal(await b.currentRevision(), r(0), "revision of an empty store");
      assert.equal(await b.get("/a"), null, "get of a missing key");
      const kv = ok(await b.create("/a", "one"));
      assert.deepEqual(
        kv,
        { key: "/a", value: "one", createRevision: r(1), modRevision: r(1) },
        "created kv",
      );
      assert.deepEqual(await b.get("/a"), kv, "get after create");
      const dup = await b.create("/a", "two");
      assert.deepEqual(dup, { ok: false, current: kv }, "duplicate create");
      assert.equal(await b.currentRevision(), r(1), "a failed create writes nothing");
    },
  );

  test("update() is a compare-and-swap on modRevision", async (b, r) => {
    const created = ok(await b.create("/a", "one"));
    const updated = ok(await b.update("/a", "two", created.modRevision));
    assert.deepEqual(
      updated,
      { key: "/a", value: "two", createRevision: r(1), modRevision: r(2) },
      "updated kv",
    );
    const stale = await b.update("/a", "three", created.modRevision);
    assert.deepEqual(stale, { ok: false, current: updated }, "update with a stale revision");
    assert.deepEqual(await b.get("/a"), updated, "a conflicting update changes nothing");
    assert.deepEqual(
      await b.update("/missing", "x", 1),
      { ok: false, current: null },
      "update of a missing key",
    );
    assert.equal(await b.currentRevision(), r(2), "failed updates write nothing");
  });

  test(
    "delete() honours the expected revision and works unconditionally without one",
    async (b, r) => {
      const a = ok(await b.create("/a", "A"));
      ok(await b.create("/b", "B"));
      const conflict = await b.delete("/a", a.modRevision + 100);
      assert.deepEqual(conflict, { ok: false, current: a }, "delete with a wrong revision");
      const deleted = ok(await b.delete("/a", a.modRevision));
      assert.deepEqual(
        deleted,
        { key: "/a", value: "A", createRevision: r(1), modRevision: r(3) },
        "deleted kv carries the last value and the delete's revision",
      );
      assert.equal(await b.get("/a"), null, "get after delete");
      ok(await b.delete("/b"));
      assert.equal(await b.get("/b"), null, "get after unconditional delete");
      assert.deepEqual(
        await b.delete("/b"),
        { ok: false, current: null },
        "delete of a missing key",
      );
      assert.deepEqual(
        await b.delete("/b", r(2)),
        { ok: false, current: null },
        "delete missing, with rev",
      );
      const again = ok(await b.create("/a", "A2"));
      assert.deepEqual(
        again.createRevision,
        again.modRevision,
        "a re-created key starts a new life",
      );
      assert.equal(again.createRevision, r(5), "re-created at the next revision");
    },
  );

  test(
    "list() returns the keys with a prefix in key order and pages with limit/startAfter",
    async (b, r) => {
      for (const k of ["/p/c", "/p/a", "/q/a", "/p/b", "/p/d", "/pp/a", "/o"]) {
        ok(await b.create(k, `v${k}`));
      }
      ok(await b.delete("/p/d"));
      const all = await b.list("/p/");
      assert.deepEqual(all.items.map((kv) => kv.key), ["/p/a", "/p/b", "/p/c"], "keys in order");
      assert.equal(all.items[0].value, "v/p/a", "values");
      assert.equal(all.revision, r(8), "list revision is the latest revision");
      assert.equal(all.more, false, "no more");
      const page1 = await b.list("/p/", { limit: 2 });
      assert.deepEqual(page1.items.map((kv) => kv.key), ["/p/a", "/p/b"], "first page");
      assert.equal(page1.more, true, "more after the first page");
      const page2 = await b.list("/p/", { limit: 2, startAfter: "/p/b", revision: page1.revision });
      assert.deepEqual(page2.items.map((kv) => kv.key), ["/p/c"], "second page");
      assert.equal(page2.more, false, "no more after the last page");
      const exact = await b.list("/p/", { limit: 3 });
      assert.equal(exact.more, false, "limit equal to the count has no more");
      const everything = await b.list("");
      assert.deepEqual(
        everything.items.map((kv) => kv.key),
        ["/o", "/p/a", "/p/b", "/p/c", "/pp/a", "/q/a"],
        "empty prefix lists every key",
      );
      assert.equal(await b.count("/p/"), 3, "count");
      assert.equal(await b.count(""), 6, "count of everything");
      assert.equal(await b.count("/nothing/"), 0, "count of nothing");
    },
  );

  test(
    "list() at an older revision sees the state then; below compaction it throws CompactedError",
    async (b, r) => {
      const a = ok(await b.create("/k/a", "a1")); // 1
      ok(await b.create("/k/b", "b1")); // 2
      ok(await b.update("/k/a", "a2", a.modRevision)); // 3
      ok(await b.delete("/k/b")); // 4
      ok(await b.create("/k/c", "c1")); // 5
      const at = async (revision: number) =>
        (await b.list("/k/", { revision })).items.map((kv) => `${kv.key}=${kv.value}`);
      assert.deepEqual(await at(r(2)), ["/k/a=a1", "/k/b=b1"], "state at 2");
      assert.deepEqual(await at(r(3)), ["/k/a=a2", "/k/b=b1"], "state at 3");
      assert.deepEqual(await at(r(4)), ["/k/a=a2"], "state at 4");
      assert.deepEqual(await at(r(5)), ["/k/a=a2", "/k/c=c1"], "state at 5");
      const page = await b.list("/k/", { revision: r(2), limit: 1 });
      assert.deepEqual(page.items.map((kv) => kv.key), ["/k/a"], "paged old list");
      assert.equal(page.revision, r(2), "paged old list revision");
      await b.compact(r(3));
      assert.equal(await b.compactRevision(), r(3), "compact revision recorded");
      assert.deepEqual(
        await at(r(3)),
        ["/k/a=a2", "/k/b=b1"],
        "state at the compact revision survives",
      );
      assert.deepEqual(await at(r(5)), ["/k/a=a2", "/k/c=c1"], "current state survives");
      await assert.rejects(() => b.list("/k/", { revision: r(2) }), (err) => {
        assert.ok(err instanceof CompactedError, `a list at an old revision: ${err}`);
        assert.equal(err.compactRevision, r(3), "CompactedError.compactRevision");
        return true;
      });
      assert.equal((await b.get("/k/a"))?.value, "a2", "latest value kept by compaction");
      await b.compact(r(2));
      assert.deepEqual(
        await b.compactRevision(),
        r(3),
        "compacting to an older revision is a no-op",
      );
    },
  );

  test("every write takes the next global revision, across all keys", async (b, r) => {
    const revisions: number[] = [];
    const x = ok(await b.create("/x", "1"));
    revisions.push(x.modRevision);
    revisions.push(ok(await b.create("/y", "1")).modRevision);
    revisions.push(ok(await b.update("/x", "2", x.modRevision)).modRevision);
    await b.create("/y", "dup"); // fails, takes no revision
    revisions.push(ok(await b.delete("/y")).modRevision);
    revisions.push(ok(await b.create("/z", "1")).modRevision);
    assert.deepEqual(revisions, [r(1), r(2), r(3), r(4), r(5)], "revisions");
    assert.equal(await b.currentRevision(), r(5), "current revision");
    assert.equal((await b.list("/")).revision, r(5), "list revision");
  });

  test(
    "concurrent writers never reuse a revision and conflicting CAS has one winner",
    async (b, r) => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => b.create(`/c/${String(i).padStart(2, "0")}`, `${i}`)),
      );
      const revisions = results.map((r) => ok(r).modRevision);
      assert.equal(new Set(revisions).size, 50, "distinct revisions");
      const base = ok(await b.create("/contended", "0"));
      const racers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => b.update("/contended", `w${i}`, base.modRevision)),
      );
      assert.equal(racers.filter((r) => r.ok).length, 1, "exactly one CAS wins");
      const current = await b.get("/contended");
      for (const r of racers) {
        if (!r.ok) {
          assert.deepEqual(r.current?.modRevision, current?.modRevision, "losers see winner");
        }
      }
      assert.equal(await b.currentRevision(), r(52), "one revision per successful write");
    },
  );

  test(
    "watch() replays exactly the events after a past revision, then live events",
    async (b, r) => {
      const a = ok(await b.create("/w/a", "a1")); // 1
      ok(await b.create("/w/b", "b1")); // 2
      ok(await b.update("/w/a", "a2", a.modRevision)); // 3
      ok(await b.delete("/w/b")); // 4
      const w = new WatchReader(b, "/w/", r(1));
      try {
        const replayed = await w.next(3);
        assert.deepEqual(
          summary(replayed),
          [`put /w/b b1@${r(2)}`, `put /w/a a2@${r(3)}`, `delete /w/b b1@${r(4)}`],
          "replayed events",
        );
        assert.equal(replayed[0].prevKv, undefined, "a create has no prevKv");
        assert.equal(replayed[1].prevKv?.value, "a1", "an update's prevKv is the old value");
        assert.equal(replayed[1].prevKv?.modRevision, r(1), "prevKv revision");
        assert.equal(replayed[2].prevKv?.value, "b1", "a delete's prevKv is the deleted value");
        assert.equal(replayed[2].prevKv?.modRevision, r(2), "delete prevKv revision");
        assert.equal(replayed[1].kv.createRevision, r(1), "createRevision on update");
        const c = ok(await b.create("/w/c", "c1")); // 5
        ok(await b.update("/w/c", "c2", c.modRevision)); // 6
        const live = await w.next(2);
        assert.deepEqual(
          summary(live),
          [`put /w/c c1@${r(5)}`, `put /w/c c2@${r(6)}`],
          "live events",
        );
        assert.equal(live[1].prevKv?.value, "c1", "live update prevKv");
      } finally {
        await w.close();
      }
      const fromNow = new WatchReader(b, "/w/", await b.currentRevision());
      try {
        ok(await b.create("/w/d", "d1"));
        assert.deepEqual(summary(await fromNow.next(1)), [`put /w/d d1@${r(7)}`], "watch from now");
      } finally {
        await fromNow.close();
      }
    },
  );

  test("watch() loses and repeats nothing while writes race its start", async (b, r) => {
    for (let i = 0; i < 20; i++) ok(await b.create(`/r/${i}`, "x"));
    const w = new WatchReader(b, "/r/", r(5));
    const writes = (async () => {
      for (let i = 20; i < 120; i++) ok(await b.create(`/r/${i}`, "x"));
    })();
    try {
      const events = await w.next(115);
      await writes;
      assert.deepEqual(
        events.map((e) => e.kv.modRevision),
        Array.from({ length: 115 }, (_, i) => r(i + 6)),
        "every revision after 5 exactly once, in order",
      );
    } finally {
      await writes;
      await w.close();
    }
  });

  test("watch() filters by prefix and sends progress after writes elsewhere", async (b, r) => {
    const w = new WatchReader(b, "/pods/", r(0));
    try {
      ok(await b.create("/pods/a", "1")); // 1
      ok(await b.create("/services/a", "1")); // 2
      ok(await b.create("/podsx/a", "1")); // 3
      ok(await b.create("/pods/b", "1")); // 4
      ok(await b.create("/nodes/a", "1")); // 5
      assert.deepEqual(
        summary(await w.next(2)),
        [`put /pods/a 1@${r(1)}`, `put /pods/b 1@${r(4)}`],
        "filtered",
      );
      assert.deepEqual(await w.untilProgress(r(5)), [], "progress to 5 with no other change");
      for (let i = 1; i < w.progress.length; i++) {
        assert.ok(w.progress[i] > w.progress[i - 1], "progress revisions increase");
      }
    } finally {
      await w.close();
    }
  });

  test(
    "watch() of a compacted revision throws CompactedError; at the compact revision it works",
    async (b, r) => {
      const a = ok(await b.create("/c/a", "1")); // 1
      ok(await b.update("/c/a", "2", a.modRevision)); // 2
      ok(await b.create("/c/b", "1")); // 3
      ok(await b.delete("/c/b")); // 4
      ok(await b.create("/c/c", "1")); // 5
      await b.compact(r(4));
      const controller = new AbortController();
      try {
        const iterator = b.watch("/c/", r(2), controller.signal)[Symbol.asyncIterator]();
        await assert.rejects(() => iterator.next(), (err) => {
          assert.ok(err instanceof CompactedError, `watch from 2: ${err}`);
          assert.equal(err.compactRevision, r(4), "compactRevision of the error");
          return true;
        });
      } finally {
        controller.abort();
      }
      const w = new WatchReader(b, "/c/", r(4));
      try {
        assert.deepEqual(
          summary(await w.next(1)),
          [`put /c/c 1@${r(5)}`],
          "watch from the compact revision",
        );
      } finally {
        await w.close();
      }
    },
  );

  test(
    "compact() keeps the latest value of every live key and drops deleted keys",
    async (b) => {
      let a = ok(await b.create("/k/a", "0"));
      for (let i = 1; i <= 5; i++) a = ok(await b.update("/k/a", `${i}`, a.modRevision));
      ok(await b.create("/k/gone", "x"));
      ok(await b.delete("/k/gone"));
      const revision = await b.currentRevision();
      await b.compact(revision);
      assert.deepEqual(await b.get("/k/a"), a, "latest value survives");
      assert.equal(await b.get("/k/gone"), null, "deleted key stays deleted");
      assert.deepEqual(
        (await b.list("/k/")).items.map((kv) => kv.key),
        ["/k/a"],
        "list after compact",
      );
      const again = ok(await b.create("/k/gone", "y"));
      assert.deepEqual(again.createRevision, revision + 1, "deleted key can be created again");
      const w = new WatchReader(b, "/k/", revision);
      try {
        const updated = ok(await b.update("/k/a", "6", a.modRevision));
        const events = await w.next(2);
        assert.deepEqual(summary(events), [
          `put /k/gone y@${revision + 1}`,
          `put /k/a 6@${updated.modRevision}`,
        ], "events after compaction");
        assert.equal(events[1].prevKv?.value, "5", "prevKv of a value kept by compaction");
      } finally {
        await w.close();
      }
    },
  );
}
