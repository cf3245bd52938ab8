import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { PODS } from "../../shared/client/refs.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { newRevision, type Revision, revisionHash } from "./controller_history.ts";
import { DAEMONSET_HASH_LABEL, DaemonSetController, syncState } from "./daemon_set.ts";
import { daemonTemplate, nodeShouldRunDaemonPod, targetNodeName } from "./daemon_set_node.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const NOW = Date.parse("2026-01-01T00:10:00Z");

function node(
  name: string,
  o: { labels?: Record<string, string>; taints?: Any[]; ready?: boolean } = {},
): KubeObject {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { taints: o.taints },
    status: { conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  };
}

function daemonSet(spec: Any = {}, template: Any = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "ns", uid: "ds-uid", generation: 1 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "a", image: "busybox:1" }], ...template },
      },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      minReadySeconds: 0,
      ...spec,
    },
    status: {},
  };
}

let podN = 0;
function pod(
  ds: KubeObject,
  nodeName: string,
  o: { hash?: string; ready?: boolean; created?: string; phase?: string; deleting?: boolean } = {},
): KubeObject {
  const name = `agent-p${podN++}`;
  return {
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      creationTimestamp: o.created ?? "2026-01-01T00:00:00Z",
      deletionTimestamp: o.deleting ? "2026-01-01T00:09:00Z" : undefined,
      labels: { app: "agent", [DAEMONSET_HASH_LABEL]: o.hash ?? hashOf(ds) },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        name: "agent",
        uid: "ds-uid",
        controller: true,
      }],
    },
    spec: { nodeName, containers: [] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{
        type: "Ready",
        status: o.ready === false ? "False" : "True",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    },
  };
}

function hashOf(ds: KubeObject): string {
  return revisionHash(ds.spec!.template);
}

function revisionOf(ds: KubeObject, revision: number): Revision {
  const hash = hashOf(ds);
  const r = newRevision(ds, {
    type: { apiVersion: "apps/v1", kind: "DaemonSet" },
    template: ds.spec!.template,
    revision,
    hash,
    labels: { app: "agent", [DAEMONSET_HASH_LABEL]: hash },
  });
  r.metadata.uid = `uid-${r.metadata.name}`;
  return r;
}

function setup(
  ds: KubeObject,
  o: { nodes: KubeObject[]; pods?: KubeObject[]; revisions?: Revision[] },
) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const controller = new DaemonSetController({
    listers: {
      daemonSets: new FakeLister([ds]),
      nodes: new FakeLister(o.nodes),
      pods: new FakeLister(o.pods ?? []),
      revisions: new FakeLister<Revision>(o.revisions ?? [revisionOf(ds, 1)]),
    },
    client,
    recorder,
    clock: new FakeClock(NOW),
  });
  return { client, recorder, controller };
}

const writes = (c: RecordingClient, verb: string, resource: string, subresource?: string) =>
  c.writes().filter((w) =>
    w.verb === verb && w.resource === resource && w.subresource === subresource
  );
const created = (c: RecordingClient) =>
  c.bodies("create", "pods").map((p) => targetNodeName(p)).sort();
const deleted = (c: RecordingClient) => writes(c, "delete", "pods").map((x) => x.name).sort();
const statusOf = (c: RecordingClient) =>
  (writes(c, "update", "daemonsets", "status").at(-1)?.body as KubeObject | undefined)?.status;

