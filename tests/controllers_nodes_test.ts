/**
 * Node lifecycle against the real server with hollow nodes (grace and toleration shrunk through
 * the server options): a dead node becomes Unknown and tainted, its pods are evicted and
 * re-created on other nodes; the node's return removes the taints and duplicates nothing.
 * Also LoadBalancer ingress from ready nodes.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { DEPLOYMENTS, EVENTS, NODES, PODS, SERVICES } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

Deno.test("a dead node's pods move to other nodes after grace + toleration; its return duplicates nothing", async () => {
  const server = await startTestServer({
    nodeMonitorGracePeriodMs: 1500,
    podEvictionTimeoutSeconds: 1,
  });
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 3, leaseRenewMs: 300 });
  try {
    await client.create(DEPLOYMENTS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
      },
    });
    const live = async () =>
      (await client.list(PODS, { namespace: "default", labelSelector: "app=web" })).items
        .filter((p) => !p.metadata.deletionTimestamp);
    const before = await waitFor("3 running, spread", async () => {
      const pods = await live();
      const ok = pods.length === 3 && pods.every((p) => p.status?.phase === "Running") &&
        new Set(pods.map((p) => p.spec.nodeName)).size === 3;
      return ok ? pods : undefined;
    });
    // The default tolerations were added on create.
    const tol = before[0].spec.tolerations as { key: string; tolerationSeconds: number }[];
    assert.deepEqual(
      tol.map((t) => [t.key, t.tolerationSeconds]).sort(),
      [["node.kubernetes.io/not-ready", 1], ["node.kubernetes.io/unreachable", 1]],
    );

    nodes.kill("node-1");
    const node = await waitFor("node-1 Unknown and tainted", async () => {
      const n = await client.get(NODES, "node-1");
      const ready = n.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
      const taints = (n.spec?.taints ?? []) as { key: string; effect: string }[];
      return ready?.status === "Unknown" &&
          taints.some((t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute")
        ? n
        : undefined;
    });
    assert.equal(
      node.spec.taints.filter((t: { key: string }) => t.key === "node.kubernetes.io/unreachable")
        .length,
      2,
    );
    const moved = await waitFor("pods re-created on live nodes", async () => {
      const pods = await live();
      const ok = pods.length === 3 && pods.every((p) =>
        p.spec.nodeName && p.spec.nodeName !== "node-1"
      ) &&
        pods.every((p) => p.status?.phase === "Running");
      return ok ? pods : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(moved.length, 3);
    const events = await client.list(EVENTS, { namespace: "default" });
    assert.ok(events.items.some((e) => e.reason === "TaintManagerEviction"));
    assert.ok(events.items.some((e) => e.reason === "NodeNotReady"));

    // The node comes back: taints go, the evicted pod finishes terminating, no duplicates.
    await nodes.revive("node-1");
    await waitFor("taints removed", async () => {
      const n = await client.get(NODES, "node-1");
      return !(n.spec?.taints ?? []).some((t: { key: string }) =>
        t.key.startsWith("node.kubernetes.io/")
      );
    });
    await waitFor("terminating pods finished", async () => {
      const all = await client.list(PODS, { namespace: "default", labelSelector: "app=web" });
      return all.items.length === 3;
    });
    // Positive signal before judging "no duplicates": scale to 4 and wait for the fourth pod.
    // The ReplicaSet reconcile that makes it reads a cache holding every earlier pod change
    // (informer events come in order), so a duplicate would have been made by then, and shows
    // up as more than 4 pods.
    await client.patch(DEPLOYMENTS, "web", { spec: { replicas: 4 } }, {
      namespace: "default",
      type: "merge",
    });
    await waitFor("the fourth pod", async () => (await live()).length >= 4);
    const after = await live();
    assert.equal(after.length, 4);
    // The three pods from before the return are all still there (none was replaced), and no
    // duplicate was made and then scaled away.
    const names = new Set(after.map((p) => p.metadata.name));
    assert.ok(moved.every((p) => names.has(p.metadata.name)), "a pod was replaced");
    const deletes = await client.list(EVENTS, { namespace: "default" });
    assert.ok(
      !deletes.items.some((e) => e.reason === "SuccessfulDelete"),
      "a duplicate was deleted",
    );
    const n = await client.get(NODES, "node-1");
    const taintKeys = (n.spec?.taints ?? []).map((t: { key: string }) => t.key);
    assert.equal(new Set(taintKeys).size, taintKeys.length, "duplicate taints");
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("a LoadBalancer service gets ingress from externalIPs, else the ready nodes' addresses", async () => {
  const server = await startTestServer({ nodeMonitorGracePeriodMs: 1500 });
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 2, leaseRenewMs: 300 });
  try {
    const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default" },
      spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ port: 80 }], ...spec },
    });
    await client.create(SERVICES, svc("ext", { externalIPs: ["127.0.0.99"] }));
    await client.create(SERVICES, svc("lb", {}));
    const ingress = async (name: string) =>
      ((await client.get(SERVICES, name, { namespace: "default" })).status?.loadBalancer?.ingress ??
        [])
        .map((i: { ip: string }) => i.ip).join(",");
    await waitFor("ext ingress", async () => (await ingress("ext")) === "127.0.0.99");
    await waitFor("lb ingress", async () => (await ingress("lb")) === "127.0.0.11,127.0.0.12");
    nodes.kill("node-0");
    await waitFor(
      "dead node leaves the ingress",
      async () => (await ingress("lb")) === "127.0.0.12",
      {
        timeoutMs: 15_000,
      },
    );
  } finally {
    await nodes.stop();
    await server.stop();
  }
});
