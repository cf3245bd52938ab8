/**
 * The service proxy with real containers: a Deployment on two simulated nodes (127.0.0.11,
 * 127.0.0.12) behind a NodePort Service, reached through the ClusterIP and through each node's
 * NodePort via the proxies the nodes embed; scaling down takes the removed pod out of rotation.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { DEPLOYMENTS, ENDPOINTS, PODS, SERVICES } from "../shared/client/refs.ts";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import { waitFor } from "./test_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One HTTP/1.0 GET on a fresh connection; returns the body, or "" on any failure. */
async function get(hostname: string, port: number): Promise<string> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname, port });
    await conn.write(encoder.encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = decoder.decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const body = text.split("\r\n\r\n")[1] ?? "";
    return text.startsWith("HTTP/1.0 200") || text.startsWith("HTTP/1.1 200") ? body.trim() : "";
  } catch {
    return "";
  } finally {
    conn?.close();
  }
}

function countBy(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** A Deployment of `replicas` pods serving their hostname, behind a NodePort Service. */
async function deployWho(cluster: TestCluster, replicas: number): Promise<KubeObject> {
  const { client } = cluster.server;
  const labels = { app: "who" };
  await client.create(DEPLOYMENTS, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "who", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "web",
            image: cluster.images.busybox,
            imagePullPolicy: "Never",
            // Each pod serves its own hostname, so the test can tell backends apart.
            command: [
              "sh",
              "-c",
              "mkdir -p /tmp/w && hostname > /tmp/w/index.html && " +
              "exec httpd -f -p 8080 -h /tmp/w",
            ],
            ports: [{ name: "http", containerPort: 8080 }],
          }],
        },
      },
    },
  });
  const svc = await client.create<KubeObject>(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "who", namespace: "default" },
    spec: {
      type: "NodePort",
      selector: labels,
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  });
  return svc;
}

/** Waits until the Service's Endpoints list `count` addresses and all of them answer. */
async function waitForBackends(cluster: TestCluster, clusterIP: string, count: number) {
  await waitFor(`${count} ready endpoints`, async () => {
    const ep = await cluster.server.client.get(ENDPOINTS, "who", { namespace: "default" })
      .catch(() => null);
    const ips = (ep?.subsets ?? []).flatMap((s: { addresses?: { ip: string }[] }) =>
      (s.addresses ?? []).map((a) => a.ip)
    );
    return ips.length === count;
  }, { timeoutMs: 90_000, intervalMs: 250 });
  // The proxies see the Endpoints a moment later; wait until every pod answers.
  const seen = new Set<string>();
  await waitFor(`all ${count} pods answer through the ClusterIP`, async () => {
    seen.add(await get(clusterIP, 80));
    seen.delete("");
    return seen.size === count;
  }, { timeoutMs: 30_000, intervalMs: 20 });
}

Deno.test({
  name: "proxy with containers: a Deployment on 2 nodes answers round robin on its ClusterIP " +
    "and every node's NodePort, and a scale-down takes a pod out of rotation",
  async fn() {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const { client } = cluster.server;
    try {
      const svc = await deployWho(cluster, 3);
      const clusterIP: string = svc.spec.clusterIP;
      const nodePort: number = svc.spec.ports[0].nodePort;

      await waitForBackends(cluster, clusterIP, 3);
      const ep = await client.get(ENDPOINTS, "who", { namespace: "default" });
      const nodeNames = (ep.subsets ?? []).flatMap((s: { addresses?: { nodeName: string }[] }) =>
        (s.addresses ?? []).map((a) => a.nodeName)
      );
      deepStrictEqual(new Set(nodeNames).size, 2, "pods on both nodes");

      const names: string[] = [];
      for (let i = 0; i < 30; i++) names.push(await get(clusterIP, 80));
      ok(!names.includes(""), `every request answered: ${names}`);
      deepStrictEqual(Object.values(countBy(names)), [10, 10, 10], "round robin over 3 pods");

      for (const node of cluster.nodes) {
        const viaNode: string[] = [];
        for (let i = 0; i < 6; i++) viaNode.push(await get(node.address, nodePort));
        deepStrictEqual(
          Object.values(countBy(viaNode)),
          [2, 2, 2],
          `NodePort on ${node.address}: ${viaNode}`,
        );
      }

      // Scale down to 2 while a client keeps calling. A pod being deleted goes not-ready (out
      // of the Endpoints) while its container is being stopped, so a few calls in that window
      // may race; once the proxies have the new Endpoints, none may fail.
      let calls = 0;
      let stop = false;
      const caller = (async () => {
        while (!stop && calls < 5_000) {
          calls++;
          await get(clusterIP, 80);
        }
      })();
      const dep = await client.get(DEPLOYMENTS, "who", { namespace: "default" });
      dep.spec.replicas = 2;
      await client.update(DEPLOYMENTS, dep);
      await waitFor("2 pods left", async () => {
        const pods = await client.list(PODS, { namespace: "default", labelSelector: "app=who" });
        return pods.items.length === 2;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      await waitFor("2 ready endpoints", async () => {
        const ep = await client.get(ENDPOINTS, "who", { namespace: "default" });
        return (ep.subsets ?? []).flatMap((s: { addresses?: unknown[] }) => s.addresses ?? [])
          .length === 2;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      stop = true;
      await caller;
      ok(calls > 0);
      await waitFor("only the 2 remaining pods answer", async () => {
        const round = new Set<string>();
        for (let i = 0; i < 6; i++) round.add(await get(clusterIP, 80));
        return round.size === 2 && !round.has("");
      }, { timeoutMs: 30_000, intervalMs: 100 });
      const after: string[] = [];
      for (let i = 0; i < 30; i++) after.push(await get(clusterIP, 80));
      ok(!after.includes(""), `no failed request after the change: ${after}`);
      deepStrictEqual(Object.values(countBy(after)), [15, 15]);
    } finally {
      await client.delete(DEPLOYMENTS, "who", { namespace: "default" }).catch(() => {});
      await cluster.stop();
    }
  },
});

async function docker(args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`docker ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout).trim();
}

Deno.test({
  name: "proxy with containers: a pod's container killed mid-test fails at most the first " +
    "requests that meet it; the others take its share",
  async fn() {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const { client } = cluster.server;
    try {
      const svc = await deployWho(cluster, 3);
      const clusterIP: string = svc.spec.clusterIP;
      await waitForBackends(cluster, clusterIP, 3);
      const pods = await client.list(PODS, { namespace: "default", labelSelector: "app=who" });
      const victim = pods.items[0].metadata.name!;
      const id = await docker([
        "ps",
        "-q",
        "--filter",
        `label=io.kubernetes.pod.name=${victim}`,
        "--filter",
        "label=io.skiff.kind=container",
      ]);
      ok(id, `the app container of ${victim}`);
      // The pod IP stays in the Endpoints until the agent reports the container dead, so only
      // the proxy's passive health keeps clients away until the Endpoints catch up.
      await docker(["kill", id]);
      const answers: string[] = [];
      for (let i = 0; i < 60; i++) answers.push(await get(clusterIP, 80));
      const failures = answers.filter((a) => a === "").length;
      // Plain round robin would fail about a third (20) of these.
      ok(failures <= 3, `${failures} of 60 requests failed: ${answers}`);
      ok(!answers.slice(-20).includes(""), `the last 20 all answered: ${answers.slice(-20)}`);
    } finally {
      await client.delete(DEPLOYMENTS, "who", { namespace: "default" }).catch(() => {});
      await cluster.stop();
    }
  },
});
