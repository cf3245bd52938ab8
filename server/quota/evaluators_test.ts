import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import {
  claimEvaluator,
  evaluatorFor,
  evaluatorsFor,
  objectCountEvaluator,
  parseObjectCountName,
  podEvaluator,
  serviceEvaluator,
} from "./evaluators.ts";
import { formatUsage } from "./resource_list.ts";

const now = new Date("2026-12-01T12:00:00Z");

// deno-lint-ignore no-explicit-any
const pod = (spec: any, extra: any = {}): KubeObject => ({
  metadata: { name: "p", namespace: "default", ...extra.metadata },
  spec: { containers: [{ name: "app", image: "busybox" }], ...spec },
  status: { phase: "Running", ...extra.status },
});

Deno.test("a pod costs its count, and while live its requests and limits (sidecars summed, init peaks)", () => {
  const p = pod({
    containers: [
      {
        name: "app",
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1" } },
      },
      { name: "side", resources: { requests: { cpu: "200m" } } },
    ],
    initContainers: [
      { name: "init", resources: { requests: { cpu: "500m", memory: "1Gi" } } },
      { name: "proxy", restartPolicy: "Always", resources: { requests: { cpu: "50m" } } },
    ],
  });
  assert.deepEqual(formatUsage(podEvaluator.usage(p, now)), {
    "count/pods": "1",
    pods: "1",
    cpu: "500m",
    "requests.cpu": "500m",
    memory: "1Gi",
    "requests.memory": "1Gi",
    "limits.cpu": "1",
  });
  // cpu: 100m + 200m + 50m (the sidecar) = 350m < the init container's 500m.
  for (const phase of ["Succeeded", "Failed"]) {
    assert.deepEqual(
      formatUsage(podEvaluator.usage(pod({}, { status: { phase } }), now)),
      { "count/pods": "1" },
      `${phase} pods keep only their object count`,
    );
  }
});

Deno.test("a terminating pod stops counting once its deletion grace has passed again", () => {
  const deleting = pod({}, {
    metadata: { deletionTimestamp: "2026-12-01T11:59:50Z", deletionGracePeriodSeconds: 30 },
  });
  assert.equal(podEvaluator.usage(deleting, now).has("pods"), true);
  const later = new Date("2026-12-01T12:00:30Z");
  assert.equal(podEvaluator.usage(deleting, later).has("pods"), false);
});

Deno.test("pod scopes: Terminating, BestEffort, PriorityClass selectors, cross-namespace affinity", () => {
  const scope = (scopeName: string, operator = "Exists", values?: string[]) => ({
    scopeName,
    operator,
    values,
  });
  const plain = pod({});
  const job = pod({ activeDeadlineSeconds: 60 });
  const burstable = pod({ containers: [{ name: "a", resources: { requests: { cpu: "1" } } }] });
  const high = pod({ priorityClassName: "high" });
  const affine = pod({
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 1,
          podAffinityTerm: { topologyKey: "zone", namespaceSelector: {} },
        }],
      },
    },
  });
  const m = (obj: KubeObject, s: ReturnType<typeof scope>) => podEvaluator.matchesScope(s, obj);
  assert.deepEqual([m(plain, scope("Terminating")), m(job, scope("Terminating"))], [false, true]);
  assert.deepEqual([m(plain, scope("NotTerminating")), m(job, scope("NotTerminating"))], [
    true,
    false,
  ]);
  assert.deepEqual([m(plain, scope("BestEffort")), m(burstable, scope("BestEffort"))], [
    true,
    false,
  ]);
  assert.equal(m(burstable, scope("NotBestEffort")), true);
  assert.deepEqual(
    [m(plain, scope("PriorityClass")), m(high, scope("PriorityClass"))],
    [false, true],
  );
  assert.equal(m(high, scope("PriorityClass", "In", ["high", "low"])), true);
  assert.equal(m(high, scope("PriorityClass", "NotIn", ["high"])), false);
  assert.equal(m(plain, scope("PriorityClass", "NotIn", ["high"])), true);
  assert.equal(m(plain, scope("PriorityClass", "DoesNotExist")), true);
  assert.deepEqual(
    [m(plain, scope("CrossNamespacePodAffinity")), m(affine, scope("CrossNamespacePodAffinity"))],
    [false, true],
  );
});

