/**
 * Heartbeats held in memory (heartbeat_buffer.ts through a ResourceStore of Leases), on SQLite
 * and, where an `etcd` binary is on PATH, on etcd: a renewal is served by GET, LIST and WATCH
 * without a write to the store; other changes are written at once and carry it; the latest
 * renewal is written once per interval and at shutdown; after a restart resourceVersions keep
 * rising.
 */
import type { Backend } from "../store/backend.ts";
import { SqliteBackend } from "../store/sqlite_backend.ts";
import { EtcdBackend } from "../store/etcd_backend.ts";
import type { CacheEvent } from "../store/watch_cache.ts";
import { ResourceStore } from "./resource_store.ts";
import { isLeaseRenewal, isNodeHeartbeat, isNodeLeaseRenewal } from "./heartbeat_changes.ts";
import { findResource } from "../../shared/api/resources.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { ConflictError } from "../../shared/errors.ts";
import { silentLogger } from "../../shared/log.ts";
import { FakeClock } from "../../shared/testing/fake_clock.ts";
import { findEtcd, startEtcd } from "../../tests/etcd_process.ts";

const LEASES = findResource("coordination.k8s.io", "v1", "leases")!;
const NS = "kube-node-lease";
const INTERVAL = 60_000;

function assertEquals(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function lease(name: string, renewTime: string, holder = name): KubeObject {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: { holderIdentity: holder, leaseDurationSeconds: 40, renewTime },
  };
}

/** A store on which backends: opens (and reopens, as a restarted server does) one backend. */
interface BackendKind {
  name: string;
  ignore: boolean;
  /** Returns an opener for one store and a cleanup for when the test is done. */
  start(): Promise<{ open(): Promise<Backend>; cleanup(): Promise<void> }>;
}

const etcdBinary = findEtcd();
const BACKENDS: BackendKind[] = [
  {
    name: "SQLite",
    ignore: false,
    async start() {
      const dir = await Deno.makeTempDir({ prefix: "skiff_heartbeats_" });
      return {
        open: () =>
          Promise.resolve(SqliteBackend.open(`${dir}/store.db`, { synchronous: "normal" })),
        cleanup: () => Deno.remove(dir, { recursive: true }),
      };
    },
  },
  {
    name: "etcd",
    ignore: etcdBinary === null,
    async start() {
      const etcd = await startEtcd(etcdBinary!);
      return { open: () => EtcdBackend.open(etcd.endpoint), cleanup: etcd.stop };
    },
  },
];

/** A running ResourceStore of Leases holding renewals, as one server process has it. */
async function startServer(
  backend: Backend,
  options: { clock: FakeClock; writeThrough?: () => boolean },
) {
  const store = new ResourceStore(backend, LEASES, {
    logger: silentLogger,
    heartbeats: {
      isHeartbeat: isLeaseRenewal,
      clock: options.clock,
      persistIntervalMs: INTERVAL,
      writeThrough: options.writeThrough,
    },
  });
  const controller = new AbortController();
  const running = store.run(controller.signal);
  await store.cache.ready();
  return {
    store,
    /** Stops as run.ts does: the cache and sweeps stop, then (unless it crashed) a flush. */
    async stop(o: { crash?: boolean } = {}) {
      controller.abort();
      await running;
      if (!o.crash) await store.flush();
      await backend.close();
    },
  };
}

function renew(store: ResourceStore, name: string, renewTime: string, rv?: string) {
  return store.guaranteedUpdate(
    NS,
    name,
    (current) => ({ ...current, spec: { ...current.spec, renewTime } }),
    rv ? { resourceVersion: rv } : {},
  );
}

async function storedRenewTime(backend: Backend, store: ResourceStore, name: string) {
  const kv = await backend.get(store.key(NS, name));
  return kv ? JSON.parse(kv.value).spec.renewTime : undefined;
}

