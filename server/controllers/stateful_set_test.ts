import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { newRevision, type Revision, revisionHash } from "./controller_history.ts";
import { STATEFULSET_REVISION_LABEL, StatefulSetController } from "./stateful_set.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function statefulSet(spec: Any = {}, image = "busybox:1"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "ns", uid: "sts-uid", generation: 1 },
    spec: {
      replicas: 3,
      serviceName: "nginx",
      selector: { matchLabels: { app: "nginx" } },
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          containers: [{
            name: "nginx",
            image,
            volumeMounts: [{ name: "www", mountPath: "/www" }],
          }],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: "www" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      }],
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      revisionHistoryLimit: 10,
      ...spec,
    },
    status: {},
  };
}

function revisionOf(set: KubeObject, revision: number): Revision {
  const hash = revisionHash(set.spec!.template);
  const r = newRevision(set, {
    type: { apiVersion: "apps/v1", kind: "StatefulSet" },
    template: set.spec!.template,
    revision,
    hash,
    labels: { app: "nginx" },
  });
  r.metadata.uid = `uid-${r.metadata.name}`;
  return r;
}

function pod(
  ordinal: number,
  rev: Revision,
  o: { ready?: boolean; phase?: string; deleting?: boolean } = {},
): KubeObject {
  const name = `web-${ordinal}`;
  return {
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      deletionTimestamp: o.deleting ? "2026-01-01T00:00:00Z" : undefined,
      labels: {
        app: "nginx",
        [STATEFULSET_REVISION_LABEL]: rev.metadata.name!,
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": String(ordinal),
      },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        name: "web",
        uid: "sts-uid",
        controller: true,
      }],
    },
    spec: { hostname: name, subdomain: "nginx", containers: [] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{
        type: "Ready",
        status: o.ready === false ? "False" : "True",
        lastTransitionTime: "2025-12-31T00:00:00Z",
      }],
    },
  };
}

function claim(name: string, ownerReferences: Any[] = []): KubeObject {
  return { metadata: { name, namespace: "ns", uid: `uid-${name}`, ownerReferences } };
}

function setup(
  set: KubeObject,
  o: { pods?: KubeObject[]; revisions: Revision[]; claims?: KubeObject[] },
) {
  const client = new RecordingClient();
  const controller = new StatefulSetController({
    listers: {
      statefulSets: new FakeLister([set]),
      pods: new FakeLister(o.pods ?? []),
      revisions: new FakeLister<Revision>(o.revisions),
      claims: new FakeLister(o.claims ?? []),
    },
    client,
    recorder: new FakeRecorder(),
    clock: new FakeClock("2026-01-01T00:00:00Z"),
  });
  return { client, controller };
}

const podWrites = (c: RecordingClient) =>
  c.writes().filter((w) => w.resource === "pods" || w.resource === "persistentvolumeclaims")
    .map((w) => {
      const name = w.name ?? (w.body as KubeObject).metadata.name;
      return `${w.verb} ${w.resource === "pods" ? "pod" : "pvc"} ${name}`;
    });

Deno.test("updateStatefulSet() creates, scales and rolls pods in ordinal order", async () => {
  const v1 = statefulSet();
  const r1 = revisionOf(v1, 1);
  const v2 = statefulSet({}, "busybox:2");
  const r2 = revisionOf(v2, 2);
  const cases: {
    name: string;
    set: KubeObject;
    pods: KubeObject[];
    claims?: string[];
    want: string[];
  }[] = [
    {
      name: "OrderedReady: the first pod, after its claim",
      set: v1,
      pods: [],
      want: ["create pvc www-web-0", "create pod web-0"],
    },
    {
      name: "OrderedReady: the next pod once web-0 is ready",
      set: v1,
      pods: [pod(0, r1)],
      claims: ["www-web-0"],
      want: ["create pvc www-web-1", "create pod web-1"],
    },
    {
      name: "OrderedReady: waits while web-0 is not ready",
      set: v1,
      pods: [pod(0, r1, { ready: false })],
      claims: ["www-web-0"],
      want: [],
    },
    {
      name: "Parallel: every pod at once",
      set: statefulSet({ podManagementPolicy: "Parallel" }),
      pods: [pod(0, r1, { ready: false })],
      claims: ["www-web-0"],
      want: [
        "create pvc www-web-1",
        "create pod web-1",
        "create pvc www-web-2",
        "create pod web-2",
      ],
    },
    {
      name: "a claim deleted behind the pod's back is re-created while it is Pending",
      set: v1,
      pods: [pod(0, r1, { phase: "Pending", ready: false })],
      want: ["create pvc www-web-0"],
    },
    {
      name: "scale down: the highest ordinal first, one at a time",
      set: statefulSet({ replicas: 1 }),
      pods: [pod(0, r1), pod(1, r1), pod(2, r1)],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: ["delete pod web-2"],
    },
    {
      name: "a failed pod is replaced under its name",
      set: v1,
      pods: [pod(0, r1), pod(1, r1, { phase: "Failed", ready: false }), pod(2, r1)],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: ["delete pod web-1"],
    },
    {
      name: "rolling update: the highest out-of-date ordinal goes",
      set: v2,
      pods: [pod(0, r1), pod(1, r1), pod(2, r1)],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: ["delete pod web-2"],
    },
    {
      name: "rolling update: waits for the updated pod to be ready",
      set: v2,
      pods: [pod(0, r1), pod(1, r1), pod(2, r2, { ready: false })],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: [],
    },
    {
      name: "partition 2: ordinals below it keep the old revision",
      set: statefulSet({
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
      }, "busybox:2"),
      pods: [pod(0, r1), pod(1, r1), pod(2, r2)],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: [],
    },
    {
      name: "OnDelete: old pods stay",
      set: statefulSet({ updateStrategy: { type: "OnDelete" } }, "busybox:2"),
      pods: [pod(0, r1), pod(1, r1), pod(2, r1)],
      claims: ["www-web-0", "www-web-1", "www-web-2"],
      want: [],
    },
  ];
  for (const c of cases) {
    const revs = c.set.spec!.template.spec.containers[0].image === "busybox:2" ? [r1, r2] : [r1];
    c.set.status = { currentRevision: r1.metadata.name };
    const { client, controller } = setup(c.set, {
      pods: c.pods,
      revisions: revs,
      claims: (c.claims ?? []).map((n) => claim(n)),
    });
    await controller.syncStatefulSet("ns/web");
    assert.deepEqual(podWrites(client), c.want, c.name);
  }
});