Deno.test("nodeShouldRunDaemonPod() follows selectors, affinity, taints and the added tolerations", () => {
  const cases: { name: string; ds: KubeObject; node: KubeObject; want: [boolean, boolean] }[] = [
    { name: "plain node", ds: daemonSet(), node: node("a"), want: [true, true] },
    {
      name: "nodeSelector mismatch",
      ds: daemonSet({}, { nodeSelector: { disk: "ssd" } }),
      node: node("a"),
      want: [false, false],
    },
    {
      name: "nodeSelector match",
      ds: daemonSet({}, { nodeSelector: { disk: "ssd" } }),
      node: node("a", { labels: { disk: "ssd" } }),
      want: [true, true],
    },
    {
      name: "required affinity NotIn",
      ds: daemonSet({}, {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{
                matchExpressions: [{ key: "role", operator: "NotIn", values: ["edge"] }],
              }],
            },
          },
        },
      }),
      node: node("a", { labels: { role: "edge" } }),
      want: [false, false],
    },
    {
      name: "untolerated NoSchedule taint: no new pod, the old one stays",
      ds: daemonSet(),
      node: node("a", { taints: [{ key: "dedicated", effect: "NoSchedule" }] }),
      want: [false, true],
    },
    {
      name: "untolerated NoExecute taint",
      ds: daemonSet(),
      node: node("a", { taints: [{ key: "dedicated", effect: "NoExecute" }] }),
      want: [false, false],
    },
    {
      name: "template toleration",
      ds: daemonSet({}, {
        tolerations: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
      }),
      node: node("a", {
        taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
      }),
      want: [true, true],
    },
    {
      name: "cordoned and under memory pressure: tolerated automatically",
      ds: daemonSet(),
      node: node("a", {
        taints: [
          { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
          { key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" },
          { key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" },
          { key: "node.kubernetes.io/pid-pressure", effect: "NoSchedule" },
        ],
      }),
      want: [true, true],
    },
    {
      name: "unreachable NoExecute tolerated, its NoSchedule twin not",
      ds: daemonSet(),
      node: node("a", {
        ready: false,
        taints: [
          { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
          { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" },
        ],
      }),
      want: [false, true],
    },
    {
      name: "network unavailable: only host-network pods",
      ds: daemonSet(),
      node: node("a", {
        taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }],
      }),
      want: [false, true],
    },
    {
      name: "network unavailable, hostNetwork pod",
      ds: daemonSet({}, { hostNetwork: true }),
      node: node("a", {
        taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }],
      }),
      want: [true, true],
    },
    {
      name: "not ready, not yet tainted",
      ds: daemonSet(),
      node: node("a", { ready: false }),
      want: [false, true],
    },
    {
      name: "template nodeName elsewhere",
      ds: daemonSet({}, { nodeName: "b" }),
      node: node("a"),
      want: [false, false],
    },
  ];
  for (const c of cases) {
    const r = nodeShouldRunDaemonPod(c.node, daemonTemplate(c.ds));
    assert.deepEqual([r.shouldRun, r.shouldContinueRunning], c.want, c.name);
  }
});

Deno.test("syncDaemonSet() creates one pinned, tolerating pod per eligible node and a revision", async () => {
  const ds = daemonSet({}, { nodeSelector: { pi: "yes" } });
  const nodes = [
    node("a", { labels: { pi: "yes" } }),
    node("b", { labels: { pi: "no" } }),
    node("c", { labels: { pi: "yes" }, taints: [{ key: "x", effect: "NoSchedule" }] }),
    node("d", {
      labels: { pi: "yes" },
      taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }],
    }),
  ];
  const { client, controller } = setup(ds, { nodes, revisions: [] });
  await controller.syncDaemonSet("ns/agent");
  assert.deepEqual(created(client), ["a", "d"]);
  const p = client.bodies("create", "pods")[0];
  assert.equal(p.spec!.nodeName, undefined, "the scheduler binds daemon pods");
  assert.deepEqual(
    p.spec!.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
      .nodeSelectorTerms[0]
      .matchFields,
    [{ key: "metadata.name", operator: "In", values: [targetNodeName(p)] }],
  );
  const keys = (p.spec!.tolerations as Any[]).map((t) => `${t.key}:${t.effect}`);
  for (
    const k of [
      "node.kubernetes.io/not-ready:NoExecute",
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/disk-pressure:NoSchedule",
      "node.kubernetes.io/memory-pressure:NoSchedule",
      "node.kubernetes.io/pid-pressure:NoSchedule",
      "node.kubernetes.io/unschedulable:NoSchedule",
    ]
  ) assert.ok(keys.includes(k), k);
  assert.ok(!keys.includes("node.kubernetes.io/network-unavailable:NoSchedule"));
  assert.deepEqual(p.metadata.labels![DAEMONSET_HASH_LABEL], hashOf(ds));
  assert.equal(p.metadata.ownerReferences![0].uid, "ds-uid");
  const rev = client.bodies<Revision>("create", "controllerrevisions")[0];
  assert.equal(rev.revision, 1);
  assert.deepEqual(rev.metadata.name, `agent-${hashOf(ds)}`);
  assert.equal((rev.data as Any).spec.template.$patch, "replace");

  // Until the informer shows them, a second sync must not create again.
  client.clear();
  await controller.syncDaemonSet("ns/agent");
  assert.deepEqual(created(client), []);
});

