import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { SchedulerCache } from "./cache.ts";
import { fitErrorMessage, numFeasibleNodesToFind, schedule, type Taint } from "./framework.ts";
import { podInfo } from "./pod_info.ts";
import { defaultProfile } from "./profile.ts";
import { toleratesTaint } from "./taint_toleration.ts";

function node(name: string, opts: {
  cpu?: string;
  memory?: string;
  pods?: string;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: { key: string; value?: string; effect: string }[];
  labels?: Record<string, string>;
} = {}): KubeObject {
  return {
    metadata: { name, labels: opts.labels ?? { "kubernetes.io/hostname": name } },
    spec: { unschedulable: opts.unschedulable, taints: opts.taints },
    status: {
      allocatable: { cpu: opts.cpu ?? "2", memory: opts.memory ?? "4Gi", pods: opts.pods ?? "110" },
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  };
}

function pod(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: "default", ...meta },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  } as KubeObject;
}

function withRequests(cpu?: string, memory?: string, extra: Record<string, unknown> = {}) {
  const requests: Record<string, string> = {};
  if (cpu) requests.cpu = cpu;
  if (memory) requests.memory = memory;
  return { containers: [{ name: "c", image: "busybox", resources: { requests }, ...extra }] };
}

function cacheOf(...nodes: KubeObject[]): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.setNode(n);
  return c;
}

function run(c: SchedulerCache, p: KubeObject) {
  return schedule(podInfo(p), c.nodes(), { profile: defaultProfile() });
}

Deno.test("schedule() picks a fitting node and reports misfits in kubectl's words", () => {
  const c = cacheOf(
    node("a", { memory: "1Gi" }),
    node("b", { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] }),
    node("c", { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }] }),
  );
  const r = run(c, pod("web", withRequests("100m", "2Gi")));
  assert.equal(r.node, undefined);
  assert.equal(
    "message" in r && r.message,
    "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint " +
      "{node.kubernetes.io/unreachable: }.",
  );
  const ok = run(c, pod("small", withRequests("100m", "512Mi")));
  assert.equal(ok.node?.name, "a");
});

Deno.test("fitErrorMessage() sorts count-reason strings and handles no nodes", () => {
  const m = new Map([["Insufficient memory", 2], ["Insufficient cpu", 2], ["Too many pods", 1]]);
  assert.equal(
    fitErrorMessage(3, m),
    "0/3 nodes are available: 1 Too many pods, 2 Insufficient cpu, 2 Insufficient memory.",
  );
  assert.equal(fitErrorMessage(0, new Map()), "no nodes available to schedule pods");
});

Deno.test("resource fit counts every exhausted resource and the pod count", () => {
  const c = cacheOf(node("a", { cpu: "1", memory: "1Gi", pods: "1" }));
  c.assume("default/x", "a", {
    requests: { milliCpu: 900, memory: 900 * 2 ** 20, ephemeralStorage: 0, pods: 1 },
    hostPorts: [],
  });
  const r = run(c, pod("web", withRequests("200m", "200Mi")));
  assert.ok("message" in r);
  assert.equal(
    r.message,
    "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods.",
  );
  c.forget("default/x");
  assert.equal(run(c, pod("web", withRequests("200m", "200Mi"))).node?.name, "a");
});

Deno.test("ephemeral-storage requests are scheduled against the node's allocatable", () => {
  const withStorage = (amount: string, where: "requests" | "limits" = "requests") => ({
    containers: [{
      name: "c",
      image: "busybox",
      resources: { [where]: { "ephemeral-storage": amount } },
    }],
  });
  const small = node("small");
  (small.status!.allocatable as Record<string, string>)["ephemeral-storage"] = "1Gi";
  const big = node("big");
  (big.status!.allocatable as Record<string, string>)["ephemeral-storage"] = "10Gi";
  const c = cacheOf(small, big);
  // Fits only the big node; a request defaulted from a limit counts the same.
  assert.equal(run(c, pod("a", withStorage("2Gi"))).node?.name, "big");
  assert.equal(run(c, pod("b", withStorage("2Gi", "limits"))).node?.name, "big");
  c.assume("default/held", "big", podInfo(pod("held", withStorage("9Gi"))));
  const r = run(c, pod("c", withStorage("2Gi")));
  assert.ok("message" in r);
  assert.equal(r.message, "0/2 nodes are available: 2 Insufficient ephemeral-storage.");
  // Without a request, storage does not constrain placement.
  assert.ok(run(c, pod("d")).node);
});