Deno.test("a new pod has its identity, claims and revision", async () => {
  const set = statefulSet();
  const r1 = revisionOf(set, 1);
  const { client, controller } = setup(set, { revisions: [r1] });
  await controller.syncStatefulSet("ns/web");
  const p = client.bodies("create", "pods")[0];
  assert.equal(p.metadata.name, "web-0");
  assert.equal(p.spec!.hostname, "web-0");
  assert.equal(p.spec!.subdomain, "nginx");
  assert.deepEqual(p.metadata.labels, {
    app: "nginx",
    [STATEFULSET_REVISION_LABEL]: r1.metadata.name!,
    "statefulset.kubernetes.io/pod-name": "web-0",
    "apps.kubernetes.io/pod-index": "0",
  });
  assert.deepEqual(p.spec!.volumes, [{
    name: "www",
    persistentVolumeClaim: { claimName: "www-web-0" },
  }]);
  const pvc = client.bodies("create", "persistentvolumeclaims")[0];
  assert.deepEqual(pvc.metadata.labels, { app: "nginx" });
  assert.deepEqual(pvc.metadata.ownerReferences, [], "Retain: the claim outlives the set");
});

Deno.test("persistentVolumeClaimRetentionPolicy sets claim owners as Kubernetes does", async () => {
  const set = statefulSet({
    replicas: 1,
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
  });
  const r1 = revisionOf(set, 1);
  const { client, controller } = setup(set, {
    pods: [pod(0, r1), pod(1, r1)],
    revisions: [r1],
    claims: [claim("www-web-0"), claim("www-web-1")],
  });
  await controller.syncStatefulSet("ns/web");
  const patches = client.writes().filter((w) => w.resource === "persistentvolumeclaims");
  const owners = Object.fromEntries(
    patches.map((p) => [p.name, (p.body as Any).metadata.ownerReferences.map((r: Any) => r.kind)]),
  );
  // whenDeleted: the set owns the live ordinal's claim; whenScaled: condemned web-1 owns its own.
  assert.deepEqual(owners, { "www-web-0": ["StatefulSet"], "www-web-1": ["Pod"] });
  assert.ok(client.writes().some((w) => w.verb === "delete" && w.name === "web-1"));
});

Deno.test("updateStatefulSetStatus() counts replicas and completes the rolling update", async () => {
  const v1 = statefulSet();
  const r1 = revisionOf(v1, 1);
  const v2 = statefulSet({}, "busybox:2");
  const r2 = revisionOf(v2, 2);
  v2.status = { currentRevision: r1.metadata.name };
  const mid = setup(v2, {
    pods: [pod(0, r1), pod(1, r2), pod(2, r2, { ready: false })],
    revisions: [r1, r2],
    claims: ["www-web-0", "www-web-1", "www-web-2"].map((n) => claim(n)),
  });
  const r = await mid.controller.syncStatefulSet("ns/web");
  assert.deepEqual(r!.status, {
    observedGeneration: 1,
    replicas: 3,
    readyReplicas: 2,
    availableReplicas: 2,
    currentReplicas: 1,
    updatedReplicas: 2,
    currentRevision: r1.metadata.name,
    updateRevision: r2.metadata.name,
    collisionCount: 0,
  });

  const done = setup(v2, {
    pods: [pod(0, r2), pod(1, r2), pod(2, r2)],
    revisions: [r1, r2],
    claims: ["www-web-0", "www-web-1", "www-web-2"].map((n) => claim(n)),
  });
  await done.controller.syncStatefulSet("ns/web");
  const written = done.client.writes().find((w) => w.subresource === "status")!.body as KubeObject;
  assert.deepEqual(written.status!.currentRevision, r2.metadata.name);
  assert.equal(written.status!.currentReplicas, 3);
});

Deno.test("getStatefulSetRevisions() renumbers an equal old revision on rollback", async () => {
  const v1 = statefulSet();
  const v2 = statefulSet({}, "busybox:2");
  const { client, controller } = setup(v1, {
    revisions: [revisionOf(v1, 1), revisionOf(v2, 2)],
    pods: [],
  });
  await controller.syncStatefulSet("ns/web");
  assert.deepEqual(client.bodies("create", "controllerrevisions"), []);
  const updated = client.writes().filter((w) =>
    w.resource === "controllerrevisions" && w.verb === "update"
  ).map((w) => (w.body as Revision).revision);
  assert.deepEqual(updated, [3]);
});
