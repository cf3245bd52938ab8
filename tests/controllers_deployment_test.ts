/**
 * The Deployment controller against the real server with hollow nodes: rolling updates observed
 * through a watch never exceed maxSurge nor drop below maxUnavailable, Recreate never overlaps,
 * rollback re-uses the old ReplicaSet under a new revision, scale, pause, progress deadline and
 * revision history cleanup.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { DEPLOYMENTS, PODS, REPLICASETS } from "../shared/client/refs.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function deployment(name: string, opts: {
  replicas: number;
  image?: string;
  strategy?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  podSpec?: Record<string, unknown>;
}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: { app: name } },
      strategy: opts.strategy,
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "c", image: opts.image ?? "busybox:v1" }],
          ...opts.podSpec,
        },
      },
      ...opts.extra,
    },
  };
}

/** kubectl rollout status's success rule (see kubectl-wire.md). */
function rolledOut(d: KubeObject): boolean {
  const s = d.status ?? {};
  const replicas = d.spec?.replicas ?? 1;
  return (d.metadata.generation ?? 0) <= (s.observedGeneration ?? -1) &&
    (s.updatedReplicas ?? 0) >= replicas && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0) &&
    !(s.conditions ?? []).some((c: { reason: string }) => c.reason === "ProgressDeadlineExceeded");
}

async function waitRolledOut(client: ApiClient, name: string, image?: string): Promise<KubeObject> {
  return await waitFor(`${name} rolled out`, async () => {
    const d = await client.get(DEPLOYMENTS, name, { namespace: "default" });
    if (image && d.spec.template.spec.containers[0].image !== image) return undefined;
    return rolledOut(d) ? d : undefined;
  }, { timeoutMs: 30_000 });
}

async function ownedReplicaSets(client: ApiClient, d: KubeObject): Promise<KubeObject[]> {
  const list = await client.list(REPLICASETS, { namespace: "default" });
  return list.items.filter((rs) =>
    rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid)
  );
}

/** Watches pods of `app` and records, after each event, live and available pod counts. */
function observe(client: ApiClient, app: string) {
  const ac = new AbortController();
  const pods = new Map<string, KubeObject>();
  const samples: { live: number; available: number; images: Set<string> }[] = [];
  let listed!: () => void;
  // The watch starts from the LIST's resourceVersion, so once the LIST is done no later change
  // can be missed, however long the watch request takes to connect.
  const started = new Promise<void>((resolve) => listed = resolve);
  const done = (async () => {
    const list = await client.list(PODS, { namespace: "default", labelSelector: `app=${app}` });
    for (const p of list.items) pods.set(p.metadata.name!, p);
    listed();
    try {
      for await (
        const ev of client.watch(PODS, {
          namespace: "default",
          labelSelector: `app=${app}`,
          resourceVersion: list.metadata.resourceVersion,
          signal: ac.signal,
        })
      ) {
        if (ev.type === "DELETED") pods.delete(ev.object.metadata.name!);
        else if (ev.type === "ADDED" || ev.type === "MODIFIED") {
          pods.set(ev.object.metadata.name!, ev.object);
        } else continue;
        const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp);
        const available = live.filter((p) =>
          (p.status?.conditions ?? []).some((c: { type: string; status: string }) =>
            c.type === "Ready" && c.status === "True"
          )
        );
        samples.push({
          live: live.length,
          available: available.length,
          images: new Set(live.map((p) => p.spec.containers[0].image)),
        });
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
    }
  })();
  return {
    samples,
    started,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

Deno.test("a rolling update stays within maxSurge/maxUnavailable, then rollback re-uses the old ReplicaSet", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 3 });
  try {
    const created = await client.create<KubeObject>(
      DEPLOYMENTS,
      deployment("web", {
        replicas: 4,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "25%" } },
      }),
    );
    let d = await waitRolledOut(client, "web");
    const [rs1] = await ownedReplicaSets(client, created);
    const hash = rs1.metadata.labels?.["pod-template-hash"];
    assert.ok(hash);
    assert.equal(rs1.metadata.name, `web-${hash}`);
    assert.equal(rs1.spec.selector.matchLabels["pod-template-hash"], hash);
    assert.equal(rs1.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
    const conditions = Object.fromEntries(
      (d.status.conditions as { type: string; reason: string }[]).map((c) => [c.type, c.reason]),
    );
    assert.deepEqual(conditions, {
      Available: "MinimumReplicasAvailable",
      Progressing: "NewReplicaSetAvailable",
    });

    const watch = observe(client, "web");
    await watch.started;
    await client.patch(DEPLOYMENTS, "web", {
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox:v2" }] } } },
    }, { namespace: "default", type: "strategic" });
    d = await waitRolledOut(client, "web", "busybox:v2");
    await waitFor("old pods gone", async () => {
      const pods = await client.list(PODS, { namespace: "default", labelSelector: "app=web" });
      return pods.items.length === 4 &&
        pods.items.every((p) => p.spec.containers[0].image === "busybox:v2");
    });
    await watch.stop();
    assert.ok(watch.samples.length > 4);
    for (const s of watch.samples) {
      assert.ok(s.live <= 5, `more than replicas + maxSurge pods: ${s.live}`);
      assert.ok(s.available >= 3, `fewer than replicas - maxUnavailable available: ${s.available}`);
    }
    assert.ok(watch.samples.some((s) => s.images.size === 2), "old and new ran side by side");
    const sets = await ownedReplicaSets(client, created);
    assert.equal(sets.length, 2);
    const rs2 = sets.find((rs) => rs.metadata.name !== rs1.metadata.name)!;
    assert.equal(rs2.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
    assert.equal(sets.find((rs) => rs.metadata.name === rs1.metadata.name)!.spec.replicas, 0);

    // kubectl rollout undo: the client puts revision 1's template back.
    const template = structuredClone(rs1.spec.template);
    delete template.metadata.labels["pod-template-hash"];
    await client.patch(DEPLOYMENTS, "web", [
      { op: "replace", path: "/spec/template", value: template },
    ], { namespace: "default", type: "json" });
    d = await waitRolledOut(client, "web", "busybox:v1");
    const after = await ownedReplicaSets(client, created);
    assert.equal(after.length, 2, "no new ReplicaSet for a rollback");
    const back = after.find((rs) => rs.metadata.name === rs1.metadata.name)!;
    assert.equal(back.spec.replicas, 4);
    assert.equal(back.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
    assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");

    // The scale subresource.
    await client.patch(DEPLOYMENTS, "web", { spec: { replicas: 6 } }, {
      namespace: "default",
      type: "merge",
      subresource: "scale",
    });
    d = await waitRolledOut(client, "web");
    assert.equal(d.status.availableReplicas, 6);
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("Recreate stops every old pod before starting new ones; paused deployments wait", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 2 });
  try {
    const created = await client.create<KubeObject>(
      DEPLOYMENTS,
      deployment("rec", {
        replicas: 3,
        strategy: { type: "Recreate" },
      }),
    );
    await waitRolledOut(client, "rec");
    const watch = observe(client, "rec");
    await watch.started;
    await client.patch(DEPLOYMENTS, "rec", {
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox:v2" }] } } },
    }, { namespace: "default", type: "strategic" });
    await waitRolledOut(client, "rec", "busybox:v2");
    await watch.stop();
    // The watch must have seen the change happen (old pods, then new ones), or the overlap
    // check below would pass on no data.
    const seen = (image: string) => watch.samples.some((s) => s.images.has(image));
    assert.ok(seen("busybox:v1") && seen("busybox:v2"), "the watch saw both generations of pods");
    for (const s of watch.samples) assert.ok(s.images.size <= 1, "old and new pods overlapped");

    // Paused: a template change makes no new ReplicaSet until resumed.
    await client.patch(DEPLOYMENTS, "rec", { spec: { paused: true } }, {
      namespace: "default",
      type: "merge",
    });
    await waitFor("paused condition", async () => {
      const d = await client.get(DEPLOYMENTS, "rec", { namespace: "default" });
      return d.status.conditions?.some((c: { reason: string }) => c.reason === "DeploymentPaused");
    });
    await client.patch(DEPLOYMENTS, "rec", {
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox:v3" }] } } },
    }, { namespace: "default", type: "strategic" });
    await waitFor("generation observed", async () => {
      const d = await client.get(DEPLOYMENTS, "rec", { namespace: "default" });
      return d.status.observedGeneration === d.metadata.generation;
    });
    assert.equal((await ownedReplicaSets(client, created)).length, 2);
    await client.patch(DEPLOYMENTS, "rec", { spec: { paused: false } }, {
      namespace: "default",
      type: "merge",
    });
    await waitRolledOut(client, "rec", "busybox:v3");
    assert.equal((await ownedReplicaSets(client, created)).length, 3);
  } finally {
    await nodes.stop();
    await server.stop();
  }
});

