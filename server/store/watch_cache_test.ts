/** WatchCache on a real SqliteBackend: list, get, paging, watch resume, filters, 410s, fan-out. */
import assert from "node:assert/strict";
import { SqliteBackend } from "./sqlite_backend.ts";
import { type CacheEvent, json, WatchCache, type WatchCacheOptions } from "./watch_cache.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { GoneError } from "../../shared/errors.ts";

const PODS = "/registry/core/pods/";

function pod(namespace: string, name: string, labels: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels } });
}

/** A temp SqliteBackend with a running WatchCache on pods; `stop()` tears everything down. */
async function setup(
  options: Partial<WatchCacheOptions> = {},
  seed?: (b: SqliteBackend) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "skiff_watch_cache_" });
  const backend = SqliteBackend.open(`${dir}/store.db`, { synchronous: "normal" });
  if (seed) await seed(backend);
  const controller = new AbortController();
  const cache = new WatchCache(backend, { prefix: PODS, ...options });
  const running = cache.run(controller.signal);
  await cache.ready();
  return {
    backend,
    cache,
    dir,
    async stop() {
      controller.abort();
      await running;
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function put(backend: SqliteBackend, key: string, value: string): Promise<number> {
  const current = await backend.get(key);
  const r = current
    ? await backend.update(key, value, current.modRevision)
    : await backend.create(key, value);
  if (!r.ok) throw new Error(`write of ${key} failed`);
  return r.kv.modRevision;
}

/** Reads a cache watch step by step; fails instead of hanging when nothing comes for 20 s. */
class Reader {
  readonly controller = new AbortController();
  readonly iterator: AsyncIterator<CacheEvent>;
  constructor(
    cache: WatchCache,
    options: {
      afterRevision: number;
      prefix?: string;
      predicate?: (o: KubeObject) => boolean;
      bookmarkIntervalMs?: number;
    },
  ) {
    this.iterator = cache.watch({ ...options, signal: this.controller.signal })[
      Symbol.asyncIterator
    ]();
  }
  async next(n: number): Promise<CacheEvent[]> {
    const out: CacheEvent[] = [];
    while (out.length < n) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no event for 20 s")), 20_000);
      });
      try {
        const r = await Promise.race([this.iterator.next(), timeout]);
        if (r.done) throw new Error("watch ended early");
        out.push(r.value);
      } finally {
        clearTimeout(timer);
      }
    }
    return out;
  }
  async error(): Promise<unknown> {
    try {
      for (;;) {
        const r = await this.iterator.next();
        if (r.done) return undefined;
      }
    } catch (err) {
      return err;
    }
  }
  async close(): Promise<void> {
    this.controller.abort();
    await this.iterator.return?.(undefined);
  }
}

function brief(events: CacheEvent[]): string[] {
  return events.map((e) =>
    `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}@${e.object.metadata.resourceVersion}`
  );
}

