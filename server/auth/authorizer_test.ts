import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { RequestInfo } from "../api/request_info.ts";
import { createAuthorizer, decide, groupsOf, type User } from "./authorizer.ts";
import { referencedNames } from "./node_restriction.ts";
import { fixture } from "./rbac/_rbac_test_util.ts";

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

const secrets: KubeObject[] = [
  { metadata: { name: "web-tls", namespace: "default" }, type: "kubernetes.io/tls" },
  { metadata: { name: "db-pass", namespace: "default" }, type: "Opaque" },
  { metadata: { name: "spare-tls", namespace: "default" }, type: "kubernetes.io/tls" },
] as unknown as KubeObject[];
const ingresses: KubeObject[] = [{
  metadata: { name: "web", namespace: "default" },
  spec: { tls: [{ secretName: "web-tls" }, { secretName: "db-pass" }] },
} as unknown as KubeObject];

const authorizer = createAuthorizer({
  findSecret: (ns, name) =>
    secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
  ingressesIn: (ns) => ingresses.filter((i) => i.metadata.namespace === ns),
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

const nodeA: User = {
  name: "system:node:a",
  role: "node",
  groups: groupsOf("node"),
  nodeName: "a",
};

Deno.test("NodeRestriction: pods bound to the node only, but every pod listed (NetworkPolicy peers)", async () => {
  const pod = (name: string, subresource?: string) => ({
    resource: "pods",
    namespace: "default",
    name,
    subresource,
  });
  assert.deepEqual(await allowed(nodeA, "get", pod("p1")), true);
  assert.deepEqual(await allowed(nodeA, "delete", pod("p1")), true);
  assert.deepEqual(await allowed(nodeA, "patch", pod("p1", "status")), true);
  assert.deepEqual(await allowed(nodeA, "get", pod("gone")), true); // answers 404
  assert.deepEqual(
    await allowed(nodeA, "get", pod("p2")),
    'pods "p2" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default"',
  );
  assert.deepEqual(await allowed(nodeA, "patch", pod("p1")) === true, false);
  assert.deepEqual(await allowed(nodeA, "create", pod("p1", "eviction")) === true, false);
  assert.deepEqual(await allowed(nodeA, "get", pod("p1", "exec")) === true, false);
  const list = { resource: "pods" };
  assert.deepEqual(
    await allowed(nodeA, "list", list, { query: "fieldSelector=spec.nodeName%3Da" }),
    true,
  );
  assert.deepEqual(
    await allowed(nodeA, "watch", list, { query: "fieldSelector=spec.nodeName%3D%3Da" }),
    true,
  );
  // A node's NetworkPolicy peers may run anywhere: it lists and watches every pod.
  assert.deepEqual(await allowed(nodeA, "list", list), true);
  assert.deepEqual(await allowed(nodeA, "watch", list), true);
  assert.deepEqual(
    await allowed(nodeA, "list", list, { query: "fieldSelector=spec.nodeName%3Db" }),
    true,
  );
  assert.deepEqual(
    await allowed(nodeA, "list", { resource: "pods", subresource: "log" }) === true,
    false,
  );
  const netpols = { resource: "networkpolicies", group: "networking.k8s.io" };
  assert.deepEqual(await allowed(nodeA, "watch", netpols), true);
  assert.deepEqual(
    await allowed(nodeA, "create", { ...netpols, namespace: "default" }) === true,
    false,
  );
});

Deno.test("NodeRestriction: only the secrets and configmaps its pods use", async () => {
  const obj = (resource: string, name: string) => ({ resource, namespace: "default", name });
  assert.deepEqual(await allowed(nodeA, "get", obj("secrets", "s-projected")), true);
  assert.deepEqual(await allowed(nodeA, "get", obj("secrets", "s-pull")), true);
  assert.deepEqual(await allowed(nodeA, "get", obj("configmaps", "cm-env")), true);
  assert.deepEqual(await allowed(nodeA, "get", obj("secrets", "cm-env")) === true, false);
  assert.deepEqual(await allowed(nodeA, "get", obj("secrets", "other")) === true, false);
  assert.deepEqual(await allowed(nodeA, "list", { resource: "secrets" }) === true, false);
  assert.deepEqual(await allowed(nodeA, "update", obj("configmaps", "cm-env")) === true, false);
  assert.deepEqual([...referencedNames(pods[0], "configMap")], ["cm-env"]);
});

Deno.test("NodeRestriction: TLS secrets named by an Ingress, and Ingresses to read", async () => {
  const obj = (name: string, namespace = "default") => ({ resource: "secrets", namespace, name });
  assert.deepEqual(await allowed(nodeA, "get", obj("web-tls")), true);
  // Named by an Ingress but not a TLS secret; a TLS secret no Ingress names; another namespace.
  assert.deepEqual(await allowed(nodeA, "get", obj("db-pass")) === true, false);
  assert.deepEqual(await allowed(nodeA, "get", obj("spare-tls")) === true, false);
  assert.deepEqual(await allowed(nodeA, "get", obj("web-tls", "other")) === true, false);
  assert.deepEqual(await allowed(nodeA, "watch", { resource: "secrets" }) === true, false);
  const ing = { group: "networking.k8s.io", resource: "ingresses" };
  assert.deepEqual(await allowed(nodeA, "watch", ing), true);
  assert.deepEqual(await allowed(nodeA, "list", { ...ing, resource: "ingressclasses" }), true);
  assert.deepEqual(
    await allowed(nodeA, "update", { ...ing, name: "web", namespace: "default" }) === true,
    false,
  );
  assert.deepEqual(
    await allowed(nodeA, "patch", {
      ...ing,
      name: "web",
      namespace: "default",
      subresource: "status",
    }) === true,
    false,
  );
});

Deno.test("NodeRestriction: the claims its pods use, their volumes, and volumes provisioned on it", async () => {
  const claim = (name: string) => ({
    resource: "persistentvolumeclaims",
    namespace: "default",
    name,
  });
  const pv = (name: string) => ({ resource: "persistentvolumes", name });
  assert.deepEqual(await allowed(nodeA, "get", claim("data")), true);
  assert.deepEqual(await allowed(nodeA, "get", claim("other")) === true, false);
  assert.deepEqual(await allowed(nodeA, "update", claim("data")) === true, false);
  assert.deepEqual(await allowed(nodeA, "get", pv("pv-data")), true);
  assert.deepEqual(await allowed(nodeA, "get", pv("pv-other")) === true, false);
  assert.deepEqual(await allowed(nodeA, "update", pv("pv-data")) === true, false);
  assert.deepEqual(await allowed(nodeA, "update", pv("pv-local-a")), true);
  assert.deepEqual(await allowed(nodeA, "update", pv("pv-local-b")) === true, false);
  const list = { resource: "persistentvolumes" };
  assert.deepEqual(
    await allowed(nodeA, "watch", list, { query: "labelSelector=storage.skiff.io%2Fnode%3Da" }),
    true,
  );
  assert.deepEqual(
    await allowed(nodeA, "list", list, { query: "labelSelector=storage.skiff.io%2Fnode%3Db" }) ===
      true,
    false,
  );
  assert.deepEqual(await allowed(nodeA, "list", list) === true, false);
});

Deno.test("NodeRestriction: its own Node and Lease, by name or by the created body", async () => {
  const node = (name: string) => ({ metadata: { name } });
  assert.deepEqual(
    await allowed(nodeA, "create", { resource: "nodes" }, { body: node("a") }),
    true,
  );
  assert.deepEqual(
    await allowed(nodeA, "create", { resource: "nodes" }, { body: node("b") }) === true,
    false,
  );
  assert.deepEqual(
    await allowed(nodeA, "patch", { resource: "nodes", name: "a", subresource: "status" }),
    true,
  );
  assert.deepEqual(
    await allowed(nodeA, "patch", { resource: "nodes", name: "b", subresource: "status" }) === true,
    false,
  );
  assert.deepEqual(
    await allowed(nodeA, "delete", { resource: "nodes", name: "a" }) === true,
    false,
  );
  const lease = { group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" };
  assert.deepEqual(await allowed(nodeA, "update", { ...lease, name: "a" }), true);
  assert.deepEqual(await allowed(nodeA, "update", { ...lease, name: "b" }) === true, false);
  assert.deepEqual(await allowed(nodeA, "create", lease, { body: node("a") }), true);
  assert.deepEqual(
    await allowed(nodeA, "update", { ...lease, namespace: "default", name: "a" }) === true,
    false,
  );
});

Deno.test("roles: view reads all but secrets and streams, edit leaves nodes alone, join gets nothing", async () => {
  const view: User = { name: "token:v", role: "view", groups: groupsOf("view") };
  const edit: User = { name: "token:e", role: "edit", groups: groupsOf("edit") };
  const join: User = { name: "system:bootstrap:j", role: "join", groups: groupsOf("join") };
  const pods = { resource: "pods", namespace: "default" };
  assert.deepEqual(await allowed(view, "list", pods), true);
  assert.deepEqual(await allowed(view, "get", { ...pods, name: "p1", subresource: "log" }), true);
  assert.deepEqual(
    await allowed(view, "get", { ...pods, name: "p1", subresource: "exec" }) === true,
    false,
  );
  assert.deepEqual(await allowed(view, "create", pods) === true, false);
  assert.deepEqual(
    await allowed(view, "get", { resource: "secrets", namespace: "default", name: "s" }) === true,
    false,
  );
  assert.deepEqual(await allowed(edit, "create", pods), true);
  assert.deepEqual(
    await allowed(edit, "get", { resource: "secrets", namespace: "default", name: "s" }),
    true,
  );
  assert.deepEqual(await allowed(edit, "list", { resource: "nodes" }), true);
  assert.deepEqual(await allowed(edit, "patch", { resource: "nodes", name: "a" }) === true, false);
  assert.deepEqual(await allowed(join, "list", pods) === true, false);
  assert.deepEqual(
    await allowed({ name: "token:a", role: "admin", groups: groupsOf("admin") }, "delete", {
      resource: "nodes",
      name: "a",
    }),
    true,
  );
});

Deno.test("NodeRestriction: tokens only for the ServiceAccount of its own pods, bound to them", async () => {
  const token = (name: string) => ({
    resource: "serviceaccounts",
    namespace: "default",
    name,
    subresource: "token",
  });
  const bound = (pod: string) => ({
    body: { spec: { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod } } },
  });
  assert.deepEqual(await allowed(nodeA, "create", token("default"), bound("p1")), true);
  assert.deepEqual(await allowed(nodeA, "create", token("builder"), bound("p1")) === true, false);
  assert.deepEqual(await allowed(nodeA, "create", token("default"), bound("p2")) === true, false);
  assert.deepEqual(
    await allowed(nodeA, "create", token("default"), { body: { spec: {} } }) === true,
    false,
  );
  assert.deepEqual(
    await allowed(nodeA, "get", {
      resource: "serviceaccounts",
      namespace: "default",
      name: "x",
    }) ===
      true,
    false,
  );
});

Deno.test("roles: a ServiceAccount gets only what every authenticated user gets", async () => {
  const sa: User = {
    name: "system:serviceaccount:default:default",
    role: "serviceaccount",
    groups: groupsOf("serviceaccount"),
  };
  assert.deepEqual(groupsOf("admin"), ["system:masters", "system:authenticated"]);
  assert.deepEqual(
    await allowed(sa, "list", { resource: "pods", namespace: "default" }),
    'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  assert.deepEqual(
    await allowed(sa, "create", {
      group: "authorization.k8s.io",
      resource: "selfsubjectaccessreviews",
    }),
    true,
  );
  assert.deepEqual(
    await allowed(sa, "create", { group: "authentication.k8s.io", resource: "tokenreviews" }) ===
      true,
    false,
  );
});

Deno.test("token role OR RBAC: RBAC adds to users' roles, never to nodes or join tokens", async () => {
  const withRbac = createAuthorizer({
    rbac: fixture(),
    findVolume: () => undefined,
    findClaim: () => undefined,
    findPod: () => undefined,
    podsOnNode: () => [],
  });
  const check = async (user: User, verb: string, ri: Partial<RequestInfo>) => {
    try {
      await withRbac(user, {
        verb,
        ri: { group: "", version: "v1", resource: "", ...ri },
        request: new Request("https://x/api"),
      });
      return true;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const cm = (namespace: string) => ({ resource: "configmaps", namespace });
  const groups = ["system:authenticated"];
  const viewer: User = { name: "alice", role: "view", groups };
  assert.deepEqual(await check(viewer, "create", cm("a")), true); // RBAC
  assert.deepEqual(await check(viewer, "list", cm("c")), true); // token role
  assert.deepEqual(
    await check(viewer, "create", cm("c")),
    'configmaps is forbidden: User "alice" cannot create resource "configmaps" in API group "" in the namespace "c"',
  );
  // A binding to a missing role is named in the refusal, as kube-apiserver does.
  assert.deepEqual(
    await check({ name: "alice", role: "serviceaccount", groups }, "get", {
      resource: "pods",
      namespace: "b",
    }),
    'pods is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "b": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
  );
  for (const role of ["node", "join"] as const) {
    const user: User = { name: "alice", role, groups, nodeName: "x" };
    assert.deepEqual(await check(user, "create", cm("a")) === true, false, role);
  }
  const rbacGroup = "rbac.authorization.k8s.io";
  const roles = { group: rbacGroup, resource: "clusterroles", name: "cluster-admin" };
  const edit: User = { name: "token:e", role: "edit", groups };
  for (const verb of ["escalate", "bind", "impersonate"]) {
    assert.deepEqual(await check(edit, verb, roles) === true, false, verb);
  }
  // As Kubernetes' edit role: ServiceAccounts (it can run pods as them), no one else.
  const appSa = { resource: "serviceaccounts", namespace: "a", name: "app" };
  assert.deepEqual(await check(edit, "impersonate", appSa), true);
  assert.deepEqual(
    await check(edit, "impersonate", { resource: "users", name: "jane" }) === true,
    false,
  );
  assert.deepEqual(
    await check(edit, "impersonate", { resource: "groups", name: "devs" }) === true,
    false,
  );
  assert.deepEqual(
    await check(edit, "create", { group: rbacGroup, resource: "rolebindings" }),
    true,
  );
  assert.deepEqual(await check({ name: "token:a", role: "admin", groups }, "bind", roles), true);
  // Every role may ask about itself; a ServiceAccount role holds nothing else by itself.
  const sa: User = { name: "system:serviceaccount:x:y", role: "serviceaccount", groups };
  const ssar = { group: "authorization.k8s.io", resource: "selfsubjectaccessreviews" };
  assert.deepEqual(await check(sa, "create", ssar), true);
  assert.deepEqual(await check({ ...viewer, name: "v" }, "create", ssar), true);
  assert.deepEqual(await check(sa, "list", cm("x")) === true, false);
});

Deno.test("decide(): /metrics for user roles, or for whoever RBAC lets get it", () => {
  const rbac = fixture();
  const metrics = { verb: "get", resourceRequest: false, path: "/metrics" };
  const sa = (groups: string[]): User => ({
    name: "system:serviceaccount:mon:prom",
    role: "serviceaccount",
    groups,
  });
  assert.deepEqual(decide(sa(["system:monitoring"]), metrics, rbac).allowed, true);
  assert.deepEqual(decide(sa(["system:authenticated"]), metrics, rbac).allowed, false);
  assert.deepEqual(
    decide({ name: "token:v", role: "view", groups: [] }, metrics, rbac).allowed,
    true,
  );
  const node: User = { name: "n", role: "node", groups: ["system:monitoring"], nodeName: "n" };
  assert.deepEqual(decide(node, metrics, rbac).allowed, false);
});

Deno.test("verbOf() maps proxy methods as kube-apiserver: OPTIONS has the empty verb", async () => {
  const { verbOf } = await import("./authorizer.ts");
  const ri: RequestInfo = {
    group: "",
    version: "v1",
    namespace: "default",
    resource: "pods",
    name: "web",
    subresource: "proxy",
  };
  const verbs = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((m) =>
    verbOf(m, ri, false)
  );
  assert.deepEqual(verbs, ["get", "get", "create", "update", "patch", "delete", ""]);
});

Deno.test("token roles: view may not use the proxy subresources, edit not nodes/proxy", () => {
  const attrs = (resource: string, subresource: string, verb: string) => ({
    verb,
    resourceRequest: true,
    apiGroup: "",
    apiVersion: "v1",
    namespace: resource === "nodes" ? undefined : "default",
    resource,
    subresource,
    name: "x",
  });
  const allowed = (role: User["role"], resource: string, verb: string) =>
    decide(
      { name: "token:t", role, groups: groupsOf(role) },
      attrs(resource, "proxy", verb),
      undefined,
    ).allowed;
  assert.equal(allowed("view", "pods", "get"), false);
  assert.equal(allowed("view", "services", "get"), false);
  assert.equal(allowed("edit", "pods", "get"), true);
  assert.equal(allowed("edit", "services", "create"), true);
  assert.equal(allowed("edit", "nodes", "get"), false);
  assert.equal(allowed("admin", "nodes", "get"), true);
});
