import assert from "node:assert/strict";
import { ReplicaSet } from "../../shared/api/apps_v1.ts";
import { Pod, ReplicationController } from "../../shared/api/core_v1.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import {
  deletionOrder,
  type ReplicaOwner,
  ReplicaSetReconciler,
  REPLICATION_CONTROLLER_KIND,
  slowStartBatch,
} from "./replica_set.ts";

const clock = new FakeClock("2026-01-01T00:10:00Z");
const RS_UID = "rs-uid";

function rs(replicas: number, extra: { minReadySeconds?: number; deleting?: boolean } = {}) {
  return ReplicaSet.parse({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "web",
      namespace: "default",
      uid: RS_UID,
      generation: 2,
      ...(extra.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      replicas,
      minReadySeconds: extra.minReadySeconds,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
}

interface PodOpts {
  labels?: Record<string, string>;
  owner?: string | null;
  node?: string;
  ready?: boolean;
  readySince?: string;
  created?: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
}

function pod(name: string, o: PodOpts = {}): Pod {
  const owner = o.owner === undefined ? RS_UID : o.owner;
  return Pod.parse({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: "1",
      labels: o.labels ?? { app: "web" },
      creationTimestamp: o.created ?? "2026-01-01T00:00:00Z",
      ownerReferences: owner
        ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: owner, controller: true }]
        : undefined,
    },
    spec: { nodeName: o.node ?? "n1", containers: [{ name: "c", image: "busybox" }] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{
        type: "Ready",
        status: o.ready === false ? "False" : "True",
        lastTransitionTime: o.readySince ?? "2026-01-01T00:00:00Z",
      }],
    },
  });
}

function setup(owners: ReplicaOwner[], pods: Pod[], burstReplicas?: number) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const requeued: [string, number][] = [];
  const reconciler = new ReplicaSetReconciler({
    listers: { owners: new FakeLister<ReplicaOwner>(owners), pods: new FakeLister(pods) },
    client,
    recorder,
    clock,
    burstReplicas,
    enqueueAfter: (key, ms) => requeued.push([key, ms]),
  });
  return { client, recorder, reconciler, requeued };
}

const manageCases: {
  name: string;
  owner: ReplicaOwner;
  pods: Pod[];
  burst?: number;
  actions: string[];
}[] = [
  {
    name: "creates the missing pods",
    owner: rs(3),
    pods: [pod("a")],
    actions: [
      "create pods default",
      "create pods default",
      "update/status replicasets default/web",
    ],
  },
  {
    name: "creates no more than burstReplicas at once",
    owner: rs(5),
    pods: [],
    burst: 2,
    actions: [
      "create pods default",
      "create pods default",
      "update/status replicasets default/web",
    ],
  },
  {
    name: "deletes unscheduled and not-ready pods before ready ones",
    owner: rs(1),
    pods: [pod("ready"), pod("unscheduled", { node: "" }), pod("notready", { ready: false })],
    actions: [
      "delete pods default/unscheduled",
      "delete pods default/notready",
      "update/status replicasets default/web",
    ],
  },
  {
    name: "does not count finished pods as replicas",
    owner: rs(1),
    pods: [pod("done", { phase: "Succeeded" })],
    actions: ["create pods default", "update/status replicasets default/web"],
  },
  {
    name: "adopts a matching orphan instead of creating",
    owner: rs(1),
    pods: [pod("orphan", { owner: null })],
    actions: ["patch pods default/orphan", "update/status replicasets default/web"],
  },
  {
    name: "releases an owned pod that stopped matching and replaces it",
    owner: rs(1),
    pods: [pod("moved", { labels: { app: "other" } })],
    actions: [
      "patch pods default/moved",
      "create pods default",
      "update/status replicasets default/web",
    ],
  },
  {
    name: "leaves orphans that don't match and pods of other owners alone",
    owner: rs(0),
    pods: [pod("stranger", { owner: null, labels: { app: "x" } }), pod("theirs", { owner: "x" })],
    actions: ["update/status replicasets default/web"],
  },
  {
    name: "adopts and creates nothing while the owner is being deleted",
    owner: rs(2, { deleting: true }),
    pods: [pod("orphan", { owner: null })],
    actions: ["update/status replicasets default/web"],
  },
];