Deno.test("not-ready and cordoned nodes are filtered", () => {
  const c = cacheOf(node("a", { ready: false }), node("b", { unschedulable: true }));
  const r = run(c, pod("web"));
  assert.ok("message" in r);
  assert.equal(
    r.message,
    "0/2 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable.",
  );
});

Deno.test("tolerations: Equal, Exists, empty key with Exists, effect matching", () => {
  const t: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  assert.ok(toleratesTaint({ key: "dedicated", operator: "Equal", value: "gpu" }, t));
  assert.ok(toleratesTaint({ key: "dedicated", value: "gpu", effect: "NoSchedule" }, t));
  assert.ok(!toleratesTaint({ key: "dedicated", value: "cpu" }, t));
  assert.ok(toleratesTaint({ key: "dedicated", operator: "Exists" }, t));
  assert.ok(!toleratesTaint({ key: "dedicated", operator: "Exists", effect: "NoExecute" }, t));
  assert.ok(toleratesTaint({ operator: "Exists" }, t));
  assert.ok(!toleratesTaint({ operator: "Equal" }, t));
  const c = cacheOf(node("a", { taints: [t] }));
  assert.equal(run(c, pod("p")).node, undefined);
  assert.equal(
    run(c, pod("p", { tolerations: [{ key: "dedicated", operator: "Exists" }] })).node?.name,
    "a",
  );
  // PreferNoSchedule never filters.
  const soft = cacheOf(node("a", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }));
  assert.equal(run(soft, pod("p")).node?.name, "a");
});

Deno.test("nodeSelector and required node affinity operators", () => {
  const c = cacheOf(
    node("arm", { labels: { "kubernetes.io/arch": "arm64", gen: "3" } }),
    node("amd", { labels: { "kubernetes.io/arch": "amd64", gen: "5", ssd: "true" } }),
  );
  assert.equal(
    run(c, pod("p", { nodeSelector: { "kubernetes.io/arch": "arm64" } })).node?.name,
    "arm",
  );
  const affinity = (exprs: unknown[]) => ({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: exprs }],
        },
      },
    },
  });
  const one = (exprs: unknown[]) => run(c, pod("p", affinity(exprs))).node?.name;
  assert.equal(one([{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }]), "amd");
  assert.equal(one([{ key: "kubernetes.io/arch", operator: "NotIn", values: ["amd64"] }]), "arm");
  assert.equal(one([{ key: "ssd", operator: "Exists" }]), "amd");
  assert.equal(one([{ key: "ssd", operator: "DoesNotExist" }]), "arm");
  assert.equal(one([{ key: "gen", operator: "Gt", values: ["4"] }]), "amd");
  assert.equal(one([{ key: "gen", operator: "Lt", values: ["4"] }]), "arm");
  const r = run(c, pod("p", { nodeSelector: { "kubernetes.io/arch": "riscv" } }));
  assert.ok("message" in r);
  assert.equal(
    r.message,
    "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
  );
});

Deno.test("required node affinity matchFields on metadata.name pins a pod to one node", () => {
  const c = cacheOf(node("a"), node("b"), node("c"));
  const pinned = (fields: unknown[]) =>
    run(
      c,
      pod("p", {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: fields }],
            },
          },
        },
      }),
    );
  assert.equal(pinned([{ key: "metadata.name", operator: "In", values: ["b"] }]).node?.name, "b");
  const none = pinned([{ key: "metadata.name", operator: "In", values: ["gone"] }]);
  assert.ok("message" in none);
  // Kubernetes supports no other node field: such a term matches nothing.
  assert.ok("message" in pinned([{ key: "spec.podCIDR", operator: "Exists" }]));
  // Only the named node is filtered; the others count as affinity mismatches.
  const tainted = cacheOf(node("a"), node("b", { taints: [{ key: "x", effect: "NoSchedule" }] }));
  const r = run(
    tainted,
    pod("p", {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }],
            }],
          },
        },
      },
    }),
  );
  assert.ok("message" in r);
  assert.equal(
    r.message,
    "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {x: }.",
  );
});