Deno.test("pods must give cpu and memory requests/limits a quota tracks (kube-apiserver's message)", () => {
  const p = pod({
    containers: [
      { name: "sidecar", resources: { requests: { cpu: "100m" } } },
      { name: "app", resources: {} },
    ],
    // As stored: a container's limits are its requests when it gives none (API defaulting).
    initContainers: [{
      name: "init",
      resources: { limits: { memory: "1Gi", cpu: "1" }, requests: { memory: "1Gi", cpu: "1" } },
    }],
  });
  assert.equal(
    podEvaluator.constraints(["pods", "requests.cpu", "limits.memory", "count/pods"], p),
    "must specify limits.memory for: app,sidecar; requests.cpu for: app",
  );
  assert.equal(podEvaluator.constraints(["pods", "ephemeral-storage"], p), undefined);
});

Deno.test("a Service costs node ports and load balancers by type", () => {
  const svc = (spec: unknown): KubeObject => ({ metadata: { name: "s" }, spec });
  const ports = [{ port: 80 }, { port: 443, nodePort: 30443 }];
  assert.deepEqual(formatUsage(serviceEvaluator.usage(svc({ type: "ClusterIP", ports }), now)), {
    "count/services": "1",
    services: "1",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
  });
  assert.equal(
    formatUsage(serviceEvaluator.usage(svc({ type: "NodePort", ports }), now))[
      "services.nodeports"
    ],
    "2",
  );
  const lb = formatUsage(
    serviceEvaluator.usage(
      svc({ type: "LoadBalancer", ports, allocateLoadBalancerNodePorts: false }),
      now,
    ),
  );
  assert.deepEqual([lb["services.loadbalancers"], lb["services.nodeports"]], ["1", "1"]);
});

Deno.test("a claim costs its storage (whole bytes) overall and per StorageClass", () => {
  const claim: KubeObject = {
    metadata: { name: "data" },
    spec: { storageClassName: "local-path", resources: { requests: { storage: "1.5Gi" } } },
  };
  assert.deepEqual(formatUsage(claimEvaluator.usage(claim, now)), {
    "count/persistentvolumeclaims": "1",
    "local-path.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
    "local-path.storageclass.storage.k8s.io/requests.storage": "1536Mi",
    persistentvolumeclaims: "1",
    "requests.storage": "1536Mi",
  });
  assert.deepEqual(
    claimEvaluator.matchingResources([
      "gold.storageclass.storage.k8s.io/requests.storage",
      "requests.storage",
      "pods",
    ]),
    ["gold.storageclass.storage.k8s.io/requests.storage", "requests.storage"],
  );
  const tiny: KubeObject = {
    metadata: { name: "t" },
    spec: { resources: { requests: { storage: "1500m" } } },
  };
  assert.equal(formatUsage(claimEvaluator.usage(tiny, now))["requests.storage"], "2");
});

Deno.test("object counts: count/ names, the old names, and the kinds quota ignores", () => {
  assert.deepEqual(parseObjectCountName("count/deployments.apps"), {
    group: "apps",
    resource: "deployments",
  });
  assert.deepEqual(parseObjectCountName("count/pods"), { group: "", resource: "pods" });
  assert.equal(parseObjectCountName("pods"), undefined);
  const secrets = objectCountEvaluator("", "secrets");
  assert.deepEqual(formatUsage(secrets.usage({ metadata: {} }, now)), {
    "count/secrets": "1",
    secrets: "1",
  });
  assert.equal(secrets.handles("UPDATE"), false);
  assert.deepEqual(
    evaluatorFor("apps", "deployments")!.matchingResources(["count/deployments.apps", "pods"]),
    ["count/deployments.apps"],
  );
  assert.equal(evaluatorFor("", "events"), undefined);
  const kinds = evaluatorsFor(["count/pods", "count/deployments.apps", "count/events"])
    .map((e) => `${e.group}/${e.resource}`);
  assert.deepEqual(kinds.filter((k) => k === "/pods").length, 1, "pods are measured once");
  assert.ok(kinds.includes("apps/deployments"));
  assert.ok(!kinds.includes("/events"));
});
