/** The EventRecorder against the real server: repeats aggregate into one Event with a count. */
import assert from "node:assert/strict";
import { EventRecorder } from "../shared/events.ts";
import { CONFIGMAPS, EVENTS } from "../shared/client/refs.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { startTestServer } from "./test_utils.ts";

Deno.test("EventRecorder aggregates repeats by bumping count and lastTimestamp", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    const { client } = server;
    const cm = await client.create<KubeObject>(CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", namespace: "default" },
    });
    const recorder = new EventRecorder(client, { component: "test-controller" });
    for (let i = 0; i < 3; i++) recorder.record(cm, "Warning", "BadThing", "it broke");
    recorder.record(cm, "Normal", "GoodThing", "it works");
    await recorder.flush();
    const events = (await client.list(EVENTS, { namespace: "default" })).items;
    const bad = events.filter((e) => e.reason === "BadThing");
    assert.equal(bad.length, 1);
    assert.equal(bad[0].count, 3);
    assert.equal(bad[0].type, "Warning");
    assert.equal(bad[0].message, "it broke");
    assert.deepEqual(bad[0].source, { component: "test-controller" });
    assert.equal(bad[0].involvedObject.kind, "ConfigMap");
    assert.equal(bad[0].involvedObject.uid, cm.metadata.uid);
    assert.equal(events.filter((e) => e.reason === "GoodThing")[0].count, 1);
  } finally {
    await server.stop();
  }
});
