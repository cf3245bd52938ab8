import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import { checkRequest, type QuotaRequest } from "./check_request.ts";
import { evaluatorFor, podEvaluator, serviceEvaluator } from "./evaluators.ts";

const now = new Date("2026-12-01T12:00:00Z");

function quota(
  name: string,
  hard: Record<string, string>,
  used: Record<string, string> | undefined,
  spec: Partial<NonNullable<ResourceQuota["spec"]>> = {},
): ResourceQuota {
  return {
    metadata: { name, namespace: "default" },
    spec: { hard, ...spec },
    status: { hard, ...(used ? { used } : {}) },
  };
}

const pod = (name: string, resources: unknown = {}, spec: unknown = {}): KubeObject => ({
  metadata: { name, namespace: "default" },
  spec: { containers: [{ name: "c", image: "busybox", resources }], ...(spec as object) },
});

const create = (object: KubeObject, resource = "pods"): QuotaRequest => ({
  operation: "CREATE",
  resource,
  group: "",
  name: object.metadata.name!,
  object,
});

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ForbiddenError) return e.message;
    throw e;
  }
  assert.fail("expected a ForbiddenError");
}

Deno.test("checkRequest() charges every quota that covers the pod, and only those", () => {
  const quotas = [
    quota("count", { pods: "3" }, { pods: "1" }),
    quota("compute", { "requests.cpu": "1", "requests.memory": "1Gi" }, {
      "requests.cpu": "250m",
      "requests.memory": "0",
    }),
    quota("services", { services: "1" }, { services: "0" }),
    quota("besteffort", { pods: "1" }, { pods: "0" }, { scopes: ["BestEffort"] }),
  ];
  const p = pod("web", { requests: { cpu: "100m", memory: "64Mi" } });
  const out = checkRequest(quotas, create(p), podEvaluator, now);
  assert.deepEqual(out[0].status?.used, { pods: "2" });
  assert.deepEqual(out[1].status?.used, { "requests.cpu": "350m", "requests.memory": "64Mi" });
  assert.equal(out[2], quotas[2], "a quota on services is untouched");
  assert.equal(out[3], quotas[3], "a BestEffort quota does not cover a pod with requests");
});

Deno.test("checkRequest() refuses with kube-apiserver's exceeded-quota message", () => {
  const quotas = [
    quota("q", { pods: "2", "requests.cpu": "1" }, { pods: "2", "requests.cpu": "500m" }),
  ];
  assert.equal(
    refusal(() =>
      checkRequest(quotas, create(pod("x", { requests: { cpu: "600m" } })), podEvaluator, now)
    ),
    'pods "x" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=600m, ' +
      "used: pods=2,requests.cpu=500m, limited: pods=2,requests.cpu=1",
  );
});

Deno.test("checkRequest() refuses a pod without the cpu/memory a quota tracks (failed quota)", () => {
  const quotas = [quota("q", { "limits.cpu": "2", pods: "5" }, { "limits.cpu": "0", pods: "0" })];
  assert.equal(
    refusal(() => checkRequest(quotas, create(pod("x")), podEvaluator, now)),
    'pods "x" is forbidden: failed quota: q: must specify limits.cpu for: c',
  );
});

Deno.test("checkRequest() refuses while a quota's usage is not measured yet", () => {
  const quotas = [quota("q", { pods: "5", services: "1" }, undefined)];
  assert.equal(
    refusal(() => checkRequest(quotas, create(pod("x")), podEvaluator, now)),
    'pods "x" is forbidden: status unknown for quota: q, resources: pods',
  );
  // A quota the controller has not taken on (no status.hard) constrains nothing yet.
  const fresh: ResourceQuota = { metadata: { name: "new" }, spec: { hard: { pods: "0" } } };
  assert.deepEqual(checkRequest([fresh], create(pod("x")), podEvaluator, now), [fresh]);
});

Deno.test("checkRequest() on update charges only the growth (a Service turned NodePort)", () => {
  const quotas = [quota("q", { "services.nodeports": "1", services: "5" }, {
    "services.nodeports": "0",
    services: "1",
  })];
  const old: KubeObject = {
    metadata: { name: "web", namespace: "default", resourceVersion: "5" },
    spec: { type: "ClusterIP", ports: [{ port: 80 }] },
  };
  const request = (ports: unknown[]): QuotaRequest => ({
    operation: "UPDATE",
    resource: "services",
    group: "",
    name: "web",
    object: { ...old, spec: { type: "NodePort", ports } },
    oldObject: old,
  });
  const out = checkRequest(quotas, request([{ port: 80 }]), serviceEvaluator, now);
  assert.deepEqual(out[0].status?.used, { "services.nodeports": "1", services: "1" });
  assert.equal(
    refusal(() =>
      checkRequest(quotas, request([{ port: 80 }, { port: 81 }]), serviceEvaluator, now)
    ),
    'services "web" is forbidden: exceeded quota: q, requested: services.nodeports=2, ' +
      "used: services.nodeports=0, limited: services.nodeports=1",
  );
});

Deno.test("checkRequest() counts any kind by count/<resource>.<group>, on create only", () => {
  const quotas = [quota("q", { "count/deployments.apps": "1" }, { "count/deployments.apps": "1" })];
  const deploy: KubeObject = { metadata: { name: "web", namespace: "default" } };
  const evaluator = evaluatorFor("apps", "deployments")!;
  assert.equal(
    refusal(() =>
      checkRequest(
        quotas,
        { ...create(deploy), resource: "deployments", group: "apps" },
        evaluator,
        now,
      )
    ),
    'deployments.apps "web" is forbidden: exceeded quota: q, requested: count/deployments.apps=1, ' +
      "used: count/deployments.apps=1, limited: count/deployments.apps=1",
  );
  const update: QuotaRequest = {
    ...create(deploy),
    operation: "UPDATE",
    oldObject: deploy,
    resource: "deployments",
    group: "apps",
  };
  assert.deepEqual(checkRequest(quotas, update, evaluator, now), quotas);
});
