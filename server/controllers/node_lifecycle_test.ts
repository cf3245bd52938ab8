import assert from "node:assert/strict";
import { Lease } from "../../shared/api/coordination_v1.ts";
import { Node, Pod, type Taint, type Toleration } from "../../shared/api/core_v1.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import {
  desiredTaints,
  evictionTime,
  NodeLifecycleReconciler,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
} from "./node_lifecycle.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const GRACE = 15_000;

function node(o: {
  ready?: "True" | "False" | "Unknown";
  reason?: string;
  taints?: Taint[];
  cordoned?: boolean;
} = {}): Node {
  return Node.parse({
    metadata: { name: "n1" },
    spec: { taints: o.taints, unschedulable: o.cordoned },
    status: {
      conditions: [{
        type: "Ready",
        status: o.ready ?? "True",
        reason: o.reason ?? "KubeletReady",
      }],
    },
  });
}

function pod(name: string, tolerations: Toleration[] = []): Pod {
  return Pod.parse({
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: { nodeName: "n1", tolerations, containers: [{ name: "c", image: "x" }] },
    status: { phase: "Running" },
  });
}

const unreachableFor = (seconds?: number): Toleration => ({
  key: TAINT_UNREACHABLE,
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: seconds,
});

function lease(renewTime: string): Lease {
  return Lease.parse({
    metadata: { name: "n1", namespace: "kube-node-lease" },
    spec: { renewTime },
  });
}

function setup(n: Node, pods: Pod[] = []) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const clock = new FakeClock(T0);
  const requeued: [string, number][] = [];
  const reconciler = new NodeLifecycleReconciler({
    listers: { nodes: new FakeLister([n]), pods: new FakeLister(pods) },
    client,
    recorder,
    clock,
    nodeMonitorGracePeriodMs: GRACE,
    enqueueAfter: (name, ms) => requeued.push([name, ms]),
  });
  return { client, recorder, clock, requeued, reconciler };
}

const taintKeys = (taints: Taint[]) => taints.map((t) => `${t.key}:${t.effect}`);

Deno.test("a node whose lease is fresh is left alone", async () => {
  const { client, reconciler, clock } = setup(node());
  reconciler.observeLease(lease("2026-01-01T00:00:00.000000Z"));
  clock.advance(GRACE);
  await reconciler.reconcile("n1");
  assert.deepEqual(client.actions(), []);
});

Deno.test("after a server restart, a lease renewed long before it gets a full grace period", async () => {
  // The server was down for an hour: the stored lease is an hour old, through no fault of the
  // node's (it could not renew). Ages count from when this controller saw the lease.
  const { client, reconciler, clock } = setup(node());
  clock.advance(3_600_000);
  reconciler.observeLease(lease("2026-01-01T00:00:00.000000Z"));
  clock.advance(GRACE);
  await reconciler.reconcile("n1");
  assert.deepEqual(client.actions(), []);
  clock.advance(1);
  await reconciler.reconcile("n1");
  assert.deepEqual(client.actions(), ["patch/status nodes n1", "patch nodes n1"]);
});

Deno.test("a lease older than the grace period makes the node Unknown and unreachable-tainted", async () => {
  const { client, recorder, reconciler, clock } = setup(node());
  reconciler.observeLease(lease("2026-01-01T00:00:00.000000Z"));
  clock.advance(GRACE + 1);
  await reconciler.reconcile("n1");
  assert.deepEqual(client.actions(), ["patch/status nodes n1", "patch nodes n1"]);
  const [status, spec] = client.writes().map((c) =>
    c.body as { status: { conditions: { status: string }[] }; spec: { taints: Taint[] } }
  );
  assert.equal(status.status.conditions[0].status, "Unknown");
  assert.deepEqual(taintKeys(spec.spec.taints), [
    `${TAINT_UNREACHABLE}:NoSchedule`,
    `${TAINT_UNREACHABLE}:NoExecute`,
  ]);
  assert.equal(spec.spec.taints[0].timeAdded, clock.iso());
  assert.deepEqual(recorder.reasons(), ["NodeNotReady"]);
});

Deno.test("a renewed lease after our own Unknown makes the node Ready and removes the taints", async () => {
  const tainted = node({
    ready: "Unknown",
    reason: "NodeStatusUnknown",
    taints: [{ key: TAINT_UNREACHABLE, effect: "NoExecute" }],
  });
  const { client, recorder, reconciler } = setup(tainted);
  reconciler.observeLease(lease("2026-01-01T00:00:00.000000Z"));
  await reconciler.reconcile("n1");
  const [status, spec] = client.writes().map((c) =>
    c.body as { status: { conditions: { status: string }[] }; spec: { taints: Taint[] } }
  );
  assert.equal(status.status.conditions[0].status, "True");
  assert.deepEqual(spec.spec.taints, []);
  assert.deepEqual(recorder.reasons(), ["NodeReady"]);
});

