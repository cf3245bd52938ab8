/**
 * Runs the backend conformance suite on EtcdBackend against a real etcd started for each test
 * (loopback ports, temp data dir). Skipped, saying so, when `etcd` is not on PATH.
 */
import { runBackendConformance } from "./backend_conformance.ts";
import { EtcdBackend } from "./etcd_backend.ts";
import { findEtcd, startEtcd } from "../../tests/etcd_process.ts";

/** Starts a one-member etcd on loopback and opens a backend on it. */
async function startEtcdBackend(binary: string) {
  const etcd = await startEtcd(binary);
  try {
    return { backend: await EtcdBackend.open(etcd.endpoint), stop: etcd.stop };
  } catch (e) {
    await etcd.stop();
    throw e;
  }
}

const etcd = findEtcd();
if (etcd) {
  runBackendConformance("etcd", async () => {
    const { backend, stop } = await startEtcdBackend(etcd);
    return {
      backend,
      cleanup: async () => {
        await backend.close();
        await stop();
      },
    };
  });
} else {
  Deno.test({
    name:
      "etcd backend conformance (skipped: no `etcd` binary on PATH; apt-get install etcd-server)",
    ignore: true,
    fn() {},
  });
}

Deno.test({
  name: "WatchCache follows an EtcdBackend: lists, applies writes, resumes from a revision",
  ignore: etcd === null,
  async fn() {
    const { WatchCache } = await import("./watch_cache.ts");
    const { backend, stop } = await startEtcdBackend(etcd!);
    const controller = new AbortController();
    try {
      const first = await backend.create("/registry/core/pods/d/a", '{"metadata":{"name":"a"}}');
      const cache = new WatchCache(backend, { prefix: "/registry/core/pods/" });
      const running = cache.run(controller.signal);
      try {
        await cache.ready();
        if (cache.list().items.length !== 1) throw new Error("initial list");
        const b = await backend.create("/registry/core/pods/d/b", '{"metadata":{"name":"b"}}');
        const other = await backend.create("/registry/core/nodes/n", '{"metadata":{"name":"n"}}');
        if (!b.ok || !other.ok || !first.ok) throw new Error("writes failed");
        await cache.waitForRevision(other.kv.modRevision);
        const names = cache.list().items.map((o) => o.metadata.name);
        if (names.join() !== "a,b") throw new Error(`list after writes: ${names}`);
        const watch = cache.watch({
          afterRevision: first.kv.modRevision,
          signal: controller.signal,
        });
        const fromStart = cache.watch({ afterRevision: 0, signal: controller.signal });
        const seen: string[] = [];
        for await (const event of fromStart) {
          seen.push(`${event.type} ${event.object.metadata.name}`);
          if (seen.length === 2) break;
        }
        if (seen.join() !== "ADDED a,ADDED b") throw new Error(`history: ${seen}`);
        for await (const event of watch) {
          if (event.type !== "ADDED" || event.object.metadata.name !== "b") {
            throw new Error(`unexpected event ${event.type} ${event.key}`);
          }
          break;
        }
      } finally {
        controller.abort();
        await running;
      }
    } finally {
      await backend.close();
      await stop();
    }
  },
});
