/** Tests for the metrics.k8s.io routes, against a real HTTP stand-in for an agent's /stats. */
import { deepEqual, equal } from "node:assert/strict";
import { Hono } from "hono";
import type { KubeObject } from "../../shared/api/object.ts";
import type { AgentStatsSummary } from "../../shared/agent_stats.ts";
import { ApiError } from "../../shared/errors.ts";
import { AgentDialer } from "../agent_dialer.ts";
import { type Authorizer, createAuthorizer, type User } from "../auth/authorizer.ts";
import { authorizerOver, obj } from "../auth/rbac/_rbac_test_util.ts";
import { metricsRoutes } from "./metrics_routes.ts";

const TOKEN = "agent-secret";
const NOW = "2026-11-28T12:00:00Z";

function node(name: string, port: number, labels: Record<string, string> = {}): KubeObject {
  return {
    metadata: { name, labels },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
    },
  } as KubeObject;
}

function pod(name: string, nodeName: string, labels: Record<string, string>): KubeObject {
  return { metadata: { name, namespace: "default", labels }, spec: { nodeName } } as KubeObject;
}

/** Serves `/stats` like an agent, counting calls and checking the server's token. */
function startStatsAgent(summary: AgentStatsSummary) {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return new Response("no", { status: 401 });
    }
    calls++;
    return Response.json(summary);
  });
  return { port: server.addr.port, calls: () => calls, stop: () => server.shutdown() };
}

/** The app over `nodes` and `pods`; the caller is admin unless an `x-user` header names one. */
function appFor(
  nodes: KubeObject[],
  pods: KubeObject[],
  auth: { authorizer?: Authorizer; users?: Map<string, User> } = {},
) {
  const dialer = new AgentDialer({
    node: (name) => nodes.find((n) => n.metadata.name === name),
    token: TOKEN,
  });
  const app = new Hono<{ Variables: { user: User } }>();
  app.onError((err) =>
    err instanceof ApiError
      ? Response.json(err.toStatus(), { status: err.code })
      : new Response(String(err), { status: 500 })
  );
  app.use("*", async (c, next) => {
    c.set(
      "user",
      auth.users?.get(c.req.header("x-user") ?? "") ?? {
        name: "admin",
        role: "admin",
        groups: ["system:masters", "system:authenticated"],
      },
    );
    await next();
  });
  metricsRoutes({
    dialer,
    nodes: () => nodes,
    pods: (ns) => pods.filter((p) => !ns || p.metadata.namespace === ns),
    timeoutMs: 2_000,
    authorizer: auth.authorizer,
  })(app);
  return app;
}

Deno.test("metrics routes answer from the agents' /stats, skip silent nodes, filter and cache", async () => {
  const agent = startStatsAgent({
    node: {
      name: "n1",
      cpuNanoCores: 250_000_000,
      memoryBytes: 1024 * 1024 * 1024,
      timestamp: NOW,
      windowSeconds: 10,
    },
    pods: [
      {
        namespace: "default",
        name: "web",
        containers: [{ name: "c", cpuNanoCores: 1_000_000, memoryBytes: 2 * 1024 * 1024 }],
        timestamp: NOW,
        windowSeconds: 10,
      },
      {
        namespace: "default",
        name: "db",
        containers: [{ name: "c", cpuNanoCores: 2_000_000, memoryBytes: 4 * 1024 * 1024 }],
        timestamp: NOW,
        windowSeconds: 10,
      },
    ],
  });
  // A port nobody listens on: that node's agent is unreachable.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  try {
    const app = appFor(
      [node("n1", agent.port, { zone: "a" }), node("n2", deadPort)],
      [pod("web", "n1", { app: "web" }), pod("db", "n1", { app: "db" })],
    );
    const get = async (path: string) => {
      const res = await app.request(`/apis/metrics.k8s.io/v1beta1${path}`);
      return { status: res.status, body: await res.json() };
    };

    const nodes = await get("/nodes");
    equal(nodes.status, 200);
    equal(nodes.body.kind, "NodeMetricsList");
    deepEqual(nodes.body.items.map((n: KubeObject) => n.metadata.name), ["n1"]);
    deepEqual(nodes.body.items[0].usage, { cpu: "250m", memory: "1Gi" });
    equal(nodes.body.items[0].timestamp, NOW);

    const one = await get("/nodes/n1");
    equal(one.body.kind, "NodeMetrics");
    const silent = await get("/nodes/n2");
    equal(silent.status, 404);
    equal(silent.body.message, 'nodemetrics.metrics.k8s.io "n2" not found');

    const pods = await get("/namespaces/default/pods?labelSelector=app%3Dweb");
    deepEqual(pods.body.items.map((p: KubeObject) => p.metadata.name), ["web"]);
    deepEqual(pods.body.items[0].containers, [{ name: "c", usage: { cpu: "1m", memory: "2Mi" } }]);
    const all = await get("/pods");
    deepEqual(all.body.items.map((p: KubeObject) => p.metadata.name), ["db", "web"]);
    const missing = await get("/namespaces/other/pods/web");
    equal(missing.status, 404);
    equal(missing.body.message, 'podmetrics.metrics.k8s.io "web" not found');

    // Every answer above came from one scrape of the agent (cached for ~10 s).
    equal(agent.calls(), 1);
  } finally {
    await agent.stop();
  }
});