Deno.test("manage() deletes pods on ineligible, vanished and duplicate nodes", async () => {
  const ds = daemonSet({}, { nodeSelector: { pi: "yes" } });
  const nodes = [
    node("a", { labels: { pi: "yes" } }),
    node("b", { labels: { pi: "no" } }),
    node("c", { labels: { pi: "yes" }, taints: [{ key: "x", effect: "NoExecute" }] }),
    node("d", { labels: { pi: "yes" }, taints: [{ key: "x", effect: "NoSchedule" }] }),
  ];
  const keep = pod(ds, "a", { created: "2026-01-01T00:00:00Z" });
  const dup = pod(ds, "a", { created: "2026-01-01T00:01:00Z" });
  const onB = pod(ds, "b");
  const onC = pod(ds, "c");
  const onD = pod(ds, "d");
  const onGone = pod(ds, "gone");
  const terminating = pod(ds, "b", { deleting: true });
  const { client, controller } = setup(ds, {
    nodes,
    pods: [keep, dup, onB, onC, onD, onGone, terminating],
  });
  await controller.syncDaemonSet("ns/agent");
  assert.deepEqual(deleted(client), [dup, onB, onC, onGone].map((p) => p.metadata.name).sort());
  assert.deepEqual(created(client), []);
});

Deno.test("a node whose daemon pod is terminating waits for it before getting a new one", async () => {
  const ds = daemonSet();
  const { client, controller } = setup(ds, {
    nodes: [node("a")],
    pods: [pod(ds, "a", { deleting: true })],
  });
  await controller.syncDaemonSet("ns/agent");
  assert.deepEqual(created(client), []);
  assert.deepEqual(deleted(client), []);
});

Deno.test("rollingUpdate() replaces pods within maxUnavailable and maxSurge", async () => {
  const old = daemonSet();
  const ds = daemonSet({}, { containers: [{ name: "a", image: "busybox:2" }] });
  const oldHash = hashOf(old);
  const nodes = [node("a"), node("b"), node("c"), node("d")];
  const cases: {
    name: string;
    strategy: Any;
    pods: () => KubeObject[];
    wantDeleted: number;
    wantCreated: string[];
  }[] = [
    {
      name: "maxUnavailable 1: one old pod at a time",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      pods: () => nodes.map((n) => pod(ds, n.metadata.name!, { hash: oldHash })),
      wantDeleted: 1,
      wantCreated: [],
    },
    {
      name: "maxUnavailable 50%: two of four",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%", maxSurge: 0 } },
      pods: () => nodes.map((n) => pod(ds, n.metadata.name!, { hash: oldHash })),
      wantDeleted: 2,
      wantCreated: [],
    },
    {
      name: "an unready new pod uses up the budget",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      pods: () => [
        pod(ds, "a", { ready: false }),
        ...["b", "c", "d"].map((n) => pod(ds, n, { hash: oldHash })),
      ],
      wantDeleted: 0,
      wantCreated: [],
    },
    {
      name: "an unavailable old pod is replaced at once, beyond the budget",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      pods: () => [
        pod(ds, "a", { hash: oldHash, ready: false }),
        ...["b", "c", "d"].map((n) => pod(ds, n, { hash: oldHash })),
      ],
      wantDeleted: 2,
      wantCreated: [],
    },
    {
      name: "maxSurge 1: a new pod beside an old one, nothing deleted",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      pods: () => nodes.map((n) => pod(ds, n.metadata.name!, { hash: oldHash })),
      wantDeleted: 0,
      wantCreated: ["a"],
    },
    {
      name: "maxSurge 1: the old pod goes once its replacement is available",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      pods: () => [
        pod(ds, "a", { hash: oldHash, created: "2026-01-01T00:00:00Z" }),
        pod(ds, "a", { created: "2026-01-01T00:05:00Z" }),
        ...["b", "c", "d"].map((n) => pod(ds, n, { hash: oldHash })),
      ],
      wantDeleted: 1,
      wantCreated: [],
    },
    {
      name: "OnDelete: old pods stay",
      strategy: { type: "OnDelete" },
      pods: () => nodes.map((n) => pod(ds, n.metadata.name!, { hash: oldHash })),
      wantDeleted: 0,
      wantCreated: [],
    },
  ];
  for (const c of cases) {
    const d = { ...ds, spec: { ...ds.spec, updateStrategy: c.strategy } };
    const { client, controller } = setup(d, {
      nodes,
      pods: c.pods(),
      revisions: [revisionOf(old, 1), revisionOf(d, 2)],
    });
    await controller.syncDaemonSet("ns/agent");
    assert.deepEqual(writes(client, "delete", "pods").length, c.wantDeleted, c.name);
    assert.deepEqual(created(client), c.wantCreated, c.name);
  }
});

