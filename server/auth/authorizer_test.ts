import { assertEquals } from "../../shared/_assert_test_util.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { RequestInfo } from "../api/request_info.ts";
import { createAuthorizer, type User } from "./authorizer.ts";
import { referencedNames } from "./node_restriction.ts";

const pods: KubeObject[] = [
  {
    metadata: { name: "p1", namespace: "default" },
    spec: {
      nodeName: "a",
      containers: [{ envFrom: [{ configMapRef: { name: "cm-env" } }] }],
      volumes: [
        { projected: { sources: [{ secret: { name: "s-projected" } }] } },
        { persistentVolumeClaim: { claimName: "data" } },
      ],
      imagePullSecrets: [{ name: "s-pull" }],
    },
  } as unknown as KubeObject,
  { metadata: { name: "p2", namespace: "default" }, spec: { nodeName: "b" } } as KubeObject,
];

const claims: KubeObject[] = [
  { metadata: { name: "data", namespace: "default" }, spec: { volumeName: "pv-data" } },
  { metadata: { name: "other", namespace: "default" }, spec: { volumeName: "pv-other" } },
];
const volumes: KubeObject[] = [
  { metadata: { name: "pv-data" }, spec: { claimRef: { namespace: "default", name: "data" } } },
  { metadata: { name: "pv-other" }, spec: { claimRef: { namespace: "default", name: "other" } } },
  { metadata: { name: "pv-local-a", labels: { "storage.skiff.io/node": "a" } }, spec: {} },
  { metadata: { name: "pv-local-b", labels: { "storage.skiff.io/node": "b" } }, spec: {} },
];

const authorizer = createAuthorizer({
  findVolume: (name) => volumes.find((v) => v.metadata.name === name),
  findClaim: (ns, name) =>
    claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
  findPod: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
  podsOnNode: (ns, node) =>
    pods.filter((p) =>
      p.metadata.namespace === ns && (p as { spec?: { nodeName?: string } }).spec?.nodeName === node
    ),
});

async function allowed(
  user: User,
  verb: string,
  ri: Partial<RequestInfo>,
  options: { query?: string; body?: unknown; method?: string } = {},
): Promise<boolean | string> {
  const request = new Request(`https://x/apis?${options.query ?? ""}`, {
    method: options.method ?? (options.body ? "POST" : "GET"),
    body: options.body ? JSON.stringify(options.body) : undefined,
    headers: { "content-type": "application/json" },
  });
  try {
    await authorizer(user, {
      verb,
      ri: { group: "", version: "v1", resource: "", ...ri },
      request,
    });
    return true;
  } catch (e) {
    return (e as Error).message;
  }
}

const nodeA: User = { name: "system:node:a", role: "node", nodeName: "a" };

Deno.test("NodeRestriction: pods bound to the node only, listed by its field selector", async () => {
  const pod = (name: string, subresource?: string) => ({
    resource: "pods",
    namespace: "default",
    name,
    subresource,
  });
  assertEquals(await allowed(nodeA, "get", pod("p1")), true);
  assertEquals(await allowed(nodeA, "delete", pod("p1")), true);
  assertEquals(await allowed(nodeA, "patch", pod("p1", "status")), true);
  assertEquals(await allowed(nodeA, "get", pod("gone")), true); // answers 404
  assertEquals(
    await allowed(nodeA, "get", pod("p2")),
    'pods "p2" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default"',
  );
  assertEquals(await allowed(nodeA, "patch", pod("p1")) === true, false);
  assertEquals(await allowed(nodeA, "create", pod("p1", "eviction")) === true, false);
  assertEquals(await allowed(nodeA, "get", pod("p1", "exec")) === true, false);
  const list = { resource: "pods" };
  assertEquals(
    await allowed(nodeA, "list", list, { query: "fieldSelector=spec.nodeName%3Da" }),
    true,
  );
  assertEquals(
    await allowed(nodeA, "watch", list, { query: "fieldSelector=spec.nodeName%3D%3Da" }),
    true,
  );
  assertEquals(await allowed(nodeA, "list", list) === true, false);
  assertEquals(
    await allowed(nodeA, "list", list, { query: "fieldSelector=spec.nodeName%3Db" }) === true,
    false,
  );
  assertEquals(
    await allowed(nodeA, "list", list, { query: "fieldSelector=spec.nodeName!%3Da" }) === true,
    false,
  );
});