for (const c of manageCases) {
  Deno.test(`ReplicaSetReconciler.reconcile() ${c.name}`, async () => {
    const { client, reconciler } = setup([c.owner], c.pods, c.burst);
    await reconciler.reconcile("default/web");
    assert.deepEqual(client.actions(), c.actions);
  });
}

Deno.test("ReplicaSetReconciler adopts with a controller reference and creates from the template", async () => {
  const { client, recorder, reconciler } = setup([rs(2)], [pod("orphan", { owner: null })]);
  await reconciler.reconcile("default/web");
  const [patch] = client.bodies<{ metadata: { ownerReferences: unknown[] } }>("patch", "pods");
  assert.deepEqual(patch.metadata.ownerReferences, [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web",
    uid: RS_UID,
    controller: true,
    blockOwnerDeletion: true,
  }]);
  const [created] = client.bodies<Pod>("create", "pods");
  assert.equal(created.metadata.generateName, "web-");
  assert.deepEqual(created.metadata.labels, { app: "web" });
  assert.equal(created.metadata.ownerReferences?.[0].uid, RS_UID);
  assert.deepEqual(recorder.reasons(), ["SuccessfulCreate"]);
});

Deno.test("ReplicaSetReconciler waits for its expectations before acting again", async () => {
  const { client, reconciler } = setup([rs(2)], []);
  await reconciler.reconcile("default/web");
  assert.equal(client.bodies("create", "pods").length, 2);
  client.clear();
  // The cache has not seen the two pods yet: a second reconcile must not create two more.
  await reconciler.reconcile("default/web");
  assert.deepEqual(client.bodies("create", "pods"), []);
  const seen = pod("seen");
  assert.deepEqual(reconciler.observePod(seen, "add"), ["default/web"]);
  reconciler.observePod(pod("seen2"), "add");
  assert.ok(reconciler.expectations.satisfied("default/web"));
});

Deno.test("ReplicaSetReconciler stops creating after a failed batch and records FailedCreate", async () => {
  const { client, recorder, reconciler } = setup([rs(10)], []);
  let n = 0;
  client.on("create", "pods", () => {
    if (++n === 2) throw new ForbiddenError({ resource: "pods" }, "exceeded quota");
    return undefined;
  });
  await assert.rejects(reconciler.reconcile("default/web"), /exceeded quota/);
  // Batches of 1 then 2: the second batch failed, so 3 calls and no third batch.
  assert.equal(client.bodies("create", "pods").length, 3);
  assert.ok(recorder.reasons().includes("FailedCreate"));
  // Only the 2 successful creations are still expected.
  reconciler.observePod(pod("x"), "add");
  assert.equal(reconciler.expectations.satisfied("default/web"), false);
  reconciler.observePod(pod("y"), "add");
  assert.ok(reconciler.expectations.satisfied("default/web"));
});

Deno.test("ReplicaSetReconciler.calculateStatus() counts ready, available and fully labelled pods", () => {
  const { reconciler } = setup([], []);
  const { status, recheckMs } = reconciler.calculateStatus(rs(3, { minReadySeconds: 60 }), [
    pod("old-ready", { readySince: "2026-01-01T00:00:00Z" }),
    pod("just-ready", { readySince: "2026-01-01T00:09:30Z" }),
    pod("not-ready", { ready: false, labels: { app: "web", extra: "1" } }),
    pod("mislabelled", { labels: { other: "x" } }),
  ]);
  assert.equal(status.replicas, 4);
  assert.equal(status.readyReplicas, 3);
  assert.equal(status.availableReplicas, 2); // old-ready and mislabelled (ready since 00:00)
  assert.equal(status.fullyLabeledReplicas, 3);
  assert.equal(status.observedGeneration, 2);
  // just-ready becomes available 30 s from now.
  assert.equal(recheckMs, 30_000 + 10);
});