Deno.test("updateDaemonSetStatus() writes the counters kubectl prints", async () => {
  const old = daemonSet();
  const ds = daemonSet({ minReadySeconds: 60 }, {
    nodeSelector: { pi: "yes" },
    containers: [{ name: "a", image: "busybox:2" }],
  });
  const yes = { labels: { pi: "yes" } };
  const nodes = [node("a", yes), node("b", yes), node("c", yes), node("d", yes), node("e")];
  const recent = "2026-01-01T00:09:30Z";
  const readySince = (p: KubeObject, t: string) => {
    p.status!.conditions[0].lastTransitionTime = t;
    return p;
  };
  const pods = [
    pod(ds, "a"), // updated, ready, available
    readySince(pod(ds, "b"), recent), // updated, ready, not yet available
    pod(ds, "c", { hash: hashOf(old), ready: false }), // old, not ready
    pod(ds, "e"), // misscheduled
  ];
  const { client, controller } = setup(ds, {
    nodes,
    pods,
    revisions: [revisionOf(old, 1), revisionOf(ds, 2)],
  });
  const result = await controller.updateDaemonSetStatus(
    ds,
    syncState({
      nodes,
      nodeToPods: new Map(pods.map((p) => [p.spec!.nodeName, [p]])),
      template: daemonTemplate(ds),
      hash: hashOf(ds),
    }),
  );
  assert.deepEqual(statusOf(client), {
    desiredNumberScheduled: 4,
    currentNumberScheduled: 3,
    numberReady: 2,
    numberAvailable: 1,
    numberUnavailable: 3,
    updatedNumberScheduled: 2,
    numberMisscheduled: 1,
    observedGeneration: 1,
  });
  // b becomes available 30 s later: sync again then.
  assert.deepEqual(result.requeueAfterMs, 30_000 + 10);
});

Deno.test("constructHistory() renumbers an old revision on rollback and trims history", async () => {
  const v1 = daemonSet();
  const v2 = daemonSet({}, { containers: [{ name: "a", image: "busybox:2" }] });
  const v3 = daemonSet({}, { containers: [{ name: "a", image: "busybox:3" }] });
  // Rolled back to v1's template: its revision becomes 4, nothing new is created.
  const { client, controller } = setup(v1, {
    nodes: [],
    revisions: [revisionOf(v1, 1), revisionOf(v2, 2), revisionOf(v3, 3)],
  });
  await controller.syncDaemonSet("ns/agent");
  assert.deepEqual(client.bodies("create", "controllerrevisions"), []);
  const updated = writes(client, "update", "controllerrevisions").map((c) => c.body as Revision);
  assert.deepEqual(updated.map((r) => [r.metadata.name, r.revision]), [[`agent-${hashOf(v1)}`, 4]]);

  // revisionHistoryLimit 1: of the two old revisions, the oldest unused one goes.
  const limited = { ...v3, spec: { ...v3.spec, revisionHistoryLimit: 1 } };
  const t = setup(limited, {
    nodes: [node("a")],
    pods: [pod(v1, "a")],
    revisions: [revisionOf(v1, 1), revisionOf(v2, 2), revisionOf(limited, 3)],
  });
  await t.controller.syncDaemonSet("ns/agent");
  assert.deepEqual(writes(t.client, "delete", "controllerrevisions").map((c) => c.name), [
    `agent-${hashOf(v2)}`,
  ]);
});

Deno.test("syncDaemonSet() adopts matching orphans and ignores pods of other owners", async () => {
  const ds = daemonSet();
  const orphan = pod(ds, "a");
  orphan.metadata.ownerReferences = [];
  const foreign = pod(ds, "b");
  foreign.metadata.ownerReferences = [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "x",
    uid: "other",
    controller: true,
  }];
  const { client, controller } = setup(ds, {
    nodes: [node("a"), node("b")],
    pods: [orphan, foreign],
  });
  client.seed(PODS, orphan);
  await controller.syncDaemonSet("ns/agent");
  const patches = writes(client, "patch", "pods");
  assert.deepEqual(patches.map((p) => p.name), [orphan.metadata.name]);
  assert.deepEqual(created(client), ["b"]);
});
