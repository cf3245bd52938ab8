import assert from "node:assert/strict";
import { until } from "./_until_test_util.ts";
import { type KubeObject, objectKey } from "./api/object.ts";
import { ApiClient } from "./client/client.ts";
import { startMiniApiServer } from "./client/_mini_api_server_test_util.ts";
import { PODS } from "./client/refs.ts";
import { runController } from "./controller.ts";
import { Informer } from "./informer.ts";
import { WorkQueue } from "./work_queue.ts";

const pod = (name: string): KubeObject => ({ metadata: { name, namespace: "default" } });

Deno.test("runController() reconciles keys from informer events only after the cache synced", async () => {
  const server = startMiniApiServer();
  server.put(pod("a"));
  server.put(pod("b"));
  // The first LIST fails, so the cache stays empty for a while (the informer backs off).
  server.failNext(500, "not yet");
  const informer = new Informer(new ApiClient({ server: server.url }), PODS, {
    backoff: { initialMs: 30 },
  });
  const queue = new WorkQueue();
  queue.add("default/a");
  informer.addEventHandler({
    onAdd: (o) => queue.add(objectKey(o)),
    onUpdate: (_, o) => queue.add(objectKey(o)),
    onDelete: (o) => queue.add(objectKey(o)),
  });
  const reconciled: string[] = [];
  const syncedAtReconcile: boolean[] = [];
  const ac = new AbortController();
  const running = Promise.all([
    informer.run(ac.signal),
    runController({
      name: "test",
      queue,
      workers: 2,
      informers: [informer],
      reconcile: (key) => {
        syncedAtReconcile.push(informer.hasSynced());
        reconciled.push(`${key}:${informer.get(key) ? "present" : "gone"}`);
        return Promise.resolve();
      },
    }, ac.signal),
  ]);
  try {
    await until("initial keys", () => reconciled.length === 2);
    assert.deepEqual(reconciled.sort(), ["default/a:present", "default/b:present"]);
    assert.ok(!syncedAtReconcile.includes(false), "reconciled before the cache synced");
    server.remove("default", "a");
    await until("deleted key", () => reconciled.length === 3);
    assert.equal(reconciled[2], "default/a:gone");
  } finally {
    ac.abort();
    await running;
    await server.stop();
  }
  assert.ok(queue.shuttingDown);
});

Deno.test("runController() retries a failing key with back-off and forgets it after success", async () => {
  const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10 });
  const attempts: number[] = [];
  const ac = new AbortController();
  const running = runController({
    name: "flaky",
    queue,
    reconcile: (key) => {
      attempts.push(queue.numRequeues(key));
      if (attempts.length < 4) return Promise.reject(new Error("not yet"));
      return Promise.resolve();
    },
  }, ac.signal);
  queue.add("k");
  await until("success", () => attempts.length === 4);
  await until("forgotten", () => queue.numRequeues("k") === 0);
  assert.deepEqual(attempts, [0, 1, 2, 3]);
  ac.abort();
  await running;
});

Deno.test("runController() waits for in-flight reconciles on abort and starts no new ones", async () => {
  const queue = new WorkQueue();
  const ac = new AbortController();
  let release!: () => void;
  const started: string[] = [];
  let finished = 0;
  const running = runController({
    name: "slow",
    queue,
    reconcile: async (key) => {
      started.push(key);
      await new Promise<void>((r) => release = r);
      finished++;
    },
  }, ac.signal);
  queue.add("a");
  queue.add("b");
  await until("a started", () => started.length === 1);
  ac.abort();
  let stopped = false;
  running.then(() => stopped = true);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(stopped, false);
  release();
  await running;
  assert.deepEqual(started, ["a"]);
  assert.equal(finished, 1);
});
