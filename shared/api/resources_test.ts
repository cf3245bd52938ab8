import assert from "node:assert/strict";
import { findResource, resourceForKind, RESOURCES } from "./resources.ts";

Deno.test("RESOURCES serves every kind once, with list kinds and schemas", () => {
  const kinds = RESOURCES.map((r) => `${r.group}/${r.version}/${r.kind}`);
  assert.equal(new Set(kinds).size, kinds.length);
  for (
    const k of [
      "/v1/Namespace",
      "/v1/Node",
      "/v1/Pod",
      "/v1/Service",
      "/v1/Endpoints",
      "/v1/ReplicationController",
      "/v1/ConfigMap",
      "/v1/Secret",
      "/v1/Event",
      "coordination.k8s.io/v1/Lease",
      "apps/v1/Deployment",
      "apps/v1/ReplicaSet",
      "discovery.k8s.io/v1/EndpointSlice",
      "metrics.k8s.io/v1beta1/NodeMetrics",
      "metrics.k8s.io/v1beta1/PodMetrics",
    ]
  ) {
    assert.ok(kinds.includes(k), k);
  }
  for (const r of RESOURCES) {
    assert.equal(r.listKind, `${r.kind}List`);
    assert.equal(typeof r.schema.safeParse, "function");
  }
});

Deno.test("short names and the all category are those kubectl expects", () => {
  const short = (plural: string, group = "") => findResource(group, "v1", plural)?.shortNames;
  assert.deepEqual(short("pods"), ["po"]);
  assert.deepEqual(short("services"), ["svc"]);
  assert.deepEqual(short("nodes"), ["no"]);
  assert.deepEqual(short("namespaces"), ["ns"]);
  assert.deepEqual(short("endpoints"), ["ep"]);
  assert.deepEqual(short("replicationcontrollers"), ["rc"]);
  assert.deepEqual(short("configmaps"), ["cm"]);
  assert.deepEqual(short("events"), ["ev"]);
  assert.deepEqual(short("deployments", "apps"), ["deploy"]);
  assert.deepEqual(short("replicasets", "apps"), ["rs"]);
  const all = RESOURCES.filter((r) => r.categories.includes("all")).map((r) => r.plural);
  assert.deepEqual(all, [
    "pods",
    "services",
    "replicationcontrollers",
    "deployments",
    "replicasets",
  ]);
});

Deno.test("scopes, verbs and subresources", () => {
  assert.equal(findResource("", "v1", "nodes")?.namespaced, false);
  assert.equal(findResource("", "v1", "namespaces")?.namespaced, false);
  assert.equal(findResource("", "v1", "pods")?.namespaced, true);
  assert.deepEqual(findResource("metrics.k8s.io", "v1beta1", "pods")?.verbs, ["get", "list"]);
  assert.ok(findResource("", "v1", "pods")?.verbs.includes("watch"));
  assert.ok(findResource("apps", "v1", "deployments")?.subresources.includes("scale"));
  assert.ok(findResource("", "v1", "pods")?.subresources.includes("binding"));
  assert.ok(findResource("", "v1", "pods")?.subresources.includes("eviction"));
});

Deno.test("findResource() and resourceForKind() look entries up by address and by kind", () => {
  assert.equal(findResource("apps", "v1", "deployments")?.kind, "Deployment");
  assert.equal(findResource("", "v1", "deployments"), undefined);
  assert.equal(findResource("metrics.k8s.io", "v1beta1", "pods")?.kind, "PodMetrics");
  assert.equal(resourceForKind("v1", "Pod")?.plural, "pods");
  assert.equal(resourceForKind("apps/v1", "ReplicaSet")?.plural, "replicasets");
  assert.equal(resourceForKind("coordination.k8s.io/v1", "Lease")?.plural, "leases");
  assert.equal(resourceForKind("v1", "Deployment"), undefined);
});