Deno.test("observeLease() asks for a reconcile only when a known lease is renewed", () => {
  const { reconciler } = setup(node());
  assert.equal(reconciler.observeLease(lease("t1")), undefined);
  assert.equal(reconciler.observeLease(lease("t1")), undefined);
  assert.equal(reconciler.observeLease(lease("t2")), "n1");
});

const taintCases: {
  name: string;
  taints: Taint[];
  ready: "True" | "False" | "Unknown";
  cordoned?: boolean;
  want: string[];
}[] = [
  { name: "Ready: none", taints: [], ready: "True", want: [] },
  {
    name: "Ready=False: the not-ready pair",
    taints: [],
    ready: "False",
    want: [`${TAINT_NOT_READY}:NoSchedule`, `${TAINT_NOT_READY}:NoExecute`],
  },
  {
    name: "Unknown after False: not-ready goes, unreachable comes",
    taints: [{ key: TAINT_NOT_READY, effect: "NoExecute" }],
    ready: "Unknown",
    want: [`${TAINT_UNREACHABLE}:NoSchedule`, `${TAINT_UNREACHABLE}:NoExecute`],
  },
  {
    name: "cordoned: the unschedulable taint; a user's taint stays",
    taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
    ready: "True",
    cordoned: true,
    want: ["dedicated:NoSchedule", `${TAINT_UNSCHEDULABLE}:NoSchedule`],
  },
  {
    name: "uncordoned: the unschedulable taint goes",
    taints: [{ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" }],
    ready: "True",
    want: [],
  },
];

for (const c of taintCases) {
  Deno.test(`desiredTaints(): ${c.name}`, () => {
    const got = desiredTaints(c.taints, {
      ready: c.ready,
      cordoned: c.cordoned ?? false,
      now: "2026-01-01T00:00:00Z",
    });
    assert.deepEqual(taintKeys(got), c.want);
  });
}

Deno.test("desiredTaints() keeps an existing taint (and its timeAdded) as it is", () => {
  const t: Taint = {
    key: TAINT_UNREACHABLE,
    effect: "NoExecute",
    timeAdded: "2025-12-31T00:00:00Z",
  };
  const got = desiredTaints([t], {
    ready: "Unknown",
    cordoned: false,
    now: "2026-01-01T00:00:00Z",
  });
  assert.equal(got[0], t);
});

const evictionCases: {
  name: string;
  tolerations: Toleration[];
  /** Seconds after the taint was added; Infinity for never. */
  want: number;
}[] = [
  { name: "no toleration: now", tolerations: [], want: 0 },
  { name: "tolerationSeconds 15: taint time + 15 s", tolerations: [unreachableFor(15)], want: 15 },
  { name: "no tolerationSeconds: never", tolerations: [unreachableFor()], want: Infinity },
  {
    name: "the shortest matching toleration wins",
    tolerations: [unreachableFor(60), { operator: "Exists", tolerationSeconds: 5 }],
    want: 5,
  },
  {
    name: "a NoSchedule toleration does not tolerate NoExecute",
    tolerations: [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoSchedule" }],
    want: 0,
  },
];

for (const c of evictionCases) {
  Deno.test(`evictionTime(): ${c.name}`, () => {
    const taint: Taint = {
      key: TAINT_UNREACHABLE,
      effect: "NoExecute",
      timeAdded: "2026-01-01T00:00:00Z",
    };
    const at = evictionTime([taint], c.tolerations, T0 + 1000);
    const want = c.want === Infinity ? Infinity : c.want === 0 ? 0 : T0 + c.want * 1000;
    assert.equal(at, want);
  });
}

Deno.test("the taint manager evicts when the toleration runs out and re-queues until then", async () => {
  const tainted = node({
    ready: "Unknown",
    reason: "NodeStatusUnknown",
    taints: [
      { key: TAINT_UNREACHABLE, effect: "NoSchedule", timeAdded: "2026-01-01T00:00:00Z" },
      { key: TAINT_UNREACHABLE, effect: "NoExecute", timeAdded: "2026-01-01T00:00:00Z" },
    ],
  });
  const pods = [
    pod("patient", [unreachableFor(15)]),
    pod("forever", [unreachableFor()]),
    pod("intolerant"),
  ];
  const { client, recorder, clock, requeued, reconciler } = setup(tainted, pods);
  clock.advance(GRACE + 10_000); // 25 s after the taint
  await reconciler.reconcile("n1");
  assert.deepEqual(client.actions(), [
    "delete pods default/patient",
    "delete pods default/intolerant",
  ]);
  assert.deepEqual(recorder.reasons(), ["TaintManagerEviction", "TaintManagerEviction"]);

  // 10 s after the taint: only the intolerant pod goes; the node comes back in 5 s.
  const early = setup(tainted, pods);
  early.clock.set(T0 + 10_000);
  await early.reconciler.processPodsOnNode("n1", tainted.spec.taints!);
  assert.deepEqual(early.client.actions(), ["delete pods default/intolerant"]);
  assert.deepEqual(early.requeued, [["n1", 5_000]]);
  assert.deepEqual(requeued, []);
});
