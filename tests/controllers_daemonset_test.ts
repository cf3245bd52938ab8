/**
 * The DaemonSet controller against the real server, scheduler and hollow nodes: one pod per
 * eligible node bound by the default scheduler, pods following nodes that join, leave and change
 * labels or taints, a rolling update that never has more than maxUnavailable nodes without an
 * available pod, status counters, and ControllerRevision history.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function daemonSet(name: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { edge: "yes" },
          containers: [{ name: "c", image: "busybox:v1" }],
        },
      },
      ...extra,
    },
  };
}

/** Live pods of `app` by node, once every one is bound. */
async function podsByNode(client: ApiClient, app: string): Promise<Map<string, KubeObject[]>> {
  const list = await client.list(PODS, { namespace: "default", labelSelector: `app=${app}` });
  const out = new Map<string, KubeObject[]>();
  for (const p of list.items) {
    if (p.metadata.deletionTimestamp) continue;
    const n = p.spec?.nodeName ?? "";
    out.set(n, [...(out.get(n) ?? []), p]);
  }
  return out;
}

async function waitForPodsOn(client: ApiClient, app: string, nodes: string[]) {
  const want = [...nodes].sort().join(",");
  return await waitFor(`${app} pods on exactly ${want}`, async () => {
    const m = await podsByNode(client, app);
    const got = [...m.keys()].sort().join(",");
    return got === want && [...m.values()].every((ps) => ps.length === 1) ? m : undefined;
  }, { timeoutMs: 20_000 });
}

Deno.test("DaemonSet pods follow eligible nodes as they join, leave and change", async () => {
  const server = await startTestServer();
  const client = server.client;
  const prefix = `ds${crypto.randomUUID().slice(0, 4)}`;
  const hollow = await startHollowNodes(client, {
    count: 4,
    prefix,
    labels: (i): Record<string, string> => (i < 3 ? { edge: "yes" } : {}),
    taints: (i) => (i === 2 ? [{ key: "dedicated", value: "db", effect: "NoSchedule" }] : []),
  });
  const [n0, n1, n2, n3] = hollow.names;
  let late: Awaited<ReturnType<typeof startHollowNodes>> | undefined;
  try {
    await client.create(DAEMONSETS, daemonSet("agent"));
    // n2's taint is not tolerated, n3 lacks the label.
    const first = await waitForPodsOn(client, "agent", [n0, n1]);
    const pod = first.get(n0)![0];
    assert.deepEqual(
      pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchFields,
      [{ key: "metadata.name", operator: "In", values: [n0] }],
    );
    await waitFor("status counts two nodes", async () => {
      const s = (await client.get(DAEMONSETS, "agent", { namespace: "default" })).status;
      return s.desiredNumberScheduled === 2 && s.currentNumberScheduled === 2 &&
        s.numberReady === 2 && s.numberAvailable === 2 && s.updatedNumberScheduled === 2 &&
        s.numberMisscheduled === 0 && s.observedGeneration === 1;
    });

    // A label change brings n3 in; removing n1's label sends its pod away.
    await client.patch(NODES, n3, { metadata: { labels: { edge: "yes" } } }, { type: "merge" });
    await client.patch(NODES, n1, { metadata: { labels: { edge: null } } }, { type: "merge" });
    await waitForPodsOn(client, "agent", [n0, n3]);

    // A node that joins gets its pod; a deleted node's pod goes.
    late = await startHollowNodes(client, {
      count: 1,
      prefix: `${prefix}late`,
      labels: () => ({ edge: "yes" }),
      addressOf: () => "127.0.0.40",
    });
    await waitForPodsOn(client, "agent", [n0, n3, late.names[0]]);
    await client.delete(NODES, n0);
    await waitForPodsOn(client, "agent", [n3, late.names[0]]);

    // Tolerating the taint reaches n2 (a template change: a new revision, rolled out).
    await client.patch(DAEMONSETS, "agent", {
      spec: {
        template: {
          spec: { tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }] },
        },
      },
    }, { namespace: "default", type: "strategic" });
    await waitForPodsOn(client, "agent", [n2, n3, late.names[0]]);
    const revs = await client.list(CONTROLLERREVISIONS, { namespace: "default" });
    assert.deepEqual(
      revs.items.map((r) => (r as KubeObject & { revision: number }).revision).sort(),
      [
        1,
        2,
      ],
    );
  } finally {
    await late?.stop();
    await hollow.stop();
    await server.stop();
  }
});

Deno.test("a DaemonSet rolling update keeps within maxUnavailable and records history", async () => {
  const server = await startTestServer();
  const client = server.client;
  const prefix = `dsr${crypto.randomUUID().slice(0, 4)}`;
  const hollow = await startHollowNodes(client, {
    count: 5,
    prefix,
    labels: () => ({ edge: "yes" }),
  });
  const ac = new AbortController();
  try {
    await client.create(
      DAEMONSETS,
      daemonSet("roll", {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 2 } },
      }),
    );
    await waitForPodsOn(client, "roll", hollow.names);
    await waitFor("rolled out", async () => {
      const s = (await client.get(DAEMONSETS, "roll", { namespace: "default" })).status;
      return s.numberAvailable === 5;
    });

    // Watch pods and track, after every event, how many nodes lack a ready pod.
    const pods = new Map<string, KubeObject>();
    let worst = 0;
    const list = await client.list(PODS, { namespace: "default", labelSelector: "app=roll" });
    for (const p of list.items) pods.set(p.metadata.name!, p);
    const watching = (async () => {
      try {
        for await (
          const ev of client.watch(PODS, {
            namespace: "default",
            labelSelector: "app=roll",
            resourceVersion: list.metadata.resourceVersion,
            signal: ac.signal,
          })
        ) {
          if (ev.type === "DELETED") pods.delete(ev.object.metadata.name!);
          else if (ev.type === "ADDED" || ev.type === "MODIFIED") {
            pods.set(ev.object.metadata.name!, ev.object);
          }
          const ready = new Set<string>();
          for (const p of pods.values()) {
            const ok = !p.metadata.deletionTimestamp && p.spec?.nodeName &&
              p.status?.conditions?.some((c: { type: string; status: string }) =>
                c.type === "Ready" && c.status === "True"
              );
            if (ok) ready.add(p.spec.nodeName);
          }
          worst = Math.max(worst, hollow.names.length - ready.size);
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    })();

    await client.patch(DAEMONSETS, "roll", {
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox:v2" }] } } },
    }, { namespace: "default", type: "strategic" });
    await waitFor("v2 everywhere", async () => {
      const ds = await client.get(DAEMONSETS, "roll", { namespace: "default" });
      const s = ds.status;
      const m = await podsByNode(client, "roll");
      const images = [...m.values()].flat().map((p) => p.spec.containers[0].image);
      return s.observedGeneration === 2 && s.updatedNumberScheduled === 5 &&
        s.numberAvailable === 5 && images.length === 5 && images.every((i) => i === "busybox:v2");
    }, { timeoutMs: 30_000 });
    ac.abort();
    await watching;
    assert.ok(worst >= 1, "the update took pods down");
    assert.ok(worst <= 2, `at most maxUnavailable (2) nodes without a ready pod, saw ${worst}`);
  } finally {
    ac.abort();
    await hollow.stop();
    await server.stop();
  }
});