Deno.test("host port conflicts filter nodes", () => {
  const c = cacheOf(node("a"), node("b"));
  const spec = withRequests(undefined, undefined, {
    ports: [{ containerPort: 80, hostPort: 8080 }],
  });
  const first = run(c, pod("p1", spec));
  assert.ok(first.node);
  c.assume("default/p1", first.node.name, podInfo(pod("p1", spec)));
  const second = run(c, pod("p2", spec));
  assert.ok(second.node && second.node.name !== first.node.name);
  c.assume("default/p2", second.node.name, podInfo(pod("p2", spec)));
  const third = run(c, pod("p3", spec));
  assert.ok("message" in third);
  assert.equal(
    third.message,
    "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
  );
  // A different protocol on the same port is fine.
  const udp = withRequests(undefined, undefined, {
    ports: [{ containerPort: 80, hostPort: 8080, protocol: "UDP" }],
  });
  assert.ok(run(c, pod("p4", udp)).node);
});

Deno.test("replicas of one owner spread across nodes", () => {
  const c = cacheOf(node("a"), node("b"), node("c"));
  const owner = {
    ownerReferences: [{
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "rs",
      uid: "u1",
      controller: true,
    }],
  };
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const p = pod(`p${i}`, {}, owner);
    const r = run(c, p);
    assert.ok(r.node);
    placed.push(r.node.name);
    c.assume(`default/p${i}`, r.node.name, podInfo(p));
  }
  for (const n of ["a", "b", "c"]) assert.equal(placed.filter((x) => x === n).length, 2);
});

Deno.test("least allocated prefers the emptier node", () => {
  const c = cacheOf(node("a"), node("b"));
  c.assume("default/big", "a", {
    requests: { milliCpu: 1500, memory: 2 ** 31, ephemeralStorage: 0, pods: 1 },
    hostPorts: [],
  });
  assert.equal(run(c, pod("p", withRequests("100m", "100Mi"))).node?.name, "b");
});

Deno.test("cache confirms assumed pods and releases terminated and deleted ones", () => {
  const c = cacheOf(node("a", { pods: "2" }));
  const p = pod("p", withRequests("1", "1Gi"));
  c.assume("default/p", "a", podInfo(p));
  assert.ok(c.isAssumed("default/p"));
  // The watch shows it bound: confirmed, counted once.
  c.updatePod({ ...p, spec: { ...p.spec, nodeName: "a" } });
  assert.ok(!c.isAssumed("default/p"));
  assert.equal(c.node("a")!.requested.milliCpu, 1000);
  c.updatePod({ ...p, spec: { ...p.spec, nodeName: "a" }, status: { phase: "Succeeded" } });
  assert.equal(c.node("a")!.requested.pods, 0);
  c.updatePod({ ...p, metadata: { ...p.metadata, name: "q" }, spec: { ...p.spec, nodeName: "a" } });
  assert.equal(c.node("a")!.requested.pods, 1);
  c.deletePod({ ...p, metadata: { ...p.metadata, name: "q" } });
  assert.equal(c.node("a")!.requested.pods, 0);
  assert.equal(c.node("a")!.requested.memory, 0);
});

Deno.test("numFeasibleNodesToFind() follows Kubernetes' adaptive percentage", () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(6000), 300);
});

Deno.test("a cordoned node says unschedulable before its taint, and tolerating pods may land", () => {
  const taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
  const c = cacheOf(node("a", { unschedulable: true, taints: [taint] }));
  const r = run(c, pod("p"));
  assert.ok("message" in r);
  assert.equal(r.message, "0/1 nodes are available: 1 node(s) were unschedulable.");
  const tolerant = pod("q", {
    tolerations: [{
      key: "node.kubernetes.io/unschedulable",
      operator: "Exists",
      effect: "NoSchedule",
    }],
  });
  assert.equal(run(c, tolerant).node?.name, "a");
});
