import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { SchedulerCache } from "./cache.ts";
import { Nominator } from "./nominator.ts";
import { podInfo } from "./pod_info.ts";
import {
  findCandidate,
  NO_VICTIMS,
  NOT_HELPFUL,
  notEligible,
  podsViolatingBudgets,
} from "./preemption.ts";
import { defaultProfile } from "./profile.ts";

function node(name: string, cpu: string, taints: unknown[] = []): KubeObject {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: { taints },
    status: {
      allocatable: { cpu, memory: "8Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

let created = 0;
function pod(
  name: string,
  opts: {
    cpu: string;
    priority?: number;
    node?: string;
    labels?: Record<string, string>;
    hostPort?: number;
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
  },
): KubeObject {
  created++;
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: opts.labels ?? {},
      creationTimestamp: `2026-01-01T00:00:${String(created % 60).padStart(2, "0")}Z`,
    },
    spec: {
      nodeName: opts.node,
      priority: opts.priority ?? 0,
      containers: [{
        name: "c",
        image: "busybox",
        resources: { requests: { cpu: opts.cpu } },
        ports: opts.hostPort ? [{ containerPort: 80, hostPort: opts.hostPort }] : undefined,
      }],
      ...opts.spec,
    },
    status: { phase: "Running", ...opts.status },
  };
}

/** A cluster: nodes and bound pods in the cache, and the preemption input over them. */
function cluster(nodes: KubeObject[], pods: KubeObject[], pdbs: KubeObject[] = []) {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.setNode(n);
  for (const p of pods) cache.updatePod(p);
  const podsOn = (n: string) => pods.filter((p) => p.spec.nodeName === n);
  return {
    cache,
    podsOn,
    find: (p: KubeObject) =>
      findCandidate(podInfo(p), cache.nodes(), { profile: defaultProfile(), podsOn, pdbs }),
  };
}

const names = (pods: readonly KubeObject[]) => pods.map((p) => p.metadata.name).sort();

Deno.test("preemption removes the fewest, least important pods that make room", () => {
  const c = cluster([node("n1", "1")], [
    pod("low-a", { cpu: "400m", priority: 1, node: "n1" }),
    pod("low-b", { cpu: "400m", priority: 2, node: "n1" }),
    pod("same", { cpu: "100m", priority: 100, node: "n1" }),
  ]);
  const r = c.find(pod("high", { cpu: "500m", priority: 100 }));
  assert.ok(r.candidate);
  assert.equal(r.candidate.node.name, "n1");
  // Removing low-a (the less important) is enough; low-b is given back; "same" is never a victim.
  assert.deepEqual(names(r.candidate.victims), ["low-a"]);
  assert.equal(r.candidate.pdbViolations, 0);
});

Deno.test("preemption picks the node whose victims matter least, and not one where it cannot help", () => {
  const c = cluster(
    [
      node("a", "1"),
      node("b", "1"),
      node("tainted", "1", [{ key: "k", value: "v", effect: "NoSchedule" }]),
    ],
    [
      pod("a-mid", { cpu: "800m", priority: 50, node: "a" }),
      pod("b-low", { cpu: "800m", priority: 10, node: "b" }),
      pod("t-low", { cpu: "800m", priority: 0, node: "tainted" }),
    ],
  );
  const r = c.find(pod("high", { cpu: "500m", priority: 100 }));
  assert.ok(r.candidate);
  assert.equal(r.candidate.node.name, "b");
  assert.deepEqual(names(r.candidate.victims), ["b-low"]);

  // Nothing of lower priority to remove (or removal does not help): no candidate, and why.
  const none = c.find(pod("low", { cpu: "500m", priority: 5 }));
  assert.equal(none.candidate, undefined);
  assert.deepEqual(
    Object.fromEntries(!none.candidate ? none.reasons : []),
    { [NO_VICTIMS]: 2, [NOT_HELPFUL]: 1 },
  );
});

Deno.test("a pod pinned to one node (a DaemonSet's) preempts only there", () => {
  const c = cluster([node("n1", "1"), node("n2", "1")], [
    pod("n1-low", { cpu: "800m", priority: 0, node: "n1" }),
    pod("n2-low", { cpu: "800m", priority: 5, node: "n2" }),
  ]);
  const pinned = pod("ds-pod", {
    cpu: "500m",
    priority: 2_000_001_000,
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }],
            }],
          },
        },
      },
    },
  });
  const r = c.find(pinned);
  assert.ok(r.candidate);
  assert.equal(r.candidate.node.name, "n2");
  assert.deepEqual(names(r.candidate.victims), ["n2-low"]);
});

