/**
 * Regenerates the protobuf fixtures in this folder from the real kubectl: serves a tiny logging
 * apiserver on 127.0.0.1 (version minor 32, a minimal aggregated discovery), runs each
 * `kubectl create …` below against it and saves the protobuf body kubectl POSTed as
 * `<name>.pb`. Run by hand: `deno run -A server/api/protobuf/testdata/capture_fixtures.ts`.
 */

const here = new URL(".", import.meta.url).pathname;

/** Fixture name → kubectl arguments (after the global flags). */
const COMMANDS: Record<string, string[]> = {
  deployment: ["create", "deployment", "my-nginx", "--image=nginx", "--replicas=3", "--port=80"],
  deployment_multi: ["create", "deployment", "multi", "--image=nginx:1.27", "--image=busybox"],
  deployment_command: [
    "create",
    "deployment",
    "sleeper",
    "--image=busybox",
    "--replicas=0",
    "--",
    "sleep",
    "3600",
  ],
  service_nodeport: [
    "create",
    "service",
    "nodeport",
    "web",
    "--tcp=80:8080",
    "--node-port=30080",
  ],
  service_clusterip: ["create", "service", "clusterip", "api", "--tcp=443:https", "--tcp=80"],
  service_clusterip_none: ["create", "service", "clusterip", "headless", "--clusterip=None"],
  service_loadbalancer: ["create", "service", "loadbalancer", "lb", "--tcp=5678:8080"],
  configmap: [
    "create",
    "configmap",
    "app-config",
    "--from-literal=mode=edge",
    "--from-literal=empty=",
  ],
  secret_generic: [
    "create",
    "secret",
    "generic",
    "db",
    "--from-literal=password=s3cr3t",
    "--type=Opaque",
  ],
  secret_docker_registry: [
    "create",
    "secret",
    "docker-registry",
    "regcred",
    "--docker-server=registry.local:5000",
    "--docker-username=u",
    "--docker-password=p",
  ],
  namespace: ["create", "namespace", "edge"],
  autoscale: ["autoscale", "deployment", "my-nginx", "--min=2", "--max=5", "--cpu-percent=70"],
  job: ["create", "job", "once", "--image=busybox", "--", "date"],
  cronjob: ["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"],
  serviceaccount: ["create", "serviceaccount", "robot"],
  service_externalname: ["create", "service", "externalname", "ext", "--external-name=db.local"],
  priorityclass: [
    "create",
    "priorityclass",
    "batch-low",
    "--value=1000",
    "--description=batch work",
    "--preemption-policy=Never",
  ],
  quota: [
    "create",
    "quota",
    "compute",
    "--hard=pods=10,requests.cpu=1,limits.memory=2Gi",
    "--scopes=NotBestEffort",
  ],
  // Without eviction in legacy discovery, drain deletes the pod with protobuf DeleteOptions.
  delete_options: ["drain", "n1", "--force", "--grace-period=7", "--timeout=10s"],
  delete_options_dry_run: ["drain", "n1", "--force", "--dry-run=server", "--timeout=10s"],
};

function discovery(group: string, version: string, resources: string[][]) {
  return {
    metadata: { name: group },
    versions: [{
      version,
      resources: resources.map(([resource, kind, scope]) => ({
        resource,
        responseKind: { group, version, kind },
        scope,
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        // `kubectl autoscale` refuses a target whose scale subresource is not advertised.
        subresources: resource === "deployments"
          ? [{
            subresource: "scale",
            responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
            verbs: ["get", "patch", "update"],
          }]
          : [],
      })),
    }],
  };
}

const DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const coreDiscovery = {
  items: [discovery("", "v1", [
    ["pods", "Pod", "Namespaced"],
    ["services", "Service", "Namespaced"],
    ["configmaps", "ConfigMap", "Namespaced"],
    ["secrets", "Secret", "Namespaced"],
    ["namespaces", "Namespace", "Cluster"],
    ["nodes", "Node", "Cluster"],
    ["serviceaccounts", "ServiceAccount", "Namespaced"],
    ["resourcequotas", "ResourceQuota", "Namespaced"],
  ])],
};
const groupDiscovery = {
  items: [
    discovery("apps", "v1", [["deployments", "Deployment", "Namespaced"]]),
    discovery("autoscaling", "v1", [[
      "horizontalpodautoscalers",
      "HorizontalPodAutoscaler",
      "Namespaced",
    ]]),
    discovery("batch", "v1", [["jobs", "Job", "Namespaced"], [
      "cronjobs",
      "CronJob",
      "Namespaced",
    ]]),
    discovery("scheduling.k8s.io", "v1", [["priorityclasses", "PriorityClass", "Cluster"]]),
  ],
};

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "my-nginx", namespace: "default", uid: "u1", resourceVersion: "5" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "my-nginx" } },
    template: {
      metadata: { labels: { app: "my-nginx" } },
      spec: { containers: [{ name: "nginx", image: "nginx" }] },
    },
  },
};

const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, spec: {}, status: {} };
const drainedPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p1", namespace: "default", uid: "p1-uid" },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] },
  status: { phase: "Running" },
};

/** The last POST/DELETE body the fake apiserver received. */
const captured: { body?: Uint8Array; type: string } = { type: "" };

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const url = new URL(req.url);
  const json = (body: unknown, status = 200, type = "application/json") =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
  if (url.pathname === "/version") {
    return json({ major: "1", minor: "32", gitVersion: "v1.32.4" });
  }
  if (url.pathname === "/api") return json(coreDiscovery, 200, DISCOVERY_TYPE);
  if (url.pathname === "/apis") return json(groupDiscovery, 200, DISCOVERY_TYPE);
  if (req.method === "GET" && url.pathname.endsWith("/deployments/my-nginx")) {
    return json(deployment);
  }
  if (url.pathname === "/api/v1/nodes/n1") return json(node);
  if (url.pathname === "/api/v1/pods") {
    // drain lists the node's pods until the deleted one is gone.
    const items = captured.body ? [] : [drainedPod];
    return json({ apiVersion: "v1", kind: "PodList", metadata: {}, items });
  }
  if (req.method === "GET" && url.pathname === "/api/v1/namespaces/default/pods/p1") {
    return json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404 }, 404);
  }
  if (req.method === "POST" || req.method === "DELETE") {
    captured.body = new Uint8Array(await req.arrayBuffer());
    captured.type = req.headers.get("content-type") ?? "";
    // kubectl only needs a decodable reply to report "<kind>/<unknown> created".
    return req.method === "POST" ? json({}, 201) : json(drainedPod);
  }
  return json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404 }, 404);
});

const cacheDir = await Deno.makeTempDir();
try {
  for (const [name, args] of Object.entries(COMMANDS)) {
    captured.body = undefined;
    const out = await new Deno.Command("kubectl", {
      args: [
        `--server=http://127.0.0.1:${server.addr.port}`,
        `--cache-dir=${cacheDir}`,
        "--token=t",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    // The fake apiserver filled this in while kubectl ran.
    const body = captured.body as Uint8Array | undefined;
    if (!body) throw new Error(`${name}: kubectl sent no body (${stderr})`);
    if (!captured.type.startsWith("application/vnd.kubernetes.protobuf")) {
      throw new Error(`${name}: expected a protobuf body, got ${captured.type}`);
    }
    await Deno.writeFile(`${here}${name}.pb`, body);
    console.log(`${name}.pb: ${body.byteLength} bytes`);
  }
} finally {
  await Deno.remove(cacheDir, { recursive: true });
  await server.shutdown();
}
