import assert from "node:assert/strict";
import { Pod } from "../api/core_v1.ts";
import type { KubeObject } from "../api/object.ts";
import { PODS, REPLICASETS } from "../client/refs.ts";
import { ConflictError, isNotFound } from "../errors.ts";
import { parseSelector } from "../labels.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "./mod.ts";

// Fixtures go through the schema, so they carry the defaults a stored object has.
const pod = (ns: string, name: string, labels: Record<string, string> = {}): Pod =>
  Pod.parse({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: ns, name, labels },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  });

Deno.test("FakeLister gets, lists by namespace and selector, and indexes like an informer", () => {
  const lister = new FakeLister([pod("a", "x", { app: "web" }), pod("a", "y"), pod("b", "z")]);
  assert.equal(lister.get("a/x")?.metadata.name, "x");
  assert.equal(lister.get("a/nope"), undefined);
  assert.deepEqual(lister.listNamespace("a").map((p) => p.metadata.name), ["x", "y"]);
  const web = parseSelector("app=web");
  assert.deepEqual(lister.listNamespace("a", web).map((p) => p.metadata.name), ["x"]);
  assert.deepEqual(lister.list(web).map((p) => p.metadata.name), ["x"]);
  lister.addIndexer("app", (p) => [p.metadata.labels?.app ?? ""]);
  assert.deepEqual(lister.byIndex("app", "web").map((p) => p.metadata.name), ["x"]);
  assert.throws(() => lister.byIndex("nope", "x"), /no such indexer/);
  lister.delete("a/x");
  assert.deepEqual(lister.byIndex("app", "web"), []);
});

Deno.test("RecordingClient records calls in order and answers from its tracker", async () => {
  const client = new RecordingClient();
  const created = await client.create(PODS, {
    metadata: { generateName: "web-", namespace: "d" },
  } as KubeObject);
  assert.match(created.metadata.name!, /^web-/);
  assert.ok(created.metadata.uid);
  const got = await client.get(PODS, created.metadata.name!, { namespace: "d" });
  assert.equal(got.metadata.uid, created.metadata.uid);
  await client.patch(PODS, created.metadata.name!, { metadata: { labels: { a: "1" } } }, {
    namespace: "d",
    type: "merge",
  });
  assert.deepEqual(client.tracked(PODS, `d/${created.metadata.name}`)?.metadata.labels, { a: "1" });
  await client.updateStatus(REPLICASETS, { metadata: { namespace: "d", name: "rs" }, status: {} });
  await client.delete(PODS, created.metadata.name!, { namespace: "d" });
  await assert.rejects(client.get(PODS, created.metadata.name!, { namespace: "d" }), isNotFound);
  assert.deepEqual(client.actions(), [
    "create pods d",
    `patch pods d/${created.metadata.name}`,
    "update/status replicasets d/rs",
    `delete pods d/${created.metadata.name}`,
  ]);
  assert.equal(client.calls.filter((c) => c.verb === "get").length, 2);
});

Deno.test("RecordingClient reactors answer or fail before the tracker, newest first", async () => {
  const client = new RecordingClient();
  client.on("get", "pods", () => pod("d", "from-reactor"));
  client.fail("update", "*", new ConflictError({ resource: "pods", name: "p" }, "stale"));
  assert.equal((await client.get(PODS, "p", { namespace: "d" })).metadata.name, "from-reactor");
  await assert.rejects(client.update(PODS, pod("d", "p")), /stale/);
  // fail() fails `times` calls only.
  await client.update(PODS, pod("d", "p"));
  assert.deepEqual(client.bodies<Pod>("update", "pods").map((p) => p.metadata.name), ["p", "p"]);
});

Deno.test("FakeRecorder and FakeClock", () => {
  const recorder = new FakeRecorder();
  recorder.record(pod("d", "p"), "Normal", "Created", "made it");
  assert.deepEqual(recorder.events, [
    { object: "d/p", type: "Normal", reason: "Created", message: "made it" },
  ]);
  const clock = new FakeClock("2026-01-01T00:00:00Z");
  clock.advance(1500);
  assert.equal(clock.iso(), "2026-01-01T00:00:01Z");
});