Deno.test("preemption frees host ports too", () => {
  const c = cluster([node("n1", "4")], [
    pod("port-holder", { cpu: "10m", priority: 0, node: "n1", hostPort: 8080 }),
    pod("other", { cpu: "10m", priority: 0, node: "n1" }),
  ]);
  const r = c.find(pod("high", { cpu: "10m", priority: 10, hostPort: 8080 }));
  assert.ok(r.candidate);
  assert.deepEqual(names(r.candidate.victims), ["port-holder"]);
});

Deno.test("preemption prefers victims whose PodDisruptionBudget allows it", () => {
  const pdb = {
    metadata: { name: "guarded", namespace: "default" },
    spec: { selector: { matchLabels: { app: "guarded" } } },
    status: { disruptionsAllowed: 0 },
  };
  const c = cluster(
    [node("a", "1"), node("b", "1")],
    [
      pod("guarded-low", { cpu: "800m", priority: 0, node: "a", labels: { app: "guarded" } }),
      pod("free-mid", { cpu: "800m", priority: 5, node: "b" }),
    ],
    [pdb],
  );
  const r = c.find(pod("high", { cpu: "500m", priority: 100 }));
  assert.ok(r.candidate);
  // The lower-priority pod is protected by its budget: the other node's pod goes instead.
  assert.equal(r.candidate.node.name, "b");
  assert.equal(r.candidate.pdbViolations, 0);
  // Budgets with room are spent one pod at a time.
  const pods = [1, 2, 3].map((i) => pod(`g${i}`, { cpu: "1m", labels: { app: "guarded" } }));
  assert.deepEqual(
    names(podsViolatingBudgets(pods, [{ ...pdb, status: { disruptionsAllowed: 2 } }])),
    ["g3"],
  );
  // An empty selector selects nothing.
  assert.deepEqual(podsViolatingBudgets(pods, [{ ...pdb, spec: { selector: {} } }]), []);
});

Deno.test("a Never pod, or one waiting for its victims to terminate, does not preempt", () => {
  const podsOn = (n: string) =>
    n === "n1"
      ? [pod("going", {
        cpu: "1",
        priority: 0,
        node: "n1",
        spec: {},
        status: {},
      })].map((p) => ({
        ...p,
        metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
      }))
      : [];
  assert.equal(
    notEligible(
      pod("never", { cpu: "1", priority: 9, spec: { preemptionPolicy: "Never" } }),
      podsOn,
    ),
    "not eligible due to preemptionPolicy=Never.",
  );
  assert.equal(
    notEligible(
      pod("waiting", { cpu: "1", priority: 9, status: { nominatedNodeName: "n1" } }),
      podsOn,
    ),
    "not eligible due to a terminating pod on the nominated node.",
  );
  assert.equal(notEligible(pod("free", { cpu: "1", priority: 9 }), podsOn), undefined);
});

Deno.test("the nominator holds a preemptor's room against pods of lower or equal priority only", () => {
  const c = cluster([node("n1", "1")], [pod("running", { cpu: "400m", node: "n1" })]);
  const nominator = new Nominator();
  const high = pod("high", { cpu: "500m", priority: 100 });
  nominator.nominate("default/high", high, "n1");
  const requested = (key: string, priority: number) =>
    nominator.view(c.cache.nodes(), key, priority)[0].requested.milliCpu;
  assert.equal(requested("default/low", 0), 900);
  assert.equal(requested("default/peer", 100), 900);
  assert.equal(requested("default/higher", 101), 400);
  assert.equal(requested("default/high", 100), 400, "its own nomination is not in its way");
  // Bound, it is nominated nowhere; the watch without a nominatedNodeName changes nothing.
  nominator.update("default/high", high);
  assert.equal(nominator.nodeOf("default/high"), "n1");
  nominator.update("default/high", { ...high, spec: { ...high.spec, nodeName: "n1" } });
  assert.equal(nominator.nodeOf("default/high"), undefined);
  assert.equal(requested("default/low", 0), 400);
});
