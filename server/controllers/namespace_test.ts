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
    actions: ["deletecollection pods team", "deletecollection configmaps team"],
    requeued: true,
  },
  {
    name: "does not delete again what is already terminating, but waits for it",
    ns: terminating,
    pods: [obj("p", true)],
    configMaps: [],
    actions: [],
    requeued: true,
  },
  {
    name: "finalizes an empty namespace after deleting its events",
    ns: terminating,
    pods: [],
    configMaps: [],
    actions: ["deletecollection events team", "request PUT /api/v1/namespaces/team/finalize"],
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
