import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { applyMatchLabelKeys } from "../registry/pod_affinity_label_keys.ts";
import { failure, on, scheduleIn, testCache, testNode, testPod } from "./_testing.ts";

const HOST = "kubernetes.io/hostname";
const ZONE = "topology.kubernetes.io/zone";

function required(kind: "podAffinity" | "podAntiAffinity", ...terms: unknown[]) {
  return { affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: terms } } };
}

function preferred(kind: "podAffinity" | "podAntiAffinity", weight: number, term: unknown) {
  return {
    affinity: {
      [kind]: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: term }],
      },
    },
  };
}

const web = { labels: { app: "web" } };
const antiWeb = (topologyKey = HOST) =>
  required("podAntiAffinity", { labelSelector: { matchLabels: { app: "web" } }, topologyKey });

Deno.test("required pod anti-affinity keeps replicas on distinct nodes and explains the last one", () => {
  const nodes = [testNode("a"), testNode("b"), testNode("c")];
  const c = testCache(nodes, [
    on("a", testPod("w0", antiWeb(), web)),
    on("b", testPod("w1", antiWeb(), web)),
  ]);
  assert.equal(scheduleIn(c, testPod("w2", antiWeb(), web)).node?.name, "c");
  c.updatePod(on("c", testPod("w2", antiWeb(), web)));
  assert.equal(
    failure(scheduleIn(c, testPod("w3", antiWeb(), web))),
    "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.",
  );
  // Another app is let in (the placed pods' terms do not match it), and in another namespace
  // the placed pods do not count.
  assert.ok(scheduleIn(c, testPod("db", {}, { labels: { app: "db" } })).node);
  assert.ok(scheduleIn(c, testPod("w", antiWeb(), { ...web, namespace: "other" })).node);
});

Deno.test("an existing pod's required anti-affinity keeps matching pods out of its zone (symmetry)", () => {
  const nodes = [
    testNode("a", { labels: { [ZONE]: "z1" } }),
    testNode("b", { labels: { [ZONE]: "z1" } }),
    testNode("c", { labels: { [ZONE]: "z2" } }),
  ];
  const loner = on("a", testPod("loner", antiWeb(ZONE), { labels: { app: "loner" } }));
  const c = testCache(nodes, [loner]);
  // The incoming pod has no affinity at all: only the placed pod's term keeps it out of z1.
  assert.equal(scheduleIn(c, testPod("w", {}, web)).node?.name, "c");
  const c2 = testCache(nodes.slice(0, 2), [loner]);
  assert.equal(
    failure(scheduleIn(c2, testPod("w", {}, web))),
    "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules.",
  );
});

Deno.test("required pod affinity follows the matching pods' zone; the first pod of a group may go anywhere", () => {
  const nodes = [
    testNode("a", { labels: { [ZONE]: "z1" } }),
    testNode("b", { labels: { [ZONE]: "z2" } }),
    testNode("bare"),
  ];
  const withCache = required("podAffinity", {
    labelSelector: { matchLabels: { app: "cache" } },
    topologyKey: ZONE,
  });
  const c = testCache(nodes, [on("b", testPod("cache", {}, { labels: { app: "cache" } }))]);
  for (let i = 0; i < 5; i++) {
    assert.equal(scheduleIn(c, testPod(`app${i}`, withCache)).node?.name, "b");
  }
  // Nothing matches anywhere and the pod does not match its own term: it waits.
  const empty = testCache(nodes);
  assert.equal(
    failure(scheduleIn(empty, testPod("app", withCache))),
    "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.",
  );
  // The first of a group that matches its own term lands on a node having the topology key.
  const first = scheduleIn(empty, testPod("cache0", withCache, { labels: { app: "cache" } }));
  assert.ok(first.node && first.node.name !== "bare", first.node?.name);
});

