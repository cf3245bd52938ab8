/**
 * The scheduler against the real server with hollow nodes: placement, kubectl-style misfit
 * messages, FailedScheduling events, taints and tolerations, selectors, spreading, retry when
 * the cluster changes (a node added, a matching pod placed for pod affinity), and other
 * schedulers' pods left alone.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { CONFIGMAPS, EVENTS, NODES, PODS } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function pod(
  name: string,
  spec: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...meta },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  };
}

function requests(cpu: string, memory: string) {
  return {
    containers: [{ name: "c", image: "busybox", resources: { requests: { cpu, memory } } }],
  };
}

async function boundNode(client: import("../shared/client/client.ts").ApiClient, name: string) {
  return await waitFor(`pod ${name} bound`, async () => {
    const p = await client.get(PODS, name, { namespace: "default" });
    return p.spec?.nodeName as string | undefined;
  });
}

Deno.test("the scheduler binds pods, explains misfits like kubectl and retries when a node is added", async () => {
  const server = await startTestServer({ nodeMonitorGracePeriodMs: 1500 });
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 3, memory: "1Gi", leaseRenewMs: 300 });
  try {
    // Two nodes die: the node lifecycle controller taints them unreachable.
    nodes.kill("node-1");
    nodes.kill("node-2");
    await waitFor("unreachable taints", async () => {
      const list = await client.list(NODES);
      return list.items.filter((n) =>
        (n.spec?.taints ?? []).some((t: { key: string; effect: string }) =>
          t.key === "node.kubernetes.io/unreachable" && t.effect === "NoSchedule"
        )
      ).length === 2;
    });
    await client.create(PODS, pod("fits", requests("100m", "512Mi")));
    assert.equal(await boundNode(client, "fits"), "node-0");
    const ev = await waitFor("Scheduled event", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      return list.items.find((e) => e.reason === "Scheduled" && e.involvedObject?.name === "fits");
    });
    assert.equal(ev.message, "Successfully assigned default/fits to node-0");

    await client.create(PODS, pod("big", requests("100m", "2Gi")));
    const cond = await waitFor("PodScheduled=False", async () => {
      const p = await client.get(PODS, "big", { namespace: "default" });
      return p.status?.conditions?.find((c: { type: string; status: string }) =>
        c.type === "PodScheduled" && c.status === "False"
      );
    });
    const message = "0/3 nodes are available: 1 Insufficient memory, " +
      "2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.";
    assert.equal(cond.reason, "Unschedulable");
    assert.equal(cond.message, message);
    const failed = await waitFor("FailedScheduling event", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      return list.items.find((e) =>
        e.reason === "FailedScheduling" && e.involvedObject?.name === "big"
      );
    });
    assert.equal(failed.message, message);
    assert.equal(failed.type, "Warning");

    // A bigger node joins: the pending pod is retried and lands there.
    const more = await startHollowNodes(client, {
      count: 1,
      prefix: "big",
      memory: "4Gi",
      addressOf: () => "127.0.0.31",
    });
    try {
      assert.equal(await boundNode(client, "big"), "big-0");
    } finally {
      await more.stop();
    }
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("the scheduler honours tolerations, nodeSelector, affinity, other schedulers, and spreads replicas", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, {
    count: 3,
    labels: (i) => ({ "kubernetes.io/arch": i === 2 ? "arm64" : "amd64", zone: `z${i}` }),
    taints: (i) => i === 1 ? [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] : [],
  });
  try {
    await client.create(PODS, pod("arm", { nodeSelector: { "kubernetes.io/arch": "arm64" } }));
    assert.equal(await boundNode(client, "arm"), "node-2");
    await client.create(
      PODS,
      pod("gpu", {
        tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{
                matchExpressions: [{ key: "zone", operator: "In", values: ["z1"] }],
              }],
            },
          },
        },
      }),
    );
    assert.equal(await boundNode(client, "gpu"), "node-1");
    await client.create(
      PODS,
      pod("nowhere", {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{
                matchExpressions: [{ key: "zone", operator: "In", values: ["z1"] }],
              }],
            },
          },
        },
      }),
    );
    const cond = await waitFor("nowhere unschedulable", async () => {
      const p = await client.get(PODS, "nowhere", { namespace: "default" });
      return p.status?.conditions?.find((c: { type: string; status: string }) =>
        c.type === "PodScheduled" && c.status === "False"
      );
    });
    assert.equal(
      cond.message,
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, " +
        "2 node(s) didn't match Pod's node affinity/selector.",
    );

    // Someone else's pod stays pending, untouched.
    await client.create(PODS, pod("other", { schedulerName: "my-scheduler" }));

    // Six replicas of one owner over the two untainted nodes: three each.
    // The owner must exist, or the garbage collector deletes the pods.
    const cm = await client.create<KubeObject>(CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owner", namespace: "default" },
    });
    const owner = {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: cm.metadata.uid!,
      controller: true,
    };
    for (let i = 0; i < 6; i++) {
      await client.create(
        PODS,
        pod(`r${i}`, {}, { labels: { app: "r" }, ownerReferences: [owner] }),
      );
    }
    const placed = await waitFor("replicas bound", async () => {
      const list = await client.list(PODS, { namespace: "default", labelSelector: "app=r" });
      const names = list.items.map((p) => p.spec?.nodeName);
      return names.length === 6 && names.every(Boolean) ? names as string[] : undefined;
    });
    assert.equal(placed.filter((n) => n === "node-0").length, 3);
    assert.equal(placed.filter((n) => n === "node-2").length, 3);
    const other = await client.get(PODS, "other", { namespace: "default" });
    assert.equal(other.spec?.nodeName, undefined);
    assert.equal(
      other.status?.conditions?.find((c: { type: string }) => c.type === "PodScheduled"),
      undefined,
    );
    // A cordoned node gets nothing new.
    await client.patch(NODES, "node-0", { spec: { unschedulable: true } }, { type: "merge" });
    await waitFor(
      "cordon seen",
      async () => (await client.get(NODES, "node-0")).spec?.unschedulable,
    );
    // Positive signal that the scheduler's cache has the cordon: a pod that only node-0 could
    // take is reported unschedulable.
    await client.create(
      PODS,
      pod("probe", { nodeSelector: { "kubernetes.io/hostname": "node-0" } }),
    );
    await waitFor("the probe pod reported unschedulable", async () => {
      const p = await client.get(PODS, "probe", { namespace: "default" });
      return p.status?.conditions?.some((c: { type: string; reason?: string }) =>
        c.type === "PodScheduled" && c.reason === "Unschedulable"
      );
    });
    await client.create(PODS, pod("after-cordon"));
    assert.equal(await boundNode(client, "after-cordon"), "node-2");
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("a pod waiting for required pod affinity is scheduled once a matching pod is placed", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, {
    count: 2,
    labels: (i) => ({ "topology.kubernetes.io/zone": `z${i}` }),
  });
  try {
    await client.create(
      PODS,
      pod("app", {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{
              labelSelector: { matchLabels: { app: "cache" } },
              topologyKey: "topology.kubernetes.io/zone",
            }],
          },
        },
      }),
    );
    const cond = await waitFor("app unschedulable", async () => {
      const p = await client.get(PODS, "app", { namespace: "default" });
      return p.status?.conditions?.find((c: { type: string; reason?: string }) =>
        c.type === "PodScheduled" && c.reason === "Unschedulable"
      );
    });
    assert.equal(
      cond.message,
      "0/2 nodes are available: 2 node(s) didn't match pod affinity rules.",
    );
    // The cache lands in z1; the waiting pod follows it there well before the 60 s sweep.
    await client.create(
      PODS,
      pod("cache", { nodeSelector: { "topology.kubernetes.io/zone": "z1" } }, {
        labels: { app: "cache" },
      }),
    );
    assert.equal(await boundNode(client, "cache"), "node-1");
    assert.equal(await boundNode(client, "app"), "node-1");
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

/** The scheduler's count of unschedulable attempts, from the server's /metrics. */
async function unschedulableAttempts(
  server: { url: string; token: string; httpClient: Deno.HttpClient },
): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${server.token}` },
    client: server.httpClient,
  });
  const text = await res.text();
  const line = text.split("\n").find((l) =>
    l.startsWith("scheduler_schedule_attempts_total{") && l.includes('result="unschedulable"')
  );
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

Deno.test("a pod waiting for memory is retried when a placed pod goes, not when one more is placed", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1, memory: "1Gi" });
  try {
    await client.create(PODS, pod("hog", requests("10m", "768Mi")));
    assert.equal(await boundNode(client, "hog"), "node-0");
    await client.create(PODS, pod("big", requests("10m", "512Mi")));
    const before = await waitFor("big unschedulable", async () => {
      const n = await unschedulableAttempts(server);
      return n > 0 ? n : undefined;
    });
    // Pods placed on the node cannot make room: NodeResourcesFit does not wake "big" for them
    // (before queueing hints every binding retried it once its 1 s back-off had passed).
    for (let i = 0; i < 3; i++) {
      await client.create(PODS, pod(`small-${i}`, requests("10m", "10Mi")));
      assert.equal(await boundNode(client, `small-${i}`), "node-0");
      await new Promise((r) => setTimeout(r, 700));
    }
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await unschedulableAttempts(server), before);
    const big = await client.get(PODS, "big", { namespace: "default" });
    assert.equal(big.spec?.nodeName, undefined);
    // The hog goes: the deletion frees its memory and "big" is retried and placed.
    await client.delete(PODS, "hog", { namespace: "default", gracePeriodSeconds: 0 });
    assert.equal(await boundNode(client, "big"), "node-0");
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("an unschedulable pod that gains the toleration it lacked is retried at once", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1 });
  try {
    const taint = { key: "dedicated", value: "edge", effect: "NoSchedule" };
    await client.patch(NODES, "node-0", { spec: { taints: [taint] } }, { type: "merge" });
    await client.create(PODS, pod("late"));
    await waitFor("late unschedulable", async () => {
      const p = await client.get(PODS, "late", { namespace: "default" });
      return p.status?.conditions?.some((c: { type: string; reason?: string }) =>
        c.type === "PodScheduled" && c.reason === "Unschedulable"
      );
    });
    // Nothing else changes in the cluster: only the pod's own update can wake it before the
    // 60 s sweep.
    // Added to the tolerations it has (DefaultTolerationSeconds gave it two), as pod updates allow.
    await client.patch(PODS, "late", [{
      op: "add",
      path: "/spec/tolerations/-",
      value: { key: "dedicated", operator: "Equal", value: "edge" },
    }], { namespace: "default", type: "json" });
    assert.equal(await boundNode(client, "late"), "node-0");
  } finally {
    await nodes.stop();
    await server.stop();
  }
});
