/**
 * Garbage collection and namespace deletion against the real server with hollow nodes: the
 * three propagation policies for a Deployment's ReplicaSets and pods, and a Terminating
 * namespace emptied and then removed.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS, REPLICASETS } from "../shared/client/refs.ts";
import { isNotFound } from "../shared/errors.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function deployment(name: string, namespace = "default"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  };
}

async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

async function readyDeployment(client: ApiClient, name: string) {
  return await waitFor(`${name} available`, async () => {
    const d = await client.get(DEPLOYMENTS, name, { namespace: "default" });
    return d.status?.availableReplicas === 2 ? d : undefined;
  });
}

async function count(client: ApiClient, name: string) {
  const rs = await client.list(REPLICASETS, { namespace: "default", labelSelector: `app=${name}` });
  const pods = await client.list(PODS, { namespace: "default", labelSelector: `app=${name}` });
  return { rs: rs.items, pods: pods.items };
}

Deno.test("deleting a Deployment cascades in Background, Foreground and Orphan modes", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 2 });
  try {
    for (const name of ["bg", "fg", "orph"]) await client.create(DEPLOYMENTS, deployment(name));
    for (const name of ["bg", "fg", "orph"]) await readyDeployment(client, name);

    // Background: the deployment goes at once, its ReplicaSets and pods after it.
    await client.delete(DEPLOYMENTS, "bg", {
      namespace: "default",
      propagationPolicy: "Background",
    });
    assert.ok(await gone(() => client.get(DEPLOYMENTS, "bg", { namespace: "default" })));
    await waitFor("bg dependents gone", async () => {
      const c = await count(client, "bg");
      return c.rs.length === 0 && c.pods.length === 0;
    });

    // Foreground: the deployment stays (with the finalizer) until its dependents are gone;
    // watches record the order of the DELETED events.
    const ac = new AbortController();
    const order: string[] = [];
    const record = async (
      r: typeof PODS,
      opts: { labelSelector?: string; fieldSelector?: string },
    ) => {
      const list = await client.list(r, { namespace: "default", ...opts });
      // Wrapped: returning the promise itself would make `await record()` wait for the watch.
      const done = (async () => {
        try {
          for await (
            const ev of client.watch(r, {
              namespace: "default",
              ...opts,
              resourceVersion: list.metadata.resourceVersion,
              signal: ac.signal,
            })
          ) {
            if (ev.type === "DELETED") order.push(`${r.kind}/${ev.object.metadata.name}`);
          }
        } catch (err) {
          if (!ac.signal.aborted) throw err;
        }
      })();
      return { done };
    };
    const watches = [
      await record(PODS, { labelSelector: "app=fg" }),
      await record(REPLICASETS, { labelSelector: "app=fg" }),
      await record(DEPLOYMENTS, { fieldSelector: "metadata.name=fg" }),
    ];
    const fg = await client.delete(DEPLOYMENTS, "fg", {
      namespace: "default",
      propagationPolicy: "Foreground",
    }) as KubeObject;
    assert.ok(fg.metadata.finalizers?.includes("foregroundDeletion"));
    try {
      await waitFor("fg deployment gone", () => order.includes("Deployment/fg"));
    } finally {
      ac.abort();
      await Promise.all(watches.map((w) => w.done));
    }
    assert.equal(order.length, 4, order.join(" "));
    assert.equal(order.at(-1), "Deployment/fg", order.join(" "));
    assert.equal(order.at(-2)?.split("/")[0], "ReplicaSet", "the ReplicaSet waits for its pods");

    // Orphan: the ReplicaSet and pods stay, without the owner reference.
    await client.delete(DEPLOYMENTS, "orph", { namespace: "default", propagationPolicy: "Orphan" });
    await waitFor(
      "orph deployment gone",
      () => gone(() => client.get(DEPLOYMENTS, "orph", { namespace: "default" })),
    );
    const c = await count(client, "orph");
    assert.equal(c.rs.length, 1);
    assert.equal(c.rs[0].metadata.ownerReferences?.length ?? 0, 0);
    assert.equal(c.pods.filter((p) => !p.metadata.deletionTimestamp).length, 2);
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("a deleted namespace is emptied, then removed", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1 });
  try {
    await client.create(NAMESPACES, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team" },
    });
    await client.create(DEPLOYMENTS, deployment("app", "team"));
    await client.create(CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: "team" },
    });
    await waitFor("pods running", async () => {
      const pods = await client.list(PODS, { namespace: "team" });
      return pods.items.length === 2 && pods.items.every((p) => p.status?.phase === "Running");
    });
    // The delete answers with the namespace as it is then: Terminating (the controller may empty
    // and remove it before any later read).
    const ns = await client.delete(NAMESPACES, "team") as { status?: { phase?: string } };
    assert.equal(ns.status?.phase, "Terminating");
    await waitFor("namespace gone", () => gone(() => client.get(NAMESPACES, "team")), {
      timeoutMs: 30_000,
    });
    assert.equal((await client.list(PODS, { namespace: "team" })).items.length, 0);
    assert.equal((await client.list(CONFIGMAPS, { namespace: "team" })).items.length, 0);
  } finally {
    await nodes.stop();
    await server.stop();
  }
});
