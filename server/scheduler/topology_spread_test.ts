import assert from "node:assert/strict";
import { failure, on, scheduleIn, testCache, testNode, testPod, tiedChoices } from "./_testing.ts";

const ZONE = "topology.kubernetes.io/zone";
const web = { labels: { app: "web" } };

function spread(extra: Record<string, unknown> = {}, whenUnsatisfiable = "DoNotSchedule") {
  return {
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: ZONE,
      whenUnsatisfiable,
      labelSelector: { matchLabels: { app: "web" } },
      ...extra,
    }],
  };
}

const zoned = (name: string, zone: string, extra: Parameters<typeof testNode>[1] = {}) =>
  testNode(name, { ...extra, labels: { [ZONE]: zone, ...extra.labels } });

Deno.test("DoNotSchedule keeps the skew between zones within maxSkew", () => {
  const nodes = [zoned("a", "z1"), zoned("b", "z2"), zoned("c", "z3")];
  const c = testCache(nodes, [on("a", testPod("w0", {}, web)), on("b", testPod("w1", {}, web))]);
  // z3 has none: only it keeps the skew at 1.
  for (let i = 0; i < 5; i++) {
    assert.equal(scheduleIn(c, testPod(`p${i}`, spread(), web)).node?.name, "c");
  }
  // Pods the selector does not match count for nothing, nor do pods being deleted.
  c.updatePod(on("c", testPod("db", {}, { labels: { app: "db" } })));
  c.updatePod(on("c", testPod("gone", {}, { ...web, deletionTimestamp: "2026-01-01T00:00:00Z" })));
  assert.equal(scheduleIn(c, testPod("p", spread(), web)).node?.name, "c");
  // A pod the selector does not match does not add to its own domain: a and c stay open
  // (first and last of the nodes that tie).
  assert.deepEqual(tiedChoices(c, testPod("q", spread(), { labels: { app: "other" } })), [
    "a",
    "c",
  ]);
});

Deno.test("nodes without the topology key are refused with kube-scheduler's reason", () => {
  // b is tainted, but still a domain with no pods (nodeTaintsPolicy Ignore): z1 would be skew 2.
  const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  const nodes = [zoned("a", "z1"), zoned("b", "z2", { taints: [taint] }), testNode("bare")];
  const c = testCache(nodes, [on("a", testPod("w0", {}, web))]);
  assert.equal(
    failure(scheduleIn(c, testPod("p", spread(), web))),
    "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, " +
      "1 node(s) didn't match pod topology spread constraints (missing required label), " +
      "1 node(s) had untolerated taint {dedicated: gpu}.",
  );
});

Deno.test("nodeAffinityPolicy decides whether nodes the pod cannot use count as domains", () => {
  const nodes = [zoned("a", "z1"), zoned("b", "z2")];
  const c = testCache(nodes, [on("a", testPod("w0", {}, web))]);
  const onlyZ1 = { nodeSelector: { [ZONE]: "z1" } };
  // Honor (the default): z2 is not a domain, so z1's count is the minimum.
  assert.equal(scheduleIn(c, testPod("p", { ...onlyZ1, ...spread() }, web)).node?.name, "a");
  assert.equal(
    failure(
      scheduleIn(c, testPod("p", { ...onlyZ1, ...spread({ nodeAffinityPolicy: "Ignore" }) }, web)),
    ),
    "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, " +
      "1 node(s) didn't match pod topology spread constraints.",
  );
});

Deno.test("nodeTaintsPolicy Honor leaves tainted nodes' domains out", () => {
  const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  const nodes = [zoned("a", "z1"), zoned("b", "z2", { taints: [taint] })];
  const c = testCache(nodes, [on("a", testPod("w0", {}, web))]);
  // Ignore (the default): z2 counts with 0 pods, and z1 would be skew 2.
  assert.match(failure(scheduleIn(c, testPod("p", spread(), web))), /topology spread/);
  assert.equal(
    scheduleIn(c, testPod("p", spread({ nodeTaintsPolicy: "Honor" }), web)).node?.name,
    "a",
  );
});