Deno.test("NodeRestriction: only the secrets and configmaps its pods use", async () => {
  const obj = (resource: string, name: string) => ({ resource, namespace: "default", name });
  assertEquals(await allowed(nodeA, "get", obj("secrets", "s-projected")), true);
  assertEquals(await allowed(nodeA, "get", obj("secrets", "s-pull")), true);
  assertEquals(await allowed(nodeA, "get", obj("configmaps", "cm-env")), true);
  assertEquals(await allowed(nodeA, "get", obj("secrets", "cm-env")) === true, false);
  assertEquals(await allowed(nodeA, "get", obj("secrets", "other")) === true, false);
  assertEquals(await allowed(nodeA, "list", { resource: "secrets" }) === true, false);
  assertEquals(await allowed(nodeA, "update", obj("configmaps", "cm-env")) === true, false);
  assertEquals([...referencedNames(pods[0], "configMap")], ["cm-env"]);
});

Deno.test("NodeRestriction: the claims its pods use, their volumes, and volumes provisioned on it", async () => {
  const claim = (name: string) => ({
    resource: "persistentvolumeclaims",
    namespace: "default",
    name,
  });
  const pv = (name: string) => ({ resource: "persistentvolumes", name });
  assertEquals(await allowed(nodeA, "get", claim("data")), true);
  assertEquals(await allowed(nodeA, "get", claim("other")) === true, false);
  assertEquals(await allowed(nodeA, "update", claim("data")) === true, false);
  assertEquals(await allowed(nodeA, "get", pv("pv-data")), true);
  assertEquals(await allowed(nodeA, "get", pv("pv-other")) === true, false);
  assertEquals(await allowed(nodeA, "update", pv("pv-data")) === true, false);
  assertEquals(await allowed(nodeA, "update", pv("pv-local-a")), true);
  assertEquals(await allowed(nodeA, "update", pv("pv-local-b")) === true, false);
  const list = { resource: "persistentvolumes" };
  assertEquals(
    await allowed(nodeA, "watch", list, { query: "labelSelector=storage.skiff.io%2Fnode%3Da" }),
    true,
  );
  assertEquals(
    await allowed(nodeA, "list", list, { query: "labelSelector=storage.skiff.io%2Fnode%3Db" }) ===
      true,
    false,
  );
  assertEquals(await allowed(nodeA, "list", list) === true, false);
});

Deno.test("NodeRestriction: its own Node and Lease, by name or by the created body", async () => {
  const node = (name: string) => ({ metadata: { name } });
  assertEquals(await allowed(nodeA, "create", { resource: "nodes" }, { body: node("a") }), true);
  assertEquals(
    await allowed(nodeA, "create", { resource: "nodes" }, { body: node("b") }) === true,
    false,
  );
  assertEquals(
    await allowed(nodeA, "patch", { resource: "nodes", name: "a", subresource: "status" }),
    true,
  );
  assertEquals(
    await allowed(nodeA, "patch", { resource: "nodes", name: "b", subresource: "status" }) === true,
    false,
  );
  assertEquals(await allowed(nodeA, "delete", { resource: "nodes", name: "a" }) === true, false);
  const lease = { group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" };
  assertEquals(await allowed(nodeA, "update", { ...lease, name: "a" }), true);
  assertEquals(await allowed(nodeA, "update", { ...lease, name: "b" }) === true, false);
  assertEquals(await allowed(nodeA, "create", lease, { body: node("a") }), true);
  assertEquals(
    await allowed(nodeA, "update", { ...lease, namespace: "default", name: "a" }) === true,
    false,
  );
});

Deno.test("roles: view reads all but secrets and streams, edit leaves nodes alone, join gets nothing", async () => {
  const view: User = { name: "token:v", role: "view" };
  const edit: User = { name: "token:e", role: "edit" };
  const join: User = { name: "system:bootstrap:j", role: "join" };
  const pods = { resource: "pods", namespace: "default" };
  assertEquals(await allowed(view, "list", pods), true);
  assertEquals(await allowed(view, "get", { ...pods, name: "p1", subresource: "log" }), true);
  assertEquals(
    await allowed(view, "get", { ...pods, name: "p1", subresource: "exec" }) === true,
    false,
  );
  assertEquals(await allowed(view, "create", pods) === true, false);
  assertEquals(
    await allowed(view, "get", { resource: "secrets", namespace: "default", name: "s" }) === true,
    false,
  );
  assertEquals(await allowed(edit, "create", pods), true);
  assertEquals(
    await allowed(edit, "get", { resource: "secrets", namespace: "default", name: "s" }),
    true,
  );
  assertEquals(await allowed(edit, "list", { resource: "nodes" }), true);
  assertEquals(await allowed(edit, "patch", { resource: "nodes", name: "a" }) === true, false);
  assertEquals(await allowed(join, "list", pods) === true, false);
  assertEquals(
    await allowed({ name: "token:a", role: "admin" }, "delete", { resource: "nodes", name: "a" }),
    true,
  );
});
