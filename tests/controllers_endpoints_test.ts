/**
 * The endpoints controller against the real server with hollow nodes: backends are pod IP +
 * targetPort resolved against the pod (named targetPorts through the pod's container ports,
 * numbers as given even when undeclared), grouped into subsets by port, ready and not-ready
 * addresses follow readiness, EndpointSlices mirror them, and selector-less Services
 * keep hand-written Endpoints.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { DEPLOYMENTS, ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES } from "../shared/client/refs.ts";
import { isNotFound } from "../shared/errors.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

interface Address {
  ip: string;
  nodeName: string;
  targetRef: { name: string };
}
interface Subset {
  addresses?: Address[];
  notReadyAddresses?: Address[];
  ports: { name?: string; port: number; protocol: string }[];
}

async function subsets(client: ApiClient, name: string): Promise<Subset[]> {
  try {
    return (await client.get(ENDPOINTS, name, { namespace: "default" })).subsets ?? [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** `podName → "ip:port"` of ready (or not-ready) addresses. */
function backends(s: Subset[], ready: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const subset of s) {
    for (const a of (ready ? subset.addresses : subset.notReadyAddresses) ?? []) {
      out.set(a.targetRef.name, `${a.ip}:${subset.ports[0].port}`);
    }
  }
  return out;
}

Deno.test("Endpoints list pod IP + resolved targetPort per pod and follow readiness", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 2 });
  try {
    await client.create(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80, targetPort: "http" },
          // A number the pods do not declare: used as given, as Kubernetes does.
          { name: "admin", port: 81, targetPort: 9090 },
        ],
      },
    });
    await client.create(DEPLOYMENTS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [{
              name: "c",
              image: "busybox",
              ports: [{ name: "http", containerPort: 8080 }],
            }],
          },
        },
      },
    });
    const ready = await waitFor("3 ready backends", async () => {
      const b = backends(await subsets(client, "web"), true);
      return b.size === 3 ? b : undefined;
    });
    const pods =
      (await client.list(PODS, { namespace: "default", labelSelector: "app=web" })).items;
    assert.equal(new Set(pods.map((p) => p.status.podIP)).size, 3, "one IP per pod");
    for (const p of pods) {
      assert.notEqual(p.status.podIP, p.status.hostIP);
      assert.equal(ready.get(p.metadata.name!), `${p.status.podIP}:9090`);
    }
    // Every pod serves the same ports: one subset.
    const s = await subsets(client, "web");
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.deepEqual(s[0].ports.map((p) => [p.name, p.port, p.protocol]), [
      ["admin", 9090, "TCP"],
      ["http", 8080, "TCP"],
    ]);

    // A pod turning unready moves to notReadyAddresses; back again when ready.
    const victim = pods[0].metadata.name!;
    await nodes.setReady("default", victim, false);
    await waitFor(
      "not ready",
      async () => backends(await subsets(client, "web"), false).has(victim),
    );
    assert.equal(backends(await subsets(client, "web"), true).size, 2);
    await nodes.setReady("default", victim, true);
    await waitFor(
      "ready again",
      async () => backends(await subsets(client, "web"), true).size === 3,
    );

    // EndpointSlices carry the same backends.
    const slices = await waitFor("slices", async () => {
      const list = await client.list(ENDPOINTSLICES, {
        namespace: "default",
        labelSelector: "kubernetes.io/service-name=web",
      });
      // Slices are written after the Endpoints: wait for them to show the pod ready again too.
      const all = list.items.flatMap((sl) => sl.endpoints ?? []);
      const ready = all.filter((e: { conditions?: { ready?: boolean } }) => e.conditions?.ready);
      return all.length === 3 && ready.length === 3 ? list.items : undefined;
    });
    for (const sl of slices) {
      assert.equal(sl.addressType, "IPv4");
      assert.deepEqual(sl.ports.map((p: { name: string }) => p.name), ["admin", "http"]);
      for (
        const e of sl.endpoints as {
          addresses: string[];
          conditions: { ready: boolean };
          targetRef: { name: string };
        }[]
      ) {
        assert.equal(`${e.addresses[0]}:${sl.ports[0].port}`, ready.get(e.targetRef.name));
        assert.equal(e.conditions.ready, true);
      }
    }

    // Deleting the service removes its Endpoints.
    await client.delete(SERVICES, "web", { namespace: "default" });
    await waitFor("endpoints gone", async () => {
      try {
        await client.get(ENDPOINTS, "web", { namespace: "default" });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("a Service without a selector keeps its hand-written Endpoints", async () => {
  const server = await startTestServer();
  const { client } = server;
  try {
    await client.create(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "external", namespace: "default" },
      spec: { ports: [{ port: 5432 }] },
    });
    const manual: KubeObject = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "external", namespace: "default" },
      subsets: [{ addresses: [{ ip: "127.0.0.50" }], ports: [{ port: 5432, protocol: "TCP" }] }],
    };
    await client.create(ENDPOINTS, manual);
    // Touch the service so the controller certainly looks at it.
    await client.patch(SERVICES, "external", { metadata: { labels: { touched: "yes" } } }, {
      namespace: "default",
      type: "merge",
    });
    // Positive signal first: a Service created after the touch gets its Endpoints. Informer
    // events arrive in resourceVersion order and the work queue is FIFO, so by then the
    // controller has taken "external" off the queue too.
    await client.create(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "marker", namespace: "default" },
      spec: { selector: { app: "marker" }, ports: [{ port: 80 }] },
    });
    await waitFor("the marker Service's Endpoints", async () => {
      try {
        return await client.get(ENDPOINTS, "marker", { namespace: "default" });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
    const ep = await client.get(ENDPOINTS, "external", { namespace: "default" });
    assert.deepEqual(ep.subsets, manual.subsets);
  } finally {
    await server.stop();
  }
});