/** Reads `n` events of a watch, failing instead of hanging when nothing comes for 20 s. */
async function take(events: AsyncIterator<CacheEvent>, n: number): Promise<CacheEvent[]> {
  const out: CacheEvent[] = [];
  while (out.length < n) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no watch event for 20 s")), 20_000);
    });
    try {
      const r = await Promise.race([events.next(), timeout]);
      if (r.done) throw new Error("watch ended early");
      out.push(r.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return out;
}

const rv = (o: KubeObject) => Number(o.metadata.resourceVersion);

for (const kind of BACKENDS) {
  const test = (name: string, fn: (open: () => Promise<Backend>) => Promise<void>) =>
    Deno.test({
      name: `${kind.name}: ${name}${kind.ignore ? " (skipped: no `etcd` binary on PATH)" : ""}`,
      ignore: kind.ignore,
      async fn() {
        const { open, cleanup } = await kind.start();
        try {
          await fn(open);
        } finally {
          await cleanup();
        }
      },
    });

  test("a Lease renewal is served by GET, LIST and WATCH without a write to the store", async (open) => {
    const backend = await open();
    const server = await startServer(backend, { clock: new FakeClock() });
    const { store } = server;
    const watch = new AbortController();
    try {
      const created = await store.create(lease("n1", "2026-01-01T00:00:00.000000Z"));
      const events = store.watch({
        namespace: NS,
        afterRevision: rv(created),
        signal: watch.signal,
      })
        [Symbol.asyncIterator]();
      const written = await backend.currentRevision();
      const { object, changed } = await renew(store, "n1", "2026-01-01T00:00:10.000000Z");
      assert(changed, "a renewal is a change");
      assert(rv(object) > rv(created), `resourceVersion rises: ${rv(created)} → ${rv(object)}`);
      assertEquals(await backend.currentRevision(), written, "no write to the store");
      assertEquals(
        await storedRenewTime(backend, store, "n1"),
        "2026-01-01T00:00:00.000000Z",
        "the store still has the old renewal",
      );
      const got = store.get(NS, "n1");
      assertEquals(got.spec.renewTime, "2026-01-01T00:00:10.000000Z", "GET");
      assertEquals(got.metadata.resourceVersion, object.metadata.resourceVersion, "GET's rv");
      const list = store.list({ namespace: NS });
      assertEquals(
        list.items.map((o) => o.spec.renewTime),
        ["2026-01-01T00:00:10.000000Z"],
        "LIST",
      );
      assertEquals(list.revision, rv(object), "LIST's resourceVersion");
      const [event] = await take(events, 1);
      assertEquals(
        [event.type, event.object.spec.renewTime, event.object.metadata.resourceVersion],
        ["MODIFIED", "2026-01-01T00:00:10.000000Z", object.metadata.resourceVersion],
        "WATCH",
      );
      // Optimistic concurrency works on the held resourceVersion.
      let conflict: unknown;
      await renew(store, "n1", "2026-01-01T00:00:15.000000Z", created.metadata.resourceVersion)
        .catch((e) => conflict = e);
      assert(conflict instanceof ConflictError, `a stale resourceVersion conflicts: ${conflict}`);
      const next = await renew(
        store,
        "n1",
        "2026-01-01T00:00:20.000000Z",
        object.metadata.resourceVersion,
      );
      assert(rv(next.object) > rv(object), "the current resourceVersion is accepted");
      assertEquals(await backend.currentRevision(), written, "still no write");
      // Another change is written at once, with the latest renewal in it.
      const moved = await store.guaranteedUpdate(NS, "n1", (c) => ({
        ...c,
        spec: { ...c.spec, holderIdentity: "other" },
      }));
      assert(rv(moved.object) > rv(next.object), "a written change is served above held ones");
      assert(await backend.currentRevision() > written, "a new holder is written");
      assertEquals(
        await storedRenewTime(backend, store, "n1"),
        "2026-01-01T00:00:20.000000Z",
        "the write carries the held renewal",
      );
      const seen = await take(events, 2);
      assertEquals(seen.map((e) => e.object.metadata.resourceVersion), [
        next.object.metadata.resourceVersion,
        moved.object.metadata.resourceVersion,
      ], "WATCH sees each change once, in order");
    } finally {
      watch.abort();
      await server.stop();
    }
  });

  test("held renewals are written once per interval (the latest) and at shutdown", async (open) => {
    const clock = new FakeClock();
    const backend = await open();
    const server = await startServer(backend, { clock });
    const { store } = server;
    await store.create(lease("n1", "2026-01-01T00:00:00.000000Z"));
    await renew(store, "n1", "2026-01-01T00:00:10.000000Z");
    const held = await backend.currentRevision();
    await store.heartbeats!.flushDue();
    assertEquals(await backend.currentRevision(), held, "not due before the interval");
    clock.advance(INTERVAL);
    await renew(store, "n1", "2026-01-01T00:01:00.000000Z");
    assertEquals(store.heartbeats!.dirtyCount, 1, "one key held");
    await store.heartbeats!.flushDue();
    assertEquals(await backend.currentRevision(), held + 1, "one write once due");
    assertEquals(
      await storedRenewTime(backend, store, "n1"),
      "2026-01-01T00:01:00.000000Z",
      "the latest renewal is written",
    );
    assertEquals(store.heartbeats!.dirtyCount, 0, "nothing held after the write");
    const last = await renew(store, "n1", "2026-01-01T00:01:10.000000Z");
    await store.heartbeats!.flushDue();
    assertEquals(await backend.currentRevision(), held + 1, "held again until the next interval");
    await server.stop();

    // A restarted server serves what the shutdown flush wrote, above every resourceVersion served.
    const again = await startServer(await open(), { clock });
    try {
      const got = again.store.get(NS, "n1");
      assertEquals(got.spec.renewTime, "2026-01-01T00:01:10.000000Z", "written at shutdown");
      assert(rv(got) > rv(last.object), `after a restart: ${rv(last.object)} → ${rv(got)}`);
    } finally {
      await again.stop();
    }
  });

  test("after a crash, resourceVersions still rise: the first renewal is written", async (open) => {
    const clock = new FakeClock();
    const server = await startServer(await open(), { clock });
    await server.store.create(lease("n1", "2026-01-01T00:00:00.000000Z"));
    let last: KubeObject | undefined;
    for (let i = 1; i <= 3; i++) {
      last = (await renew(server.store, "n1", `2026-01-01T00:00:1${i}.000000Z`)).object;
    }
    await server.stop({ crash: true });

    const backend = await open();
    const again = await startServer(backend, { clock });
    try {
      const lost = again.store.get(NS, "n1");
      assertEquals(lost.spec.renewTime, "2026-01-01T00:00:00.000000Z", "held renewals are lost");
      const before = await backend.currentRevision();
      const first = await renew(again.store, "n1", "2026-01-01T00:01:00.000000Z");
      assert(
        await backend.currentRevision() > before,
        "the first renewal after a start is written",
      );
      assert(
        rv(first.object) > rv(last!),
        `rises over the lost ones: ${rv(last!)} → ${rv(first.object)}`,
      );
      const second = await renew(again.store, "n1", "2026-01-01T00:01:10.000000Z");
      assert(rv(second.object) > rv(first.object), "and keeps rising");
      assertEquals(await backend.currentRevision(), before + 1, "the next one is held");
    } finally {
      await again.stop();
    }
  });

  test("while writeThrough() is true renewals are written, and the sweep writes what was held", async (open) => {
    let through = false;
    const backend = await open();
    const server = await startServer(backend, {
      clock: new FakeClock(),
      writeThrough: () => through,
    });
    try {
      const { store } = server;
      await store.create(lease("n1", "2026-01-01T00:00:00.000000Z"));
      await renew(store, "n1", "2026-01-01T00:00:10.000000Z");
      const held = await backend.currentRevision();
      through = true;
      await store.heartbeats!.flushDue();
      assertEquals(await backend.currentRevision(), held + 1, "the sweep writes the held one");
      assertEquals(store.heartbeats!.dirtyCount, 0, "and holds nothing");
      await renew(store, "n1", "2026-01-01T00:00:20.000000Z");
      assertEquals(await backend.currentRevision(), held + 2, "written through");
      assertEquals(
        await storedRenewTime(backend, store, "n1"),
        "2026-01-01T00:00:20.000000Z",
        "the store has it",
      );
    } finally {
      await server.stop();
    }
  });

  test("deleting a Lease with a held renewal returns that state and forgets it", async (open) => {
    const backend = await open();
    const server = await startServer(backend, { clock: new FakeClock() });
    try {
      const { store } = server;
      await store.create(lease("n1", "2026-01-01T00:00:00.000000Z"));
      const renewed = await renew(store, "n1", "2026-01-01T00:00:10.000000Z");
      const gone = await store.delete(NS, "n1", {
        resourceVersion: renewed.object.metadata.resourceVersion,
      });
      assertEquals(gone.spec.renewTime, "2026-01-01T00:00:10.000000Z", "last state");
      assertEquals(store.find(NS, "n1"), undefined, "gone from the cache");
      assertEquals(store.heartbeats!.dirtyCount, 0, "nothing held");
      await store.heartbeats!.flush();
      assertEquals(await backend.get(store.key(NS, "n1")), null, "the flush does not revive it");
    } finally {
      await server.stop();
    }
  });
}

Deno.test("heartbeat tests: only renewTime (Leases) or lastHeartbeatTime (Nodes) may change", () => {
  const a = lease("n1", "2026-01-01T00:00:00.000000Z");
  assert(isLeaseRenewal(a, lease("n1", "2026-01-01T00:00:10.000000Z")), "renewTime only");
  assert(!isLeaseRenewal(a, lease("n1", "2026-01-01T00:00:10.000000Z", "b")), "a new holder");
  const unset = lease("n1", "2026-01-01T00:00:10.000000Z");
  unset.metadata.deletionTimestamp = undefined; // as an update leaves it: not stored
  assert(isLeaseRenewal(a, unset), "a property set to undefined is no change");
  const bumped = lease("n1", "2026-01-01T00:00:10.000000Z");
  bumped.metadata.generation = 2; // the server bumps it on every spec change
  assert(
    isLeaseRenewal({ ...a, metadata: { ...a.metadata, generation: 1 } }, bumped),
    "generation",
  );
  assert(isNodeLeaseRenewal(a, lease("n1", "2026-01-01T00:00:10.000000Z")), "in kube-node-lease");
  const elsewhere = { ...a, metadata: { ...a.metadata, namespace: "kube-system" } };
  assert(
    !isNodeLeaseRenewal(elsewhere, { ...elsewhere, spec: { ...a.spec, renewTime: "x" } }),
    "not a node Lease",
  );
  const node = (beat: string, status = "True", labels: Record<string, string> = {}) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", labels },
    status: {
      conditions: [{
        type: "Ready",
        status,
        lastHeartbeatTime: beat,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    },
  });
  assert(isNodeHeartbeat(node("t1"), node("t2")), "lastHeartbeatTime only");
  assert(!isNodeHeartbeat(node("t1"), node("t2", "False")), "a status change");
  assert(!isNodeHeartbeat(node("t1"), node("t2", "True", { a: "b" })), "a label");
});