Deno.test("minDomains treats the global minimum as 0 while there are fewer domains", () => {
  const nodes = [zoned("a", "z1"), zoned("b", "z2")];
  const c = testCache(nodes, [on("a", testPod("w0", {}, web)), on("b", testPod("w1", {}, web))]);
  assert.ok(scheduleIn(c, testPod("p", spread(), web)).node);
  assert.equal(
    failure(scheduleIn(c, testPod("p", spread({ minDomains: 3 }), web))),
    "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints.",
  );
});

Deno.test("matchLabelKeys counts only pods sharing the pod's values for those keys", () => {
  const nodes = [zoned("a", "z1"), zoned("b", "z2")];
  const old = { labels: { app: "web", "pod-template-hash": "old" } };
  const c = testCache(nodes, [on("a", testPod("o0", {}, old)), on("a", testPod("o1", {}, old))]);
  const fresh = { labels: { app: "web", "pod-template-hash": "new" } };
  const byHash = spread({ matchLabelKeys: ["pod-template-hash"] });
  // The old revision's two pods in z1 do not count for the new one: z1 is open.
  const onlyZ1 = { nodeSelector: { [ZONE]: "z1" }, ...spread({ nodeAffinityPolicy: "Ignore" }) };
  assert.match(failure(scheduleIn(c, testPod("p", onlyZ1, fresh))), /topology spread/);
  const onlyZ1ByHash = {
    nodeSelector: { [ZONE]: "z1" },
    ...spread({ nodeAffinityPolicy: "Ignore", matchLabelKeys: ["pod-template-hash"] }),
  };
  assert.equal(scheduleIn(c, testPod("p", onlyZ1ByHash, fresh)).node?.name, "a");
  assert.ok(scheduleIn(c, testPod("p", byHash, fresh)).node);
});

Deno.test("ScheduleAnyway prefers the zone with fewer matching pods but never refuses", () => {
  const nodes = [zoned("a", "z1"), zoned("a2", "z1"), zoned("b", "z2")];
  const c = testCache(nodes, [
    on("a", testPod("w0", {}, web)),
    on("a2", testPod("w1", {}, web)),
  ]);
  const soft = spread({}, "ScheduleAnyway");
  for (let i = 0; i < 5; i++) {
    assert.equal(scheduleIn(c, testPod(`p${i}`, soft, web)).node?.name, "b");
  }
  // Even when only z1 is left it schedules there.
  const onlyZ1 = { ...soft, nodeSelector: { [ZONE]: "z1" } };
  assert.ok(scheduleIn(c, testPod("p", onlyZ1, web)).node);
});

Deno.test("the default spreading stands back for a pod with constraints of its own", () => {
  // Replicas of one owner: without constraints, SelectorSpread sends the next to the empty
  // node; a constraint on a key only node a has makes a the only choice, and a pod with
  // constraints is not pushed away from its siblings by the default spreading.
  const owner = {
    ownerReferences: [{ uid: "rs1", controller: true, kind: "ReplicaSet", name: "rs" }],
  };
  const nodes = [
    testNode("a", { labels: { rack: "r1" } }),
    testNode("b", { labels: { rack: "r2" } }),
  ];
  const c = testCache(nodes, [on("a", testPod("w0", {}, { ...web, ...owner }))]);
  for (let i = 0; i < 5; i++) {
    assert.equal(scheduleIn(c, testPod(`p${i}`, {}, { ...web, ...owner })).node?.name, "b");
  }
  // A soft constraint whose selector matches no pod scores both racks alike, so only the
  // default spreading could prefer b: it must not.
  const soft = {
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: "rack",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { app: "nothing" } },
    }],
  };
  assert.deepEqual(tiedChoices(c, testPod("q", soft, { ...web, ...owner })), ["a", "b"]);
});