Deno.test("WatchCache lists what the backend holds, sorted, with resourceVersion set", async () => {
  const t = await setup({}, async (b) => {
    await put(b, `${PODS}ns2/a`, pod("ns2", "a"));
    await put(b, `${PODS}ns1/b`, pod("ns1", "b"));
    await put(b, `/registry/core/services/ns1/x`, pod("ns1", "x"));
    await put(b, `${PODS}ns1/a`, pod("ns1", "a"));
  });
  try {
    const all = t.cache.list();
    assert.deepEqual(
      all.items.map((o) =>
        `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`
      ),
      ["ns1/a@4", "ns1/b@2", "ns2/a@1"],
      "items",
    );
    assert.deepEqual(all.revision, 4, "list revision");
    assert.deepEqual(t.cache.revision, 4, "cache revision");
    assert.deepEqual(t.cache.get(`${PODS}ns1/b`)?.metadata.name, "b", "get");
    assert.deepEqual(t.cache.get(`${PODS}ns1/zzz`), undefined, "get missing");
    assert.deepEqual(t.cache.list({ prefix: `${PODS}ns1/` }).items.length, 2, "namespace prefix");
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.list() pages with limit/continueKey and applies the predicate", async () => {
  const t = await setup();
  try {
    for (let i = 0; i < 10; i++) {
      await put(
        t.backend,
        `${PODS}default/p${i}`,
        pod("default", `p${i}`, { even: `${i % 2 === 0}` }),
      );
    }
    await t.cache.waitForRevision(10);
    const even = (o: KubeObject) => o.metadata.labels?.even === "true";
    const names: string[] = [];
    let continueKey: string | undefined;
    let pages = 0;
    do {
      const page = t.cache.list({ predicate: even, limit: 2, continueKey });
      names.push(...page.items.map((o) => o.metadata.name!));
      continueKey = page.continueKey;
      pages++;
    } while (continueKey);
    assert.deepEqual(names, ["p0", "p2", "p4", "p6", "p8"], "paged, filtered names");
    assert.deepEqual(pages, 3, "pages");
    assert.deepEqual(
      t.cache.list({ limit: 10 }).continueKey,
      undefined,
      "no continue when all fit",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.list({atRevision}) rebuilds a past state from the retained events", async () => {
  const t = await setup({ historySize: 4 });
  try {
    for (const name of ["a", "b", "c"]) {
      await put(t.backend, `${PODS}default/${name}`, pod("default", name, { v: "1" }));
    }
    const before = await put(t.backend, `${PODS}other/x`, pod("other", "x"));
    await put(t.backend, `${PODS}default/b`, pod("default", "b", { v: "2" })); // MODIFIED
    await t.backend.delete(
      `${PODS}default/c`,
      (await t.backend.get(`${PODS}default/c`))!.modRevision,
    );
    const last = await put(t.backend, `${PODS}default/d`, pod("default", "d")); // ADDED
    await t.cache.waitForRevision(last);
    const state = (atRevision?: number, limit?: number, continueKey?: string) => {
      const page = t.cache.list({ prefix: `${PODS}default/`, atRevision, limit, continueKey });
      return {
        items: page.items.map((o) => `${o.metadata.name}:${o.metadata.labels?.v ?? ""}`),
        revision: page.revision,
        continueKey: page.continueKey,
      };
    };
    assert.deepEqual(state().items, ["a:1", "b:2", "d:"]);
    assert.deepEqual(state(before), {
      items: ["a:1", "b:1", "c:1"],
      revision: before,
      continueKey: undefined,
    });
    // Paging through the past state: the second page is from the same revision.
    const first = state(before, 2);
    assert.deepEqual(first.items, ["a:1", "b:1"]);
    assert.deepEqual(state(before, 2, first.continueKey).items, ["c:1"]);
    // A revision at or past the cache's is the current state.
    assert.deepEqual(state(last).items, ["a:1", "b:2", "d:"]);
    // Four events retained (revisions 4-7): revision 3 can be rebuilt, revision 2 no longer.
    assert.deepEqual(state(before - 1).items, ["a:1", "b:1", "c:1"]);
    assert.throws(() => state(before - 2), GoneError);
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.waitForRevision() resolves once a write is visible", async () => {
  const t = await setup();
  try {
    const revision = await put(t.backend, `${PODS}default/a`, pod("default", "a"));
    await t.cache.waitForRevision(revision);
    assert.deepEqual(
      t.cache.get(`${PODS}default/a`)?.metadata.resourceVersion,
      `${revision}`,
      "rv",
    );
    // A write to another kind moves the revision too (backend progress notifications).
    const other = await put(t.backend, `/registry/core/services/default/s`, pod("default", "s"));
    await t.cache.waitForRevision(other);
    assert.deepEqual(t.cache.revision, other, "revision follows writes elsewhere");
    const controller = new AbortController();
    const waiting = t.cache.waitForRevision(other + 100, controller.signal);
    controller.abort(new Error("gave up"));
    let message = "";
    await waiting.catch((e) => message = e.message);
    assert.deepEqual(message, "gave up", "abort rejects the wait");
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.watch() replays history after a revision, then live events", async () => {
  const t = await setup();
  try {
    const r1 = await put(t.backend, `${PODS}default/a`, pod("default", "a"));
    await put(t.backend, `${PODS}default/b`, pod("default", "b"));
    await put(t.backend, `${PODS}default/a`, pod("default", "a", { v: "2" }));
    const deleted = await t.backend.delete(`${PODS}default/b`);
    if (!deleted.ok) throw new Error("delete failed");
    await t.cache.waitForRevision(deleted.kv.modRevision);
    const w = new Reader(t.cache, { afterRevision: r1 });
    try {
      const replayed = await w.next(3);
      assert.deepEqual(
        brief(replayed),
        ["ADDED default/b@2", "MODIFIED default/a@3", "DELETED default/b@4"],
        "replayed",
      );
      assert.deepEqual(
        replayed[1].prevObject?.metadata.resourceVersion,
        "1",
        "prevObject of MODIFIED",
      );
      await put(t.backend, `${PODS}other/c`, pod("other", "c"));
      assert.deepEqual(brief(await w.next(1)), ["ADDED other/c@5"], "live");
    } finally {
      await w.close();
    }
    const ns = new Reader(t.cache, { afterRevision: 0, prefix: `${PODS}other/` });
    try {
      assert.deepEqual(brief(await ns.next(1)), ["ADDED other/c@5"], "prefix-filtered replay");
    } finally {
      await ns.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.watch() turns predicate edges into ADDED and DELETED", async () => {
  const t = await setup();
  try {
    const web = (o: KubeObject) => o.metadata.labels?.app === "web";
    const w = new Reader(t.cache, { afterRevision: 0, predicate: web });
    try {
      await put(t.backend, `${PODS}d/x`, pod("d", "x", { app: "db" })); // 1: not shown
      await put(t.backend, `${PODS}d/x`, pod("d", "x", { app: "web" })); // 2: starts matching
      await put(t.backend, `${PODS}d/x`, pod("d", "x", { app: "web", v: "2" })); // 3: still
      await put(t.backend, `${PODS}d/x`, pod("d", "x", { app: "db" })); // 4: stops matching
      await put(t.backend, `${PODS}d/y`, pod("d", "y", { app: "web" })); // 5
      const events = await w.next(4);
      assert.deepEqual(
        brief(events),
        ["ADDED d/x@2", "MODIFIED d/x@3", "DELETED d/x@4", "ADDED d/y@5"],
        "filtered events",
      );
      assert.deepEqual(
        events[2].object.metadata.labels,
        { app: "web", v: "2" },
        "DELETED shows the last matching state",
      );
    } finally {
      await w.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.watch() from a revision older than the history throws GoneError", async () => {
  const t = await setup({ historySize: 3 });
  try {
    for (let i = 0; i < 6; i++) await put(t.backend, `${PODS}d/p${i}`, pod("d", `p${i}`));
    await t.cache.waitForRevision(6);
    const old = new Reader(t.cache, { afterRevision: 2 });
    const err = await old.error();
    assert.ok(err instanceof GoneError, `expected GoneError, got ${err}`);
    assert.deepEqual(err.message, "too old resource version: 2 (4)", "message");
    const recent = new Reader(t.cache, { afterRevision: 3 });
    try {
      assert.deepEqual(
        brief(await recent.next(3)),
        ["ADDED d/p3@4", "ADDED d/p4@5", "ADDED d/p5@6"],
        "window",
      );
    } finally {
      await recent.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache ends a watcher that falls a whole history behind, and only that one", async () => {
  const t = await setup({ historySize: 5 });
  try {
    const slow = new Reader(t.cache, { afterRevision: 0 });
    const fast = new Reader(t.cache, { afterRevision: 0 });
    try {
      const fastEvents: CacheEvent[] = [];
      for (let i = 0; i < 20; i++) {
        await put(t.backend, `${PODS}d/p${i}`, pod("d", `p${i}`));
        fastEvents.push(...await fast.next(1));
      }
      assert.deepEqual(
        fastEvents.map((e) => e.revision),
        Array.from({ length: 20 }, (_, i) => i + 1),
        "fast watcher",
      );
      const err = await slow.error();
      assert.ok(err instanceof GoneError, `expected GoneError, got ${err}`);
    } finally {
      await slow.close();
      await fast.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache re-lists after compaction overtakes it and ends live watchers with GoneError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff_watch_cache_" });
  const backend = SqliteBackend.open(`${dir}/store.db`, {
    synchronous: "normal",
    watchBufferSize: 2,
  });
  const controller = new AbortController();
  // A backend watch that is not read while writes pile up falls back to the table; compacting
  // meanwhile makes it throw CompactedError. Stall the cache by wrapping the backend's watch.
  let gate: PromiseWithResolvers<void> | null = Promise.withResolvers<void>();
  const gated = Object.create(backend) as SqliteBackend;
  gated.watch = (prefix, after, signal) => {
    const inner = backend.watch(prefix, after, signal);
    return {
      async *[Symbol.asyncIterator]() {
        for await (const e of inner) {
          if (gate) await gate.promise;
          yield e;
        }
      },
    };
  };
  for (const name of ["currentRevision", "compactRevision", "list"] as const) {
    // deno-lint-ignore no-explicit-any
    (gated as any)[name] = (backend[name] as any).bind(backend);
  }
  const cache = new WatchCache(gated, { prefix: PODS });
  const running = cache.run(controller.signal);
  try {
    await put(backend, `${PODS}d/a`, pod("d", "a"));
    await cache.ready();
    const w = new Reader(cache, { afterRevision: 0 });
    for (let i = 0; i < 10; i++) await put(backend, `${PODS}d/p${i}`, pod("d", `p${i}`));
    await backend.compact(await backend.currentRevision());
    const latest = await put(backend, `${PODS}d/last`, pod("d", "last"));
    gate.resolve();
    gate = null;
    await cache.waitForRevision(latest);
    assert.deepEqual(cache.list().items.length, 12, "state after re-list");
    const err = await w.error();
    assert.ok(err instanceof GoneError, `expected GoneError, got ${err}`);
    await w.close();
  } finally {
    controller.abort();
    await running;
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WatchCache started on existing history lets watchers resume from before its start", async () => {
  const t = await setup({}, async (b) => {
    await put(b, `${PODS}d/a`, pod("d", "a")); // 1
    await put(b, `${PODS}d/b`, pod("d", "b")); // 2
    await put(b, `${PODS}d/a`, pod("d", "a", { v: "2" })); // 3
  });
  try {
    assert.deepEqual(t.cache.revision, 3, "ready means caught up");
    assert.deepEqual(t.cache.get(`${PODS}d/a`)?.metadata.labels, { v: "2" }, "current state");
    const w = new Reader(t.cache, { afterRevision: 1 });
    try {
      assert.deepEqual(brief(await w.next(2)), ["ADDED d/b@2", "MODIFIED d/a@3"], "resumed");
    } finally {
      await w.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache objects are frozen and json() serialises each once", async () => {
  const t = await setup();
  try {
    const revision = await put(t.backend, `${PODS}d/a`, pod("d", "a", { x: "1" }));
    await t.cache.waitForRevision(revision);
    const obj = t.cache.get(`${PODS}d/a`)!;
    let threw = false;
    try {
      obj.metadata.labels!.x = "2";
    } catch {
      threw = true;
    }
    assert.deepEqual(threw, true, "mutating a cached object throws");
    const text = json(obj);
    assert.deepEqual(JSON.parse(text).metadata.resourceVersion, `${revision}`, "json content");
    assert.deepEqual(json(obj) === text, true, "memoised");
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache sends bookmarks to a caught-up watcher that asks for them", async () => {
  const t = await setup();
  try {
    const w = new Reader(t.cache, { afterRevision: 0, bookmarkIntervalMs: 10 });
    try {
      await put(t.backend, `${PODS}d/a`, pod("d", "a"));
      const other = await put(t.backend, `/registry/core/nodes/n`, pod("", "n"));
      await t.cache.waitForRevision(other);
      let events = await w.next(1);
      assert.deepEqual(events[0].type, "ADDED", "first the event");
      while (events[0].type !== "BOOKMARK" || events[0].revision < other) events = await w.next(1);
      assert.deepEqual(events[0].object.metadata.resourceVersion, `${other}`, "bookmark revision");
    } finally {
      await w.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache: 100 watchers each receive every one of 2,000 events", async () => {
  const t = await setup();
  try {
    const readers = Array.from({ length: 100 }, () => new Reader(t.cache, { afterRevision: 0 }));
    try {
      const received = readers.map((r) => r.next(2_000));
      for (let i = 0; i < 2_000; i++) await put(t.backend, `${PODS}d/p${i}`, pod("d", `p${i}`));
      const expected = Array.from({ length: 2_000 }, (_, i) => i + 1);
      for (const events of await Promise.all(received)) {
        assert.deepEqual(events.map((e) => e.revision), expected, "every event once, in order");
      }
    } finally {
      for (const r of readers) await r.close();
    }
  } finally {
    await t.stop();
  }
});

Deno.test("WatchCache.applyLocal() serves a write held in memory between two backend revisions", async () => {
  const t = await setup({ revisionSlots: 10 });
  try {
    const key = `${PODS}d/a`;
    const r1 = await put(t.backend, key, pod("d", "a"));
    await t.cache.waitForRevision(r1 * 10);
    assert.deepEqual(t.cache.get(key)?.metadata.resourceVersion, `${r1 * 10}`, "served as r·K");
    const w = new Reader(t.cache, { afterRevision: r1 * 10 });
    try {
      const local = t.cache.applyLocal(key, JSON.parse(pod("d", "a", { beat: "1" })));
      assert.deepEqual(local?.metadata.resourceVersion, `${r1 * 10 + 1}`, "next slot");
      assert.deepEqual(t.cache.get(key)?.metadata.labels, { beat: "1" }, "GET sees it");
      assert.deepEqual(t.cache.list().revision, r1 * 10 + 1, "LIST revision");
      assert.deepEqual((await t.backend.get(key))?.value, pod("d", "a"), "the backend does not");
      assert.deepEqual(await t.backend.currentRevision(), r1, "no backend write");
      const [event] = await w.next(1);
      assert.deepEqual(brief([event]), [`MODIFIED d/a@${r1 * 10 + 1}`], "watch sees it");
      assert.deepEqual(event.prevObject?.metadata.resourceVersion, `${r1 * 10}`, "prevObject");
      assert.deepEqual(
        t.cache.applyLocal(`${PODS}d/missing`, JSON.parse(pod("d", "missing"))),
        undefined,
        "only an existing key",
      );
      // Slots 2…9 remain; the tenth local write would take the next backend revision's number.
      for (let i = 2; i <= 9; i++) {
        const o = t.cache.applyLocal(key, JSON.parse(pod("d", "a", { beat: `${i}` })));
        assert.deepEqual(o?.metadata.resourceVersion, `${r1 * 10 + i}`, `slot ${i}`);
      }
      assert.deepEqual(
        t.cache.applyLocal(key, JSON.parse(pod("d", "a", { beat: "10" }))),
        undefined,
        "no slot left",
      );
      assert.deepEqual((await w.next(8)).length, 8, "every local write is an event");
      // A backend write of the key replaces the local object and is served above it.
      const r2 = await put(t.backend, key, pod("d", "a", { v: "stored" }));
      await t.cache.waitForRevision(r2 * 10);
      assert.deepEqual(brief(await w.next(1)), [`MODIFIED d/a@${r2 * 10}`], "backend write after");
      assert.deepEqual(t.cache.get(key)?.metadata.labels, { v: "stored" }, "backend value wins");
    } finally {
      await w.close();
    }
  } finally {
    await t.stop();
  }
});
