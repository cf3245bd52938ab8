/**
 * The StatefulSet controller against the real server, scheduler, garbage collector and hollow
 * nodes: one PersistentVolumeClaim per ordinal from `volumeClaimTemplates`, created before the
 * pod and kept when the pod is deleted and re-created; `persistentVolumeClaimRetentionPolicy`
 * Retain and Delete on scale-down and on deletion of the set.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { PERSISTENT_VOLUME_CLAIMS, PODS, STATEFULSETS } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function web(policy: { whenDeleted: string; whenScaled: string }): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "nginx" } },
      serviceName: "nginx",
      replicas: 3,
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          containers: [{
            name: "nginx",
            image: "nginx:1",
            volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }],
          }],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: "www" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      }],
      persistentVolumeClaimRetentionPolicy: policy,
    },
  };
}

async function names(client: ApiClient, r: typeof PODS): Promise<string> {
  const list = await client.list(r, { namespace: "default" });
  return list.items.filter((o) => !o.metadata.deletionTimestamp).map((o) => o.metadata.name)
    .sort().join(",");
}

Deno.test("StatefulSet claims follow volumeClaimTemplates and the retention policy", async () => {
  const server = await startTestServer();
  const client = server.client;
  const hollow = await startHollowNodes(client, {
    count: 2,
    prefix: `sts${crypto.randomUUID().slice(0, 4)}`,
  });
  try {
    await client.create(STATEFULSETS, web({ whenDeleted: "Retain", whenScaled: "Retain" }));
    await waitFor("three ready pods", async () => {
      const s = (await client.get(STATEFULSETS, "web", { namespace: "default" })).status;
      return s.readyReplicas === 3 && s.currentReplicas === 3;
    }, { timeoutMs: 20_000 });
    assert.equal(await names(client, PERSISTENT_VOLUME_CLAIMS), "www-web-0,www-web-1,www-web-2");
    const pod = await client.get(PODS, "web-1", { namespace: "default" });
    assert.deepEqual(
      pod.spec.volumes.find((v: { name: string }) => v.name === "www"),
      { name: "www", persistentVolumeClaim: { claimName: "www-web-1" } },
    );
    const claim = await client.get(PERSISTENT_VOLUME_CLAIMS, "www-web-1", {
      namespace: "default",
    });
    assert.deepEqual(claim.metadata.labels, { app: "nginx" });

    // The pod goes and comes back; its claim is the same object.
    await client.delete(PODS, "web-1", { namespace: "default" });
    await waitFor("web-1 re-created", async () => {
      const p = await client.get(PODS, "web-1", { namespace: "default" });
      return p.metadata.uid !== pod.metadata.uid && p.status?.phase === "Running";
    });
    const again = await client.get(PERSISTENT_VOLUME_CLAIMS, "www-web-1", {
      namespace: "default",
    });
    assert.equal(again.metadata.uid, claim.metadata.uid);

    // Retain: scaling down keeps the claims.
    await client.patch(STATEFULSETS, "web", { spec: { replicas: 2 } }, {
      namespace: "default",
      type: "merge",
    });
    await waitFor("web-2 gone", async () => (await names(client, PODS)) === "web-0,web-1");
    assert.equal(await names(client, PERSISTENT_VOLUME_CLAIMS), "www-web-0,www-web-1,www-web-2");

    // whenScaled: Delete — the condemned pod owns its claim, which goes with it.
    await client.patch(STATEFULSETS, "web", {
      spec: {
        replicas: 1,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
      },
    }, { namespace: "default", type: "merge" });
    await waitFor(
      "www-web-1 deleted with web-1",
      async () => (await names(client, PERSISTENT_VOLUME_CLAIMS)) === "www-web-0,www-web-2",
      { timeoutMs: 20_000 },
    );
    assert.equal(await names(client, PODS), "web-0");

    // whenDeleted: Delete — the set owns the claims of its live ordinals.
    await waitFor("www-web-0 owned by the set", async () => {
      const c = await client.get(PERSISTENT_VOLUME_CLAIMS, "www-web-0", { namespace: "default" });
      return c.metadata.ownerReferences?.some((r: { kind: string }) => r.kind === "StatefulSet");
    });
    await client.delete(STATEFULSETS, "web", { namespace: "default" });
    await waitFor(
      "the set's claim gone, the retained one kept",
      async () => (await names(client, PERSISTENT_VOLUME_CLAIMS)) === "www-web-2",
      { timeoutMs: 20_000 },
    );
  } finally {
    await hollow.stop();
    await server.stop();
  }
});
