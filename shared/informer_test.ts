import assert from "node:assert/strict";
import { until } from "./_until_test_util.ts";
import type { KubeObject } from "./api/object.ts";
import { ApiClient } from "./client/client.ts";
import { type MiniApiServer, startMiniApiServer } from "./client/_mini_api_server_test_util.ts";
import { PODS } from "./client/refs.ts";
import { Informer } from "./informer.ts";

const pod = (name: string, nodeName = "", namespace = "default"): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels: { app: name } },
  spec: { nodeName },
});

/** Runs an informer on a fixture server, recording handler calls as `add:ns/name` etc. */
async function withInformer(
  fn: (ctx: { server: MiniApiServer; informer: Informer; events: string[] }) => Promise<void>,
  setup: (server: MiniApiServer) => void = () => {},
) {
  const server = startMiniApiServer();
  setup(server);
  const client = new ApiClient({ server: server.url });
  const informer = new Informer(client, PODS, {
    pageSize: 2,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  const events: string[] = [];
  const name = (o: KubeObject) => o.metadata.name;
  informer.addEventHandler({
    onAdd: (o) => events.push(`add:${name(o)}`),
    onUpdate: (a, b) =>
      events.push(`update:${name(a)}:${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete:${name(o)}`),
  });
  const ac = new AbortController();
  const running = informer.run(ac.signal);
  try {
    await fn({ server, informer, events });
  } finally {
    ac.abort();
    await running;
    await server.stop();
  }
}

Deno.test("Informer lists every page, syncs, then delivers watch events in order", async () => {
  await withInformer(async ({ server, informer, events }) => {
    const ac = new AbortController();
    assert.ok(await informer.waitForSync(ac.signal));
    assert.ok(informer.hasSynced());
    assert.deepEqual(informer.list().map((p) => p.metadata.name).sort(), ["a", "b", "c"]);
    assert.deepEqual(events.sort(), ["add:a", "add:b", "add:c"]);
    events.length = 0;
    const a = informer.get("default/a")!;
    server.put({ ...a, metadata: { ...a.metadata, labels: { app: "changed" } } });
    server.remove("default", "b");
    server.put(pod("d"));
    await until("3 events", () => events.length === 3);
    assert.deepEqual(events, [`update:a:${a.metadata.resourceVersion}->14`, "delete:b", "add:d"]);
    assert.deepEqual(informer.get("default/a")?.metadata.labels, { app: "changed" });
    assert.equal(informer.get("default/b"), undefined);
    assert.equal(informer.lastSyncResourceVersion, "16");
    // The watch started from the LIST's version with bookmarks.
    assert.equal(server.watchRequests[0].get("resourceVersion"), "13");
    assert.equal(server.watchRequests[0].get("allowWatchBookmarks"), "true");
  }, (server) => ["a", "b", "c"].forEach((n) => server.put(pod(n))));
});

Deno.test("Informer re-watches from the last seen version when the server ends the watch", async () => {
  await withInformer(async ({ server, informer, events }) => {
    await informer.waitForSync(new AbortController().signal);
    server.put(pod("a"));
    await until("add:a", () => events.includes("add:a"));
    await until("watch open", () => server.openWatches === 1);
    server.closeWatches();
    // Written while no watch is open: must arrive through the resumed watch, exactly once.
    server.put(pod("b"));
    await until("add:b", () => events.includes("add:b"));
    server.put(pod("c"));
    await until("add:c", () => events.includes("add:c"));
    assert.deepEqual(events, ["add:a", "add:b", "add:c"]);
    assert.equal(server.watchRequests.length, 2);
    assert.equal(server.watchRequests[1].get("resourceVersion"), "11");
  });
});

Deno.test("Informer follows bookmarks so a resumed watch starts from the bookmark's version", async () => {
  await withInformer(async ({ server, informer }) => {
    await informer.waitForSync(new AbortController().signal);
    await until("watch open", () => server.openWatches === 1);
    server.put(pod("other", "", "elsewhere"));
    server.remove("elsewhere", "other");
    server.bookmark();
    await until("bookmark seen", () => informer.lastSyncResourceVersion === "12");
    server.closeWatches();
    await until("second watch", () => server.watchRequests.length === 2);
    assert.equal(server.watchRequests[1].get("resourceVersion"), "12");
  });
});

Deno.test("Informer re-lists on 410 Gone and emits the missed changes as a diff", async () => {
  await withInformer(async ({ server, informer, events }) => {
    await informer.waitForSync(new AbortController().signal);
    await until("watch open", () => server.openWatches === 1);
    events.length = 0;
    server.closeWatches();
    // While disconnected: keep, change, delete and add objects, then forget that history.
    const b = informer.get("default/b")!;
    server.put({ ...b, metadata: { ...b.metadata, labels: { app: "b2" } } });
    server.remove("default", "c");
    server.put(pod("d"));
    server.compact();
    await until("diff delivered", () => events.length === 3);
    assert.deepEqual(events.sort(), [
      "add:d",
      "delete:c",
      `update:b:${b.metadata.resourceVersion}->14`,
    ]);
    assert.deepEqual(informer.keys().sort(), ["default/a", "default/b", "default/d"]);
    // After the re-list the informer watches again from the new list's version.
    await until("watch reopened", () => server.openWatches === 1);
    server.put(pod("e"));
    await until("add:e", () => events.includes("add:e"));
  }, (server) => ["a", "b", "c"].forEach((n) => server.put(pod(n))));
});

Deno.test("Informer backs off and retries when the LIST fails", async () => {
  await withInformer(async ({ informer, events }) => {
    assert.ok(await informer.waitForSync(new AbortController().signal));
    assert.deepEqual(events, ["add:a"]);
  }, (server) => {
    server.put(pod("a"));
    server.failNext(
      500,
      JSON.stringify({ kind: "Status", code: 500, reason: "InternalError", message: "boom" }),
    );
  });
});

Deno.test("Informer indexers find objects by computed values and follow changes", async () => {
  await withInformer(async ({ server, informer, events }) => {
    informer.addIndexer("nodeName", (p) => [p.spec?.nodeName ?? ""]);
    await informer.waitForSync(new AbortController().signal);
    const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(informer.byIndex("nodeName", "n1")), ["a", "b"]);
    assert.deepEqual(names(informer.byIndex("nodeName", "n2")), ["c"]);
    assert.deepEqual(names(informer.byIndex("namespace", "default")), ["a", "b", "c"]);
    const b = informer.get("default/b")!;
    server.put({ ...b, spec: { nodeName: "n2" } });
    server.remove("default", "c");
    await until("2 events", () => events.length === 5);
    assert.deepEqual(names(informer.byIndex("nodeName", "n1")), ["a"]);
    assert.deepEqual(names(informer.byIndex("nodeName", "n2")), ["b"]);
    assert.deepEqual(informer.byIndex("nodeName", "nowhere"), []);
    // A second controller sharing the informer may add the same index: the first one stays.
    informer.addIndexer("nodeName", () => ["other"]);
    assert.deepEqual(names(informer.byIndex("nodeName", "n1")), ["a"]);
  }, (server) => {
    server.put(pod("a", "n1"));
    server.put(pod("b", "n1"));
    server.put(pod("c", "n2"));
  });
});

Deno.test("Informer replays the cache to a handler added after sync and survives a throwing handler", async () => {
  await withInformer(async ({ server, informer, events }) => {
    await informer.waitForSync(new AbortController().signal);
    informer.onAdd(() => {
      throw new Error("handler bug");
    });
    const late: string[] = [];
    informer.onAdd((o) => late.push(o.metadata.name!));
    assert.deepEqual(late, ["a"]);
    server.put(pod("b"));
    await until("add:b", () => events.includes("add:b"));
    assert.deepEqual(late, ["a", "b"]);
  }, (server) => server.put(pod("a")));
});

Deno.test("Informer resync re-delivers cached objects as updates", async () => {
  const server = startMiniApiServer();
  server.put(pod("a"));
  const informer = new Informer(new ApiClient({ server: server.url }), PODS, { resyncMs: 10 });
  const updates: string[] = [];
  informer.onUpdate((a, b) => {
    if (a === b) updates.push(a.metadata.name!);
  });
  const ac = new AbortController();
  const running = informer.run(ac.signal);
  try {
    await until("2 resyncs", () => updates.length >= 2);
    assert.deepEqual(updates.slice(0, 2), ["a", "a"]);
  } finally {
    ac.abort();
    await running;
    await server.stop();
  }
});

Deno.test("Informer.waitForSync() resolves false when aborted before the first list", async () => {
  const server = startMiniApiServer();
  const informer = new Informer(new ApiClient({ server: server.url }), PODS);
  const ac = new AbortController();
  const waiting = informer.waitForSync(ac.signal);
  ac.abort();
  assert.equal(await waiting, false);
  assert.equal(informer.hasSynced(), false);
  await server.stop();
});
