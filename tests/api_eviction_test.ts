/**
 * The eviction subresource marks the pod it evicts as kube-apiserver does: a DisruptionTarget
 * condition (EvictionByEvictionAPI) written before the graceful delete; a dry run writes nothing.
 */
import assert from "node:assert/strict";
import { PODS } from "../shared/client/refs.ts";
import { startTestServer } from "./test_utils.ts";

Deno.test("an evicted pod carries the DisruptionTarget condition while it terminates", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    const pod = (name: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      // Bound to a node that has no agent: the graceful delete stays pending.
      spec: { nodeName: "nowhere", containers: [{ name: "c", image: "busybox" }] },
    });
    await s.client.create(PODS, pod("web"));
    await s.client.create(PODS, pod("dry"));
    const evict = (name: string, query = "") =>
      s.client.request("POST", `/api/v1/namespaces/default/pods/${name}/eviction${query}`, {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name, namespace: "default" },
        },
      });
    const r = await evict("web");
    assert.equal(r.status, 201, await r.text());
    const evicted = await s.client.get(PODS, "web", { namespace: "default" });
    assert.ok(evicted.metadata.deletionTimestamp, "deleted gracefully");
    const target = evicted.status.conditions.find((c: { type: string }) =>
      c.type === "DisruptionTarget"
    );
    assert.deepEqual(
      { status: target?.status, reason: target?.reason, message: target?.message },
      { status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting" },
    );
    // A dry run, in the query or in the Eviction's deleteOptions (`kubectl drain --dry-run=server`),
    // evicts nothing.
    const dry = await evict("dry", "?dryRun=All");
    assert.equal(dry.status, 201, await dry.text());
    const dryBody = await s.client.request(
      "POST",
      "/api/v1/namespaces/default/pods/dry/eviction",
      {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: "dry", namespace: "default" },
          deleteOptions: { dryRun: ["All"] },
        },
      },
    );
    assert.equal(dryBody.status, 201, await dryBody.text());
    const untouched = await s.client.get(PODS, "dry", { namespace: "default" });
    assert.equal(untouched.metadata.deletionTimestamp, undefined);
    assert.equal(
      (untouched.status.conditions ?? []).some((c: { type: string }) =>
        c.type === "DisruptionTarget"
      ),
      false,
    );
  } finally {
    await s.stop();
  }
});
