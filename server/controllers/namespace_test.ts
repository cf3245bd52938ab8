import assert from "node:assert/strict";
import { Namespace } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { CONFIGMAPS, PODS } from "../../shared/client/refs.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { NamespaceReconciler, RECHECK_MS } from "./namespace.ts";

const terminating = Namespace.parse({
  metadata: { name: "team", deletionTimestamp: "2026-01-01T00:00:00Z" },
});
const obj = (name: string, deleting = false): KubeObject => ({
  metadata: {
    name,
    namespace: "team",
    ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
});

function setup(ns: Namespace, pods: KubeObject[], configMaps: KubeObject[]) {
  const client = new RecordingClient();
  const requeued: [string, number][] = [];
  const reconciler = new NamespaceReconciler({
    listers: {
      namespaces: new FakeLister([ns]),
      contents: [
        { resource: PODS, lister: new FakeLister(pods) },
        { resource: CONFIGMAPS, lister: new FakeLister(configMaps) },
      ],
    },
    client,
    enqueueAfter: (name, ms) => requeued.push([name, ms]),
  });
  return { client, reconciler, requeued };
}

const cases: {
  name: string;
  ns: Namespace;
  pods: KubeObject[];
  configMaps: KubeObject[];
  actions: string[];
  requeued: boolean;
}[] = [
  {
    name: "deletes every kind with live objects and looks again later",
    ns: terminating,
    pods: [obj("p")],
    configMaps: [obj("c")],
    actions: [
      "update/status namespaces team",
      "deletecollection pods team",
      "deletecollection configmaps team",
    ],
    requeued: true,
  },
  {
    name: "does not delete again what is already terminating, but waits for it",
    ns: terminating,
    pods: [obj("p", true)],
    configMaps: [],
    actions: ["update/status namespaces team"],
    requeued: true,
  },
  {
    name: "finalizes an empty namespace after deleting its events",
    ns: terminating,
    pods: [],
    configMaps: [],
    actions: [
      "update/status namespaces team",
      "deletecollection events team",
      "request PUT /api/v1/namespaces/team/finalize",
    ],
    requeued: false,
  },
  {
    name: "leaves an active namespace alone",
    ns: Namespace.parse({ metadata: { name: "team" } }),
    pods: [obj("p")],
    configMaps: [],
    actions: [],
    requeued: false,
  },
];

for (const c of cases) {
  Deno.test(`NamespaceReconciler.reconcile() ${c.name}`, async () => {
    const { client, reconciler, requeued } = setup(c.ns, c.pods, c.configMaps);
    await reconciler.reconcile("team");
    assert.deepEqual(client.actions(), c.actions);
    assert.deepEqual(requeued, c.requeued ? [["team", RECHECK_MS]] : []);
  });
}

Deno.test("finalizeNamespace() removes only the kubernetes finalizer", async () => {
  const ns = Namespace.parse({
    metadata: { name: "team", deletionTimestamp: "2026-01-01T00:00:00Z" },
    spec: { finalizers: ["kubernetes", "example.com/keep"] },
  });
  const { client, reconciler } = setup(ns, [], []);
  await reconciler.reconcile("team");
  const [finalize] = client.writes().filter((c) => c.verb === "request");
  assert.deepEqual((finalize.body as Namespace).spec.finalizers, ["example.com/keep"]);
});

Deno.test("a terminating namespace's conditions say what remains and which finalizers hold it", async () => {
  const held = (name: string) => ({
    ...obj(name, true),
    metadata: { ...obj(name, true).metadata, finalizers: ["example.com/hold"] },
  });
  const { client, reconciler } = setup(terminating, [obj("p"), held("q")], [held("c")]);
  await reconciler.reconcile("team");
  const [status] = client.writes().filter((c) => c.verb === "update" && c.subresource === "status");
  const conditions = (status.body as Namespace).status.conditions!;
  const byType = Object.fromEntries(
    conditions.map((c) => [c.type, [c.status, c.reason, c.message]]),
  );
  assert.deepEqual(byType.NamespaceContentRemaining, [
    "True",
    "SomeResourcesRemain",
    "Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances",
  ]);
  assert.deepEqual(byType.NamespaceFinalizersRemaining, [
    "True",
    "SomeFinalizersRemain",
    "Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances",
  ]);
  assert.deepEqual(byType.NamespaceDeletionContentFailure[0], "False");
  // Written once: the same conditions again are no write.
  const again = setup(
    Namespace.parse({ ...terminating, status: { phase: "Terminating", conditions } }),
    [obj("p"), held("q")],
    [held("c")],
  );
  await again.reconciler.reconcile("team");
  assert.ok(!again.client.actions().includes("update/status namespaces team"));
});
