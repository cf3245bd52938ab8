/**
 * ReplicaSet and ReplicationController controllers against the real server with hollow nodes:
 * replica count, adoption of orphans, release of pods that stop matching, scale-down order and
 * status fields.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { EVENTS, PODS, REPLICASETS, REPLICATION_CONTROLLERS } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function replicaSet(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: "web" } },
        spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

async function activePods(client: ApiClient, selector: string): Promise<KubeObject[]> {
  const list = await client.list(PODS, { namespace: "default", labelSelector: selector });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

Deno.test("a ReplicaSet keeps its replicas, adopts orphans, releases non-matching pods and reports status", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 2 });
  try {
    // An orphan that matches is adopted instead of creating a third pod.
    await client.create(PODS, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "orphan", namespace: "default", labels: { app: "web", tier: "web" } },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    const rs = await client.create<KubeObject>(REPLICASETS, replicaSet("web", 3));
    const status = await waitFor("3 ready replicas", async () => {
      const cur = await client.get(REPLICASETS, "web", { namespace: "default" });
      const s = cur.status ?? {};
      return s.readyReplicas === 3 && s.availableReplicas === 3 ? s : undefined;
    });
    assert.equal(status.replicas, 3);
    assert.equal(status.fullyLabeledReplicas, 3);
    assert.equal(status.observedGeneration, 1);
    const pods = await activePods(client, "app=web");
    assert.equal(pods.length, 3);
    for (const p of pods) {
      const ref = p.metadata.ownerReferences?.find((r) => r.controller);
      assert.equal(ref?.uid, rs.metadata.uid);
      assert.equal(ref?.kind, "ReplicaSet");
    }
    assert.ok(pods.some((p) => p.metadata.name === "orphan"));
    const events = await client.list(EVENTS, { namespace: "default" });
    assert.ok(
      events.items.some((e) =>
        e.reason === "SuccessfulCreate" && /^Created pod: web-/.test(e.message)
      ),
    );

    // A pod relabelled out of the selector is released and replaced.
    await client.patch(PODS, "orphan", { metadata: { labels: { app: "gone" } } }, {
      namespace: "default",
      type: "merge",
    });
    await waitFor("orphan released", async () => {
      const p = await client.get(PODS, "orphan", { namespace: "default" });
      return (p.metadata.ownerReferences ?? []).length === 0;
    });
    await waitFor("replacement", async () => (await activePods(client, "app=web")).length === 3);

    // Scale down removes the not-ready pod first.
    const current = await activePods(client, "app=web");
    const victim = current[1].metadata.name!;
    await nodes.setReady("default", victim, false);
    await waitFor("ready count drops", async () => {
      const cur = await client.get(REPLICASETS, "web", { namespace: "default" });
      return cur.status?.readyReplicas === 2;
    });
    await client.patch(REPLICASETS, "web", { spec: { replicas: 2 } }, {
      namespace: "default",
      type: "merge",
    });
    const left = await waitFor("scaled to 2", async () => {
      const pods = await activePods(client, "app=web");
      return pods.length === 2 ? pods : undefined;
    });
    assert.ok(!left.some((p) => p.metadata.name === victim));
    const scaled = await waitFor("status follows", async () => {
      const cur = await client.get(REPLICASETS, "web", { namespace: "default" });
      return cur.status?.replicas === 2 && cur.status?.observedGeneration === 2
        ? cur.status
        : undefined;
    });
    assert.equal(scaled.readyReplicas, 2);
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("a ReplicationController shares the core: replicas, re-creation after a pod is deleted", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1 });
  try {
    await client.create(REPLICATION_CONTROLLERS, {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "rc", namespace: "default" },
      spec: {
        replicas: 2,
        selector: { app: "rc" },
        template: {
          metadata: { labels: { app: "rc" } },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
      },
    });
    const first = await waitFor("2 pods", async () => {
      const pods = await activePods(client, "app=rc");
      return pods.length === 2 ? pods : undefined;
    });
    assert.equal(first[0].metadata.ownerReferences?.[0].kind, "ReplicationController");
    await client.delete(PODS, first[0].metadata.name!, { namespace: "default" });
    await waitFor("re-created", async () => {
      const pods = await activePods(client, "app=rc");
      return pods.length === 2 && !pods.some((p) => p.metadata.name === first[0].metadata.name);
    });
    await waitFor("rc status", async () => {
      const rc = await client.get(REPLICATION_CONTROLLERS, "rc", { namespace: "default" });
      return rc.status?.readyReplicas === 2 && rc.status?.replicas === 2;
    });
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("availableReplicas waits minReadySeconds after readiness", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1 });
  try {
    const rs = replicaSet("slow", 2);
    rs.spec.minReadySeconds = 3;
    await client.create(REPLICASETS, rs);
    const first = await waitFor("2 ready", async () => {
      const cur = await client.get(REPLICASETS, "slow", { namespace: "default" });
      return cur.status?.readyReplicas === 2 ? cur.status : undefined;
    });
    assert.equal(first.availableReplicas, 0, "available before minReadySeconds passed");
    await waitFor("2 available", async () => {
      const cur = await client.get(REPLICASETS, "slow", { namespace: "default" });
      return cur.status?.availableReplicas === 2;
    });
  } finally {
    await nodes.stop();
    await server.stop();
  }
});