/** A ServiceAccount's user, as service_account_auth.ts authenticates it. */
function serviceAccount(name: string): User {
  return {
    name: `system:serviceaccount:default:${name}`,
    role: "serviceaccount",
    groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
  };
}

Deno.test("metrics routes are authorized by RBAC: a Role's ServiceAccount may read its namespace's pod metrics, others get 403", async () => {
  const agent = startStatsAgent({
    node: { name: "n1", cpuNanoCores: 1, memoryBytes: 1, timestamp: NOW, windowSeconds: 10 },
    pods: [{
      namespace: "default",
      name: "web",
      containers: [{ name: "c", cpuNanoCores: 1_000_000, memoryBytes: 2 * 1024 * 1024 }],
      timestamp: NOW,
      windowSeconds: 10,
    }],
  });
  const G = "rbac.authorization.k8s.io";
  const reads = { verbs: ["get", "list"], apiGroups: ["metrics.k8s.io"], resources: ["pods"] };
  const rbac = authorizerOver({
    roles: [obj("Role", "top", "default", { rules: [reads] })],
    clusterRoles: [obj("ClusterRole", "top-all", undefined, { rules: [reads] })],
    roleBindings: [obj("RoleBinding", "top", "default", {
      roleRef: { apiGroup: G, kind: "Role", name: "top" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "default" }],
    })],
    clusterRoleBindings: [obj("ClusterRoleBinding", "top-all", undefined, {
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "top-all" },
      subjects: [{ kind: "ServiceAccount", name: "watcher", namespace: "default" }],
    })],
  });
  const authorizer = createAuthorizer({
    rbac,
    findVolume: () => undefined,
    findClaim: () => undefined,
    findPod: () => undefined,
    podsOnNode: () => [],
  });
  const users = new Map(
    ["nobody", "reader", "watcher"].map((n) => [n, serviceAccount(n)] as const),
  );
  try {
    const app = appFor([node("n1", agent.port)], [pod("web", "n1", {})], { authorizer, users });
    const status = async (user: string, path: string) => {
      const res = await app.request(`/apis/metrics.k8s.io/v1beta1${path}`, {
        headers: { "x-user": user },
      });
      await res.body?.cancel();
      return res.status;
    };
    // No grant: refused, whatever the scope.
    equal(await status("nobody", "/pods"), 403);
    equal(await status("nobody", "/namespaces/default/pods"), 403);
    equal(await status("nobody", "/namespaces/default/pods/web"), 403);
    // A Role in "default": that namespace only, as in Kubernetes.
    equal(await status("reader", "/namespaces/default/pods"), 200);
    equal(await status("reader", "/namespaces/default/pods/web"), 200);
    equal(await status("reader", "/pods"), 403);
    equal(await status("reader", "/nodes"), 403);
    // A ClusterRole bound cluster-wide: every namespace (kubectl top pods -A).
    equal(await status("watcher", "/pods"), 200);
  } finally {
    await agent.stop();
  }
});
