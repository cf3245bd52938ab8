import assert from "node:assert/strict";
import { Deployment, type ReplicaSet } from "../../shared/api/apps_v1.ts";
import { Pod } from "../../shared/api/core_v1.ts";
import { REPLICASETS } from "../../shared/client/refs.ts";
import { AlreadyExistsError } from "../../shared/errors.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import {
  DeploymentReconciler,
  newReplicaSetFor,
  REVISION,
  revisionOf,
  rolloutPlan,
} from "./deployment.ts";
import { podTemplateHash } from "./rolling_update.ts";

const D_UID = "d-uid";

function deployment(o: {
  replicas?: number;
  image?: string;
  strategy?: Record<string, unknown>;
  paused?: boolean;
  history?: number;
} = {}): Deployment {
  return Deployment.parse({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: D_UID, generation: 1 },
    spec: {
      replicas: o.replicas ?? 4,
      selector: { matchLabels: { app: "web" } },
      strategy: o.strategy,
      paused: o.paused,
      revisionHistoryLimit: o.history,
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: o.image ?? "busybox:v2" }] },
      },
    },
  });
}

/** A ReplicaSet of `d`'s template (image), owned by the Deployment. */
function rsOf(
  image: string,
  o: { revision: number; replicas: number; available?: number; live?: number },
): ReplicaSet {
  const d = deployment({ image });
  const rs = newReplicaSetFor(d, podTemplateHash(d.spec.template), {
    revision: o.revision,
    replicas: o.replicas,
    maxSurge: 0,
  });
  rs.metadata.uid = `uid-${image}`;
  rs.metadata.creationTimestamp = `2026-01-01T00:0${o.revision}:00Z`;
  rs.status = {
    replicas: o.live ?? o.replicas,
    readyReplicas: o.available ?? o.replicas,
    availableReplicas: o.available ?? o.replicas,
  };
  return rs;
}

function setup(d: Deployment, replicaSets: ReplicaSet[], pods: Pod[] = []) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const clock = new FakeClock("2026-01-01T01:00:00Z");
  const requeued: [string, number][] = [];
  const reconciler = new DeploymentReconciler({
    listers: {
      deployments: new FakeLister([d]),
      replicaSets: new FakeLister(replicaSets),
      pods: new FakeLister(pods),
    },
    client,
    recorder,
    clock,
    enqueueAfter: (key, ms) => requeued.push([key, ms]),
  });
  return { client, recorder, reconciler, requeued, clock };
}

/** The new ReplicaSet's created size and every ReplicaSet's scaled size, by image. */
function rolloutOf(client: RecordingClient) {
  const created = client.bodies<ReplicaSet>("create", "replicasets")
    .map((rs) => rs.spec.replicas);
  const scaled: Record<string, number> = {};
  for (const rs of client.bodies<ReplicaSet>("update", "replicasets")) {
    scaled[rs.spec.template!.spec.containers[0].image!] = rs.spec.replicas;
  }
  return { created, scaled };
}

const rollingCases: {
  name: string;
  d: Deployment;
  sets: ReplicaSet[];
  created: number[];
  scaled: Record<string, number>;
}[] = [
  {
    name: "a new Deployment creates its ReplicaSet at full size",
    d: deployment(),
    sets: [],
    created: [4],
    scaled: {},
  },
  {
    name: "maxSurge 1, maxUnavailable 0: one new pod first, no old one goes yet",
    d: deployment({ strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }),
    sets: [rsOf("busybox:v1", { revision: 1, replicas: 4 })],
    created: [1],
    scaled: {},
  },
  {
    name: "maxSurge 0, maxUnavailable 1: no new pod, one old pod goes",
    d: deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }),
    sets: [rsOf("busybox:v1", { revision: 1, replicas: 4 })],
    created: [0],
    scaled: { "busybox:v1": 3 },
  },
  {
    name: "a budget of one goes to an unavailable old pod first",
    d: deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }),
    sets: [
      rsOf("busybox:v1", { revision: 1, replicas: 4, available: 2 }),
      rsOf("busybox:v2", { revision: 2, replicas: 0 }),
    ],
    created: [],
    // 4 pods, 3 must stay available, the new ReplicaSet has none unavailable: 1 may go, and
    // it is one of the 2 unavailable old pods; the 2 available ones are the minimum.
    scaled: { "busybox:v1": 3 },
  },
  {
    name: "the new ReplicaSet grows as far as maxSurge allows",
    d: deployment({ strategy: { rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }),
    sets: [
      rsOf("busybox:v1", { revision: 1, replicas: 3 }),
      rsOf("busybox:v2", { revision: 2, replicas: 1 }),
    ],
    // Total 4, room 4+2-4 = 2: new goes 1 → 3. Its 2 new pods are not available yet, so
    // 6 - 4 (minAvailable) - 2 leaves no old pod to remove.
    created: [],
    scaled: { "busybox:v2": 3 },
  },
  {
    name: "a finished rollout scales nothing",
    d: deployment(),
    sets: [
      rsOf("busybox:v2", { revision: 2, replicas: 4 }),
      rsOf("busybox:v1", {
        revision: 1,
        replicas: 0,
      }),
    ],
    created: [],
    scaled: {},
  },
];