Deno.test("progressDeadlineSeconds marks a stuck rollout; revisionHistoryLimit prunes old ReplicaSets", async () => {
  const server = await startTestServer();
  const { client } = server;
  const nodes = await startHollowNodes(client, { count: 1 });
  try {
    await client.create(
      DEPLOYMENTS,
      deployment("stuck", {
        replicas: 1,
        extra: { progressDeadlineSeconds: 1 },
        podSpec: { nodeSelector: { nowhere: "true" } },
      }),
    );
    const d = await waitFor("deadline exceeded", async () => {
      const d = await client.get(DEPLOYMENTS, "stuck", { namespace: "default" });
      return d.status?.conditions?.some((c: { reason: string }) =>
          c.reason === "ProgressDeadlineExceeded"
        )
        ? d
        : undefined;
    });
    const progressing = d.status.conditions.find((c: { type: string }) => c.type === "Progressing");
    assert.equal(progressing.status, "False");
    assert.match(progressing.message, /^ReplicaSet "stuck-\w+" has timed out progressing\.$/);
    const available = d.status.conditions.find((c: { type: string }) => c.type === "Available");
    assert.equal(available.reason, "MinimumReplicasUnavailable");

    const h = await client.create<KubeObject>(
      DEPLOYMENTS,
      deployment("hist", {
        replicas: 1,
        extra: { revisionHistoryLimit: 1 },
      }),
    );
    await waitRolledOut(client, "hist");
    for (const image of ["busybox:v2", "busybox:v3", "busybox:v4"]) {
      await client.patch(DEPLOYMENTS, "hist", {
        spec: { template: { spec: { containers: [{ name: "c", image }] } } },
      }, { namespace: "default", type: "strategic" });
      await waitRolledOut(client, "hist", image);
    }
    await waitFor("history pruned to 1 old ReplicaSet", async () => {
      const sets = await ownedReplicaSets(client, h);
      return sets.length === 2;
    });
  } finally {
    await nodes.stop();
    await server.stop();
  }
});
