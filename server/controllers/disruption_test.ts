import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { DisruptionReconciler, scaledValue } from "./disruption.ts";
import { lastStatus } from "./_recorded_test_util.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const T0 = "2026-01-01T00:00:00Z";

function pdb(spec: Obj, status: Obj = {}): KubeObject {
  return {
    metadata: { name: "web", namespace: "default", uid: "pdb-uid", generation: 1 },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
    status,
  };
}

function pod(name: string, o: { ready?: boolean; owner?: string; deleting?: boolean } = {}) {
  const p: KubeObject = {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: { app: "web" },
      ownerReferences: o.owner === undefined
        ? [{
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web-rs",
          uid: "rs-uid",
          controller: true,
        }]
        : o.owner === ""
        ? []
        : [{
          apiVersion: "batch/v1",
          kind: o.owner,
          name: "x",
          uid: "x-uid",
          controller: true,
        }],
    },
    spec: {},
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
  if (o.deleting) p.metadata.deletionTimestamp = T0;
  return p;
}

const RS: KubeObject = {
  metadata: {
    name: "web-rs",
    namespace: "default",
    uid: "rs-uid",
    ownerReferences: [{
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "web",
      uid: "d-uid",
      controller: true,
    }],
  },
  spec: { replicas: 3 },
};
const DEPLOY: KubeObject = {
  metadata: { name: "web", namespace: "default", uid: "d-uid" },
  spec: { replicas: 4 },
};

interface Case {
  name: string;
  pdb: KubeObject;
  pods: KubeObject[];
  status?: Obj;
  events?: string[];
}

const CASES: Case[] = [
  {
    name: "minAvailable 2 of 3 ready pods allows one disruption",
    pdb: pdb({ minAvailable: 2 }),
    pods: [pod("a"), pod("b"), pod("c")],
    status: { expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 },
  },
  {
    name: "an unready pod does not count as healthy",
    pdb: pdb({ minAvailable: 2 }),
    pods: [pod("a"), pod("b", { ready: false })],
    status: { currentHealthy: 1, disruptionsAllowed: 0 },
  },
  {
    name: "maxUnavailable is taken of the Deployment's scale",
    pdb: pdb({ maxUnavailable: 1 }),
    pods: [pod("a"), pod("b"), pod("c"), pod("d")],
    status: { expectedPods: 4, desiredHealthy: 3, disruptionsAllowed: 1 },
  },
  {
    name: "a percentage minAvailable rounds up",
    pdb: pdb({ minAvailable: "50%" }),
    pods: [pod("a"), pod("b"), pod("c")],
    status: { expectedPods: 4, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 },
  },
  {
    name: "pods of a controller without a scale make the budget refuse everything",
    pdb: pdb({ maxUnavailable: 1 }),
    pods: [pod("a", { owner: "Job" })],
    status: { disruptionsAllowed: 0 },
    events: ["CalculateExpectedPodCountFailed"],
  },
  {
    name: "an evicted pod stays out of the healthy count until it is being deleted",
    pdb: pdb({ minAvailable: 1 }, { disruptedPods: { a: "2026-01-01T00:00:00Z" } }),
    pods: [pod("a"), pod("b")],
    status: {
      currentHealthy: 1,
      disruptionsAllowed: 0,
      disruptedPods: { a: "2026-01-01T00:00:00Z" },
    },
  },
  {
    name: "a disrupted pod being deleted leaves disruptedPods",
    pdb: pdb({ minAvailable: 1 }, { disruptedPods: { a: "2026-01-01T00:00:00Z" } }),
    pods: [pod("a", { deleting: true }), pod("b"), pod("c")],
    status: { currentHealthy: 2, disruptionsAllowed: 1, disruptedPods: undefined },
  },
];

for (const c of CASES) {
  Deno.test(`DisruptionReconciler.reconcile(): ${c.name}`, async () => {
    const client = new RecordingClient();
    const recorder = new FakeRecorder();
    const r = new DisruptionReconciler({
      listers: {
        pdbs: new FakeLister([c.pdb]),
        pods: new FakeLister(c.pods),
        replicaSets: new FakeLister([RS]),
        deployments: new FakeLister([DEPLOY]),
        replicationControllers: new FakeLister([]),
      },
      client,
      recorder,
      clock: new FakeClock(Date.parse(T0) + 10_000),
    });
    await r.reconcile("default/web");
    const status = lastStatus(client) ?? {};
    for (const [k, v] of Object.entries(c.status ?? {})) assert.deepEqual(status[k], v, k);
    assert.equal(status.observedGeneration, 1);
    for (const e of c.events ?? []) assert.ok(recorder.reasons().includes(e));
  });
}

Deno.test("scaledValue() rounds percentages up", () => {
  assert.equal(scaledValue("25%", 3), 1);
  assert.equal(scaledValue("50%", 5), 3);
  assert.equal(scaledValue(2, 10), 2);
});