Deno.test("pod affinity terms look in namespaces, namespaceSelector and use matchLabelKeys", () => {
  // The pod as stored: kube-apiserver merged its label keys into the selectors on create.
  const created = (pod: KubeObject) => {
    const stored = structuredClone(pod);
    applyMatchLabelKeys(stored);
    return stored;
  };
  const nodes = [testNode("a"), testNode("b")];
  const c = testCache(nodes, [
    on("a", testPod("w-team", {}, { ...web, namespace: "team" })),
    on("b", testPod("w-old", {}, { labels: { app: "web", "pod-template-hash": "old" } })),
  ]);
  const term = (extra: Record<string, unknown>) =>
    required("podAntiAffinity", {
      labelSelector: { matchLabels: { app: "web" } },
      topologyKey: HOST,
      ...extra,
    });
  // Named namespaces: only team's pod counts → b.
  assert.equal(scheduleIn(c, testPod("p", term({ namespaces: ["team"] }))).node?.name, "b");
  // An empty namespaceSelector is every namespace: both nodes are taken.
  assert.equal(
    failure(scheduleIn(c, testPod("p", term({ namespaceSelector: {} })))),
    "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
  );
  // A namespaceSelector by labels reads the namespaces' labels.
  const labels = { team: { tier: "prod" }, default: {} };
  const bySelector = term({ namespaceSelector: { matchLabels: { tier: "prod" } } });
  assert.equal(
    scheduleIn(c, testPod("p", bySelector), { namespaceLabels: labels }).node?.name,
    "b",
  );
  // matchLabelKeys: only pods of the same pod-template-hash repel.
  const rollout = term({ matchLabelKeys: ["pod-template-hash"] });
  // The new revision may join the old one's node (b).
  const newPod = created(
    testPod("w-new", { ...rollout, nodeSelector: { [HOST]: "b" } }, {
      labels: { app: "web", "pod-template-hash": "new" },
    }),
  );
  const oldPod = created(
    testPod("w-old2", rollout, { labels: { app: "web", "pod-template-hash": "old" } }),
  );
  assert.equal(scheduleIn(c, newPod).node?.name, "b");
  for (let i = 0; i < 5; i++) assert.equal(scheduleIn(c, oldPod).node?.name, "a");
  // mismatchLabelKeys: only pods of another hash repel.
  const other = term({ mismatchLabelKeys: ["pod-template-hash"] });
  const p = created(testPod("w-x", other, { labels: { app: "web", "pod-template-hash": "new" } }));
  for (let i = 0; i < 5; i++) assert.equal(scheduleIn(c, p).node?.name, "a");
  // The same hash does not repel: b (holding w-old) is open to it.
  const same = created(testPod("w-y", { ...other, nodeSelector: { [HOST]: "b" } }, {
    labels: { app: "web", "pod-template-hash": "old" },
  }));
  assert.equal(scheduleIn(c, same).node?.name, "b");
});

Deno.test("preferred pod affinity and anti-affinity score nodes by the matching pods in their domain", () => {
  const nodes = [testNode("a"), testNode("b"), testNode("c")];
  const c = testCache(nodes, [
    on("a", testPod("w0", {}, web)),
    on("b", testPod("cache", {}, { labels: { app: "cache" } })),
  ]);
  const nearCache = preferred("podAffinity", 50, {
    labelSelector: { matchLabels: { app: "cache" } },
    topologyKey: HOST,
  });
  for (let i = 0; i < 5; i++) {
    assert.equal(scheduleIn(c, testPod(`p${i}`, nearCache)).node?.name, "b");
  }
  const awayFromWeb = preferred("podAntiAffinity", 100, {
    labelSelector: { matchLabels: { app: "web" } },
    topologyKey: HOST,
  });
  for (let i = 0; i < 10; i++) {
    assert.notEqual(scheduleIn(c, testPod(`q${i}`, awayFromWeb)).node?.name, "a");
  }
  // A placed pod's preferred affinity draws matching newcomers (symmetry of scores).
  const attract = preferred("podAffinity", 100, {
    labelSelector: { matchLabels: { app: "client" } },
    topologyKey: HOST,
  });
  const c2 = testCache(nodes, [on("c", testPod("server", attract))]);
  for (let i = 0; i < 5; i++) {
    assert.equal(
      scheduleIn(c2, testPod(`r${i}`, {}, { labels: { app: "client" } })).node?.name,
      "c",
    );
  }
});

Deno.test("the cache follows placed pods' labels and affinity as they change and go", () => {
  const nodes = [testNode("a"), testNode("b")];
  const placed = on("a", testPod("w0", {}, web));
  const c = testCache(nodes, [placed]);
  const onlyA = { ...antiWeb(), nodeSelector: { [HOST]: "a" } };
  assert.equal(
    failure(scheduleIn(c, testPod("w1", onlyA, web))),
    "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, " +
      "1 node(s) didn't match pod anti-affinity rules.",
  );
  // Relabelled: w0 no longer matches the anti-affinity term.
  c.updatePod({ ...placed, metadata: { ...placed.metadata, labels: { app: "old" } } });
  assert.equal(scheduleIn(c, testPod("w1", onlyA, web)).node?.name, "a");
  // A placed pod with required anti-affinity is indexed, and forgotten when deleted.
  const loner = on("b", testPod("loner", antiWeb(), { labels: { app: "loner" } }));
  c.updatePod(loner);
  assert.equal(c.node("b")!.podsWithRequiredAntiAffinity.size, 1);
  assert.equal(scheduleIn(c, testPod("w2", {}, web)).node?.name, "a");
  c.deletePod(loner);
  c.deletePod(placed);
  assert.equal(c.node("a")!.pods.size, 0);
  assert.equal(c.node("b")!.podsWithRequiredAntiAffinity.size, 0);
});
