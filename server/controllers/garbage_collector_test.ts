import assert from "node:assert/strict";
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { CONFIGMAPS, PODS, REPLICASETS } from "../../shared/client/refs.ts";
import { FakeClock, FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { GarbageCollector, SETTLE_MS } from "./garbage_collector.ts";
import { FOREGROUND, ORPHAN, OwnerGraph } from "./owner_graph.ts";

const rsRef = (uid: string, name = "rs"): OwnerReference => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  name,
  uid,
  controller: true,
});

function obj(name: string, uid: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return { metadata: { name, namespace: "default", uid, resourceVersion: "5", ...extra } };
}

/** A collector over `objects` (by resource), with the graph fed as the informers would. */
function setup(objects: [ResourceRef, KubeObject][]) {
  const graph = new OwnerGraph();
  const listers = new Map<string, FakeLister<KubeObject>>();
  for (const [r, o] of objects) {
    let l = listers.get(r.plural);
    if (!l) listers.set(r.plural, l = new FakeLister());
    l.set(o);
    graph.upsert(r, o);
  }
  const client = new RecordingClient();
  const clock = new FakeClock();
  const requeued: [string, number][] = [];
  const gc = new GarbageCollector({
    graph,
    listerFor: (r) => listers.get(r.plural),
    client,
    clock,
    enqueueAfter: (uid, ms) => requeued.push([uid, ms]),
  });
  return { graph, gc, client, clock, requeued, listers };
}

const attemptCases: {
  name: string;
  objects: [ResourceRef, KubeObject][];
  /** What a live GET of the ReplicaSet "rs" returns: its uid, or absent (404). */
  liveOwnerUid?: string;
  actions: string[];
}[] = [
  {
    name: "deletes a pod whose only owner is gone",
    objects: [[PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] })]],
    actions: ["delete pods default/p"],
  },
  {
    name: "keeps a pod whose owner is in the graph",
    objects: [
      [REPLICASETS, obj("rs", "rs-uid")],
      [PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] })],
    ],
    actions: [],
  },
  {
    name: "keeps a pod whose owner the graph has not seen yet but the API has",
    objects: [[PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] })]],
    liveOwnerUid: "rs-uid",
    actions: [],
  },
  {
    name: "deletes a pod whose owner was re-created under another uid",
    objects: [[PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] })]],
    liveOwnerUid: "new-uid",
    actions: ["delete pods default/p"],
  },
  {
    name: "drops only the dangling reference when another owner lives",
    objects: [
      [CONFIGMAPS, obj("cm", "cm-uid")],
      [
        PODS,
        obj("p", "pod-uid", {
          ownerReferences: [rsRef("rs-uid"), {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "cm",
            uid: "cm-uid",
          }],
        }),
      ],
    ],
    actions: ["patch pods default/p"],
  },
  {
    name: "never deletes on an owner of an unknown kind",
    objects: [[
      PODS,
      obj("p", "pod-uid", {
        ownerReferences: [{ apiVersion: "example.com/v1", kind: "Thing", name: "t", uid: "t" }],
      }),
    ]],
    actions: [],
  },
  {
    name: "leaves an object already being deleted",
    objects: [[
      PODS,
      obj("p", "pod-uid", {
        ownerReferences: [rsRef("rs-uid")],
        deletionTimestamp: "2026-01-01T00:00:00Z",
      }),
    ]],
    actions: [],
  },
];

for (const c of attemptCases) {
  Deno.test(`GarbageCollector.reconcile() ${c.name}`, async () => {
    const { gc, client } = setup(c.objects);
    if (c.liveOwnerUid) client.seed(REPLICASETS, obj("rs", c.liveOwnerUid));
    await gc.reconcile("pod-uid");
    assert.deepEqual(client.actions(), c.actions);
  });
}

Deno.test("GarbageCollector deletes in the background with a uid precondition", async () => {
  const { gc, client } = setup([[PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("x")] })]]);
  await gc.reconcile("pod-uid");
  assert.deepEqual(client.writes()[0].options, {
    namespace: "default",
    propagationPolicy: "Background",
    preconditions: { uid: "pod-uid" },
  });
});

Deno.test("an orphaning deletion strips the owner from its dependents, then its finalizer", async () => {
  const { gc, client } = setup([
    [
      REPLICASETS,
      obj("rs", "rs-uid", {
        deletionTimestamp: "2026-01-01T00:00:00Z",
        finalizers: [ORPHAN],
      }),
    ],
    [PODS, obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] })],
  ]);
  await gc.reconcile("rs-uid");
  assert.deepEqual(client.actions(), ["patch pods default/p", "patch replicasets default/rs"]);
  const [pod, rs] = client.writes().map((c) => c.body as KubeObject);
  assert.equal(pod.metadata.ownerReferences, null, "the field goes when no owner is left");
  assert.equal(rs.metadata.finalizers, null);
  assert.equal(rs.metadata.resourceVersion, "5");
});

Deno.test("a foreground deletion deletes dependents first and finishes after they settled", async () => {
  const owner = obj("rs", "rs-uid", {
    deletionTimestamp: "2026-01-01T00:00:00Z",
    finalizers: [FOREGROUND],
  });
  const dep = obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] });
  const { gc, client, graph, clock, requeued } = setup([[REPLICASETS, owner], [PODS, dep]]);
  await gc.reconcile("rs-uid");
  assert.deepEqual(client.actions(), ["delete pods default/p"]);
  assert.equal(
    (client.writes()[0].options as { propagationPolicy: string }).propagationPolicy,
    "Foreground",
  );
  // The dependent goes: the owner waits SETTLE_MS without dependents before its finalizer goes.
  client.clear();
  assert.deepEqual(graph.remove(dep), ["rs-uid"]);
  await gc.reconcile("rs-uid");
  assert.deepEqual(client.actions(), []);
  assert.deepEqual(requeued, [["rs-uid", SETTLE_MS]]);
  clock.advance(SETTLE_MS);
  await gc.reconcile("rs-uid");
  assert.deepEqual(client.actions(), ["patch replicasets default/rs"]);
});

Deno.test("OwnerGraph.upsert() reports the object and, when new, its waiting dependents", () => {
  const graph = new OwnerGraph();
  const dep = obj("p", "pod-uid", { ownerReferences: [rsRef("rs-uid")] });
  assert.deepEqual(graph.upsert(PODS, dep), ["pod-uid"]);
  assert.deepEqual(graph.upsert(REPLICASETS, obj("rs", "rs-uid")), ["pod-uid"]);
  // Seen before and without owners: nothing to do.
  assert.deepEqual(graph.upsert(REPLICASETS, obj("rs", "rs-uid")), []);
  assert.deepEqual(graph.dependentsOf("rs-uid"), ["pod-uid"]);
  // The pod drops its reference: the edge goes.
  graph.upsert(PODS, obj("p", "pod-uid"));
  assert.deepEqual(graph.dependentsOf("rs-uid"), []);
});