for (const c of rollingCases) {
  Deno.test(`DeploymentReconciler rolling update: ${c.name}`, async () => {
    const { client, reconciler } = setup(c.d, c.sets);
    await reconciler.reconcile("default/web");
    const got = rolloutOf(client);
    assert.deepEqual(got.created, c.created);
    assert.deepEqual(got.scaled, c.scaled);
  });
}

Deno.test("rolloutPlan() rounds surge up and unavailable down; both zero means one unavailable", () => {
  const plan = (replicas: number, rollingUpdate?: Record<string, unknown>, type?: string) =>
    rolloutPlan(deployment({ replicas, strategy: { type, rollingUpdate } }));
  assert.deepEqual(plan(10), {
    replicas: 10,
    strategy: "RollingUpdate",
    maxSurge: 3,
    maxUnavailable: 2,
  });
  assert.equal(plan(1, { maxSurge: 0, maxUnavailable: 0 }).maxUnavailable, 1);
  assert.equal(plan(5, { maxSurge: "50%", maxUnavailable: "50%" }).maxSurge, 3);
  assert.equal(plan(5, { maxSurge: "50%", maxUnavailable: "50%" }).maxUnavailable, 2);
  assert.deepEqual(plan(3, undefined, "Recreate"), {
    replicas: 3,
    strategy: "Recreate",
    maxSurge: 0,
    maxUnavailable: 3,
  });
});

Deno.test("Recreate scales old ReplicaSets to 0 and creates the new one empty while old pods live", async () => {
  const oldRs = rsOf("busybox:v1", { revision: 1, replicas: 3 });
  const { client, reconciler, recorder } = setup(deployment({ strategy: { type: "Recreate" } }), [
    oldRs,
  ]);
  await reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(client), { created: [0], scaled: { "busybox:v1": 0 } });
  // Kubernetes records no "Scaled up … from 0 to 0" for the empty new ReplicaSet.
  assert.deepEqual(recorder.events.map((e) => e.message), [
    `Scaled down replica set ${oldRs.metadata.name} from 3 to 0`,
  ]);
});

Deno.test("Recreate starts the new pods only once the old ReplicaSets' pods are gone", async () => {
  const d = deployment({ strategy: { type: "Recreate" } });
  const oldRs = rsOf("busybox:v1", { revision: 1, replicas: 0, live: 0 });
  const newRs = rsOf("busybox:v2", { revision: 2, replicas: 0 });
  const oldPod = Pod.parse({
    metadata: {
      name: "old",
      namespace: "default",
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: oldRs.metadata.name!,
        uid: oldRs.metadata.uid!,
        controller: true,
      }],
    },
  });
  const waiting = setup(d, [oldRs, newRs], [oldPod]);
  await waiting.reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(waiting.client).scaled, {});
  // A pod being deleted still runs until its grace period ends: the new pods wait for it too.
  const terminating = Pod.parse({
    ...oldPod,
    metadata: { ...oldPod.metadata, deletionTimestamp: "2026-01-01T01:00:00Z" },
    status: { phase: "Running" },
  });
  const stopping = setup(d, [oldRs, newRs], [terminating]);
  await stopping.reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(stopping.client).scaled, {});
  const finished = Pod.parse({ ...oldPod, status: { phase: "Succeeded" } });
  const done = setup(d, [oldRs, newRs], [finished]);
  await done.reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(done.client).scaled, { "busybox:v2": 4 });
  const gone = setup(d, [oldRs, newRs], []);
  await gone.reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(gone.client).scaled, { "busybox:v2": 4 });
});

Deno.test("a Recreate Deployment is Available only when all its replicas are", async () => {
  const d = deployment({ strategy: { type: "Recreate" } });
  const availability = async (available: number) => {
    const { client, reconciler } = setup(d, [
      rsOf("busybox:v2", { revision: 1, replicas: 4, available }),
    ]);
    await reconciler.reconcile("default/web");
    const [status] = client.bodies<Deployment>("update", "deployments");
    const c = status.status?.conditions?.find((c) => c.type === "Available");
    return [c?.status, c?.reason];
  };
  assert.deepEqual(await availability(0), ["False", "MinimumReplicasUnavailable"]);
  assert.deepEqual(await availability(3), ["False", "MinimumReplicasUnavailable"]);
  assert.deepEqual(await availability(4), ["True", "MinimumReplicasAvailable"]);
});

Deno.test("a paused Deployment creates no ReplicaSet for a changed template", async () => {
  const { client, reconciler } = setup(deployment({ paused: true }), [
    rsOf("busybox:v1", { revision: 1, replicas: 4 }),
  ]);
  await reconciler.reconcile("default/web");
  assert.deepEqual(rolloutOf(client), { created: [], scaled: {} });
  const [status] = client.bodies<Deployment>("update", "deployments");
  assert.equal(
    status.status.conditions?.find((c) => c.type === "Progressing")?.reason,
    "DeploymentPaused",
  );
});