Deno.test("ReplicaSetReconciler re-queues to re-check availability and skips unchanged status", async () => {
  const owner = rs(1, { minReadySeconds: 60 });
  owner.status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 0 };
  owner.status.observedGeneration = 2;
  const { client, requeued, reconciler } = setup([owner], [
    pod("a", { readySince: "2026-01-01T00:09:50Z" }),
  ]);
  await reconciler.reconcile("default/web");
  assert.deepEqual(client.actions(), []);
  assert.deepEqual(requeued, [["default/web", 50_010]]);
});

Deno.test("ReplicaSetReconciler forgets expectations of a deleted owner", async () => {
  const { client, reconciler } = setup([], []);
  reconciler.expectations.expectAdds("default/web", 3);
  await reconciler.reconcile("default/web");
  assert.ok(reconciler.expectations.satisfied("default/web"));
  assert.deepEqual(client.calls, []);
});

Deno.test("ReplicationController selector defaults to the template labels; none selects nothing", () => {
  const rc = (selector?: Record<string, string>, labels?: Record<string, string>) =>
    ReplicationController.parse({
      metadata: { name: "rc", namespace: "default" },
      spec: { selector, template: { metadata: { labels } } },
    });
  const sel = REPLICATION_CONTROLLER_KIND.selector;
  assert.ok(sel(rc(undefined, { app: "a" })).matches({ app: "a" }));
  assert.ok(sel(rc({ app: "b" }, { app: "a" })).matches({ app: "b" }));
  assert.equal(sel(rc(undefined, undefined)).matches({}), false);
});

Deno.test("observePod() sends an update to both the old and the new owner", () => {
  const other = ReplicaSet.parse({
    ...rs(1),
    metadata: { name: "other", namespace: "default", uid: "other-uid" },
    spec: { ...rs(1).spec, selector: { matchLabels: { app: "other" } } },
  });
  const { reconciler } = setup([rs(1), other], []);
  const before = pod("p", { owner: null, labels: { app: "web" } });
  const after = { ...pod("p", { owner: null, labels: { app: "other" } }) };
  after.metadata = { ...after.metadata, resourceVersion: "2" };
  assert.deepEqual(reconciler.observePod(after, "update", before).sort(), [
    "default/other",
    "default/web",
  ]);
  // A resync (same resourceVersion) enqueues nothing.
  assert.deepEqual(reconciler.observePod(before, "update", before), []);
});

Deno.test("slowStartBatch() runs 1, 2, 4, … and stops after a failing batch", async () => {
  let calls = 0;
  const ok = await slowStartBatch(7, () => {
    calls++;
    return Promise.resolve();
  });
  assert.deepEqual(ok, { attempted: { calls: 7, succeeded: 7 }, failure: undefined });
  calls = 0;
  const bad = await slowStartBatch(20, () => {
    calls++;
    return calls === 5 ? Promise.reject(new Error("no")) : Promise.resolve();
  });
  // Batches 1, 2, 4 (the 5th call fails in the third batch): 7 calls, 6 succeeded.
  assert.deepEqual(bad.attempted, { calls: 7, succeeded: 6 });
  assert.equal((bad.failure as Error).message, "no");
});

Deno.test("deletionOrder() ranks unscheduled < pending < not ready < ready, newest first", () => {
  const pods = [
    pod("ready-old", { created: "2026-01-01T00:00:00Z" }),
    pod("ready-new", { created: "2026-01-01T00:05:00Z" }),
    pod("pending", { phase: "Pending" }),
    pod("unscheduled", { node: "" }),
    pod("notready", { ready: false }),
  ];
  assert.deepEqual(pods.sort(deletionOrder).map((p) => p.metadata.name), [
    "unscheduled",
    "pending",
    "notready",
    "ready-new",
    "ready-old",
  ]);
});