Deno.test("a rollback re-uses the old ReplicaSet under the next revision", async () => {
  const d = deployment({ image: "busybox:v1" });
  const { client, reconciler } = setup(d, [
    rsOf("busybox:v1", { revision: 1, replicas: 0 }),
    rsOf("busybox:v2", { revision: 2, replicas: 4 }),
  ]);
  await reconciler.reconcile("default/web");
  const updates = client.bodies<ReplicaSet>("update", "replicasets");
  assert.equal(revisionOf(updates[0]), 3);
  assert.equal(updates[0].spec.template!.spec.containers[0].image, "busybox:v1");
  const [patch] = client.bodies<{ metadata: { annotations: Record<string, string> } }>(
    "patch",
    "deployments",
  );
  assert.equal(patch.metadata.annotations[REVISION], "3");
  assert.deepEqual(client.bodies("create", "replicasets"), []);
});

Deno.test("DeploymentReconciler adopts a matching orphan ReplicaSet and releases a mismatched one", async () => {
  const orphan = rsOf("busybox:v2", { revision: 1, replicas: 4 });
  orphan.metadata.ownerReferences = undefined;
  const stray = rsOf("busybox:v0", { revision: 1, replicas: 0 });
  stray.metadata.labels = { app: "other" };
  const { client, reconciler } = setup(deployment(), [orphan, stray]);
  client.seed(REPLICASETS, orphan, stray);
  await reconciler.reconcile("default/web");
  const patches = client.writes().filter((c) => c.verb === "patch" && c.resource === "replicasets");
  const byName = Object.fromEntries(
    patches.map((c) => [
      c.name,
      (c.body as { metadata: { ownerReferences: { uid: string }[] } }).metadata.ownerReferences
        .map((r) => r.uid),
    ]),
  );
  assert.deepEqual(byName, { [orphan.metadata.name!]: [D_UID], [stray.metadata.name!]: [] });
  assert.deepEqual(client.bodies("create", "replicasets"), []);
});

Deno.test("cleanupDeployment deletes the oldest idle ReplicaSets beyond revisionHistoryLimit", async () => {
  const sets = [
    rsOf("busybox:v4", { revision: 4, replicas: 4 }),
    rsOf("busybox:v1", { revision: 1, replicas: 0 }),
    rsOf("busybox:v2", { revision: 2, replicas: 0 }),
    rsOf("busybox:v3", { revision: 3, replicas: 0 }),
  ];
  const d = deployment({ image: "busybox:v4", history: 1 });
  d.status = { observedGeneration: 1 };
  const { client, reconciler } = setup(d, sets);
  sets[0].status.observedGeneration = 0;
  await reconciler.reconcile("default/web");
  const deleted = client.writes().filter((c) => c.verb === "delete").map((c) => c.name);
  assert.deepEqual(deleted, [sets[1].metadata.name, sets[2].metadata.name]);
});

Deno.test("a hash collision bumps status.collisionCount instead of taking another's ReplicaSet", async () => {
  const { client, reconciler } = setup(deployment(), []);
  client.fail("create", "replicasets", new AlreadyExistsError({ resource: "replicasets" }));
  const d = deployment();
  const theirs = newReplicaSetFor(d, podTemplateHash(d.spec.template), {
    revision: 1,
    replicas: 1,
    maxSurge: 0,
  });
  theirs.metadata.ownerReferences = [];
  client.seed(REPLICASETS, theirs);
  await reconciler.reconcile("default/web");
  const [status] = client.bodies<Deployment>("update", "deployments");
  assert.equal(status.status.collisionCount, 1);
});

Deno.test("the progress deadline: re-queue while within it, ProgressDeadlineExceeded after", async () => {
  const stuck = (since: string) => {
    const d = deployment({ replicas: 2 });
    d.spec.progressDeadlineSeconds = 60;
    d.status = {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 1,
      conditions: [{
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        lastUpdateTime: since,
        lastTransitionTime: since,
      }],
    };
    return d;
  };
  const sets = () => [
    rsOf("busybox:v2", { revision: 2, replicas: 1, available: 1 }),
    rsOf("busybox:v1", { revision: 1, replicas: 1, available: 0 }),
  ];
  const within = setup(stuck("2026-01-01T00:59:30Z"), sets());
  await within.reconciler.reconcile("default/web");
  assert.deepEqual(within.requeued, [["default/web", 30_050]]);
  const past = setup(stuck("2026-01-01T00:58:00Z"), sets());
  await past.reconciler.reconcile("default/web");
  const [status] = past.client.bodies<Deployment>("update", "deployments");
  const progressing = status.status.conditions?.find((c) => c.type === "Progressing");
  assert.equal(progressing?.status, "False");
  assert.equal(progressing?.reason, "ProgressDeadlineExceeded");
});
