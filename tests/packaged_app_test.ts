/**
 * A packaged application installed as its project ships it: one multi-document install.yaml, in
 * the order a rendered Helm chart or an operator bundle has (Namespace, CustomResourceDefinition,
 * ServiceAccount, ClusterRole + ClusterRoleBinding, Role + RoleBinding, Deployment running as the
 * ServiceAccount, Service with a named targetPort, Ingress of the default class, then custom
 * resources of the new kind), installed by `kubectl apply -f dir/` with the real kubectl.
 *
 * kubectl maps every document to a resource before it sends any, so on Kubernetes too the first
 * apply creates everything but the custom resources and fails them with "ensure CRDs are
 * installed first"; users wait for the CRD to be Established and apply again. That second apply
 * is where discovery refresh is tested: kubectl's cached discovery (from the first run) lacks the
 * new group, the miss makes kubectl invalidate it and ask again, and Skiff must then serve the
 * CRD's group. Every other object must come back "unchanged" (server-side defaulting that adds
 * fields the manifest lacks would show as "configured").
 *
 * The exporter in the pod lists the Widgets through the API with its projected token (the
 * ClusterRole allows it) and serves what it found over HTTP, which the test reads through the
 * node's Ingress port. `kubectl delete -f dir/` removes it all.
 *
 * A second, smaller package is a directory applied in file-name order, Deployment before its
 * ServiceAccount (kube-state-metrics' layout): the ReplicaSet's pods are refused, the refusals
 * aggregate into one Event, and the Deployment rolls out once the ServiceAccount exists.
 */
import assert from "node:assert/strict";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl, writeManifest } from "./kubectl_helpers.ts";
import { freePort } from "./server_process.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

const NODE = "127.0.0.61";
const NS = "widgets-system";
const SA = "widget-exporter";
const SA_USER = `system:serviceaccount:${NS}:${SA}`;
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const CRD = "widgets.monitoring.example.com";

/**
 * The exporter, an in-cluster client as an operator is: with the pod's ServiceAccount token,
 * ca.crt and namespace and KUBERNETES_SERVICE_HOST/PORT it asks the API who it is
 * (SelfSubjectReview), takes the leader-election Lease in its namespace (the Role) and lists the
 * Widgets of every namespace (the ClusterRole), every two seconds, and serves what it found as
 * metrics on :8080. It runs with the Deno executable that runs this test, mounted from the host
 * with the host's C libraries, as tests/in_cluster_client_test.ts does: the test images have no
 * other HTTPS client that can talk to the API (busybox wget offers only a CBC suite for an ECDSA
 * certificate, which the server's TLS does not implement).
 */
const EXPORTER_JS = `
const dir = "${SA_DIR}";
const api = "https://" + Deno.env.get("KUBERNETES_SERVICE_HOST") + ":" +
  Deno.env.get("KUBERNETES_SERVICE_PORT");
const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(dir + "/ca.crt")] });
const namespace = Deno.readTextFileSync(dir + "/namespace");
const pod = Deno.hostname();
let metrics = "";

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    client,
    headers: {
      authorization: "Bearer " + Deno.readTextFileSync(dir + "/token"),
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function whoami() {
  const r = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
  });
  return r.body.status?.userInfo?.username ?? "status " + r.status;
}

async function lead() {
  const leases = "/apis/coordination.k8s.io/v1/namespaces/" + namespace + "/leases";
  const renewTime = new Date().toISOString().replace(/Z$/, "000Z");
  const got = await call("GET", leases + "/widget-exporter");
  if (got.status === 404) {
    const made = await call("POST", leases, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "widget-exporter" },
      spec: { holderIdentity: pod, leaseDurationSeconds: 15, renewTime },
    });
    return made.status === 201;
  }
  if (got.status !== 200) return false;
  got.body.spec = { ...got.body.spec, holderIdentity: pod, renewTime };
  return (await call("PUT", leases + "/widget-exporter", got.body)).status === 200;
}

async function scrape() {
  const lines = [];
  try {
    lines.push('widget_exporter_user{user="' + await whoami() + '"} 1');
    lines.push("widget_exporter_leader " + (await lead() ? 1 : 0));
    const widgets = await call("GET", "/apis/monitoring.example.com/v1/widgets");
    if (widgets.status !== 200) throw new Error("listing widgets: " + widgets.status);
    lines.push("widgets " + widgets.body.items.length);
    lines.push('widget_exporter_up{pod="' + pod + '"} 1');
  } catch (e) {
    lines.push("# " + String(e).replaceAll("\\n", " "));
    lines.push('widget_exporter_up{pod="' + pod + '"} 0');
  }
  metrics = lines.join("\\n") + "\\n";
}

await scrape();
setInterval(scrape, 2000);
Deno.serve({ port: 8080 }, () => new Response(metrics));
`;

/** The host's C library directories, which the static busybox image lacks (for Deno). */
const LIBS = ["/lib", "/lib64", "/usr/lib"].filter((p) => {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
});

/** The package's install.yaml: every object in one file, as `helm template` would print it. */
function installYaml(image: string, exporterDir: string): string {
  return `
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
  # The exporter mounts host paths (see EXPORTER_JS).
  labels: {pod-security.kubernetes.io/enforce: privileged}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${CRD}
spec:
  group: monitoring.example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wg]
    categories: [monitoring]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, green, blue], default: blue}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${SA}
  namespace: ${NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ${SA}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [monitoring.example.com]
  resources: [widgets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ${SA}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ${SA}
subjects:
- kind: ServiceAccount
  name: ${SA}
  namespace: ${NS}
---
# Leader election, in the app's own namespace only.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${SA}-leader-election
  namespace: ${NS}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${SA}-leader-election
  namespace: ${NS}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: ${SA}-leader-election
subjects:
- kind: ServiceAccount
  name: ${SA}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${SA}
  namespace: ${NS}
  labels: {app.kubernetes.io/name: ${SA}}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: ${SA}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: ${SA}}
    spec:
      serviceAccountName: ${SA}
      terminationGracePeriodSeconds: 0
      containers:
      - name: exporter
        image: ${image}
        command: [/deno/deno, run, -A, /exporter/exporter.js]
        env:
        - {name: DENO_DIR, value: /tmp/deno}
        - {name: HOME, value: /tmp}
        ports:
        - {name: http-metrics, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /metrics, port: http-metrics}
          periodSeconds: 2
        volumeMounts:
        - {name: deno, mountPath: /deno/deno, readOnly: true}
        - {name: exporter, mountPath: /exporter, readOnly: true}
${LIBS.map((p, i) => `        - {name: lib${i}, mountPath: ${p}, readOnly: true}`).join("\n")}
      volumes:
      - {name: deno, hostPath: {path: ${Deno.execPath()}, type: File}}
      - {name: exporter, hostPath: {path: ${exporterDir}, type: Directory}}
${LIBS.map((p, i) => `      - {name: lib${i}, hostPath: {path: ${p}, type: Directory}}`).join("\n")}
---
apiVersion: v1
kind: Service
metadata:
  name: ${SA}
  namespace: ${NS}
spec:
  selector: {app.kubernetes.io/name: ${SA}}
  ports:
  - {name: http, port: 80, targetPort: http-metrics}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${SA}
  namespace: ${NS}
spec:
  rules:
  - host: widgets.test
    http:
      paths:
      - path: /metrics
        pathType: Prefix
        backend:
          service:
            name: ${SA}
            port: {name: http}
---
apiVersion: monitoring.example.com/v1
kind: Widget
metadata:
  name: small
  namespace: ${NS}
spec:
  size: 1
---
apiVersion: monitoring.example.com/v1
kind: Widget
metadata:
  name: large
  namespace: ${NS}
spec:
  size: 10
  color: red
`;
}

/** What `kubectl apply` printed per object: "kind.group/name" → "created" / "unchanged" / ... */
function applied(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.trim().split("\n")) {
    const m = line.match(/^(\S+) (\S+)$/);
    assert.ok(m, `unexpected kubectl apply line: ${line}`);
    out.set(m[1], m[2]);
  }
  return out;
}

/** Every object of install.yaml except the Widgets, as kubectl apply names them. */
const NON_CR_OBJECTS = [
  `namespace/${NS}`,
  `customresourcedefinition.apiextensions.k8s.io/${CRD}`,
  `serviceaccount/${SA}`,
  `clusterrole.rbac.authorization.k8s.io/${SA}`,
  `clusterrolebinding.rbac.authorization.k8s.io/${SA}`,
  `role.rbac.authorization.k8s.io/${SA}-leader-election`,
  `rolebinding.rbac.authorization.k8s.io/${SA}-leader-election`,
  `deployment.apps/${SA}`,
  `service/${SA}`,
  `ingress.networking.k8s.io/${SA}`,
];
const CR_OBJECTS = ["widget.monitoring.example.com/small", "widget.monitoring.example.com/large"];

/** The API groups in kubectl's on-disk discovery cache (`<cache-dir>/discovery/<host>/`). */
async function cachedGroups(cacheDir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const host of Deno.readDir(`${cacheDir}/discovery`)) {
    const path = `${cacheDir}/discovery/${host.name}/servergroups.json`;
    const list = JSON.parse(await Deno.readTextFile(path));
    for (const g of list.groups ?? []) names.push(g.name);
  }
  return names;
}

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: p.code, out: d.decode(p.stdout), err: d.decode(p.stderr) };
}

Deno.test({
  name:
    "a packaged application (one install.yaml: SA, RBAC, CRD + CRs, Deployment, Service, Ingress) installs with kubectl apply, works through its Ingress and deletes cleanly",
  ignore: !haveKubectl(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const http = freePort(NODE);
    const https = freePort(NODE);
    const cluster: TestCluster = await startTestCluster({
      nodeAddresses: [NODE],
      serviceCidr: randomServiceCidr(),
      ingress: { httpPort: http, httpsPort: https },
    });
    const dir = await Deno.makeTempDir({ prefix: "skiff-packaged-app-" });
    const exporterDir = await Deno.makeTempDir({ prefix: "skiff-widget-exporter-" });
    const k = cluster.kubectl;
    const metrics = () =>
      curl(["--resolve", `widgets.test:${http}:${NODE}`, `http://widgets.test:${http}/metrics`]);
    /** Waits until the exporter's metrics, read through the Ingress, match `re`. */
    const metricsMatching = async (re: RegExp, what: string) => {
      let last = "";
      try {
        return await waitFor(`the exporter's metrics to show ${what}`, async () => {
          const r = await metrics();
          last = `curl exit ${r.code}: ${r.out}${r.err}`;
          return r.code === 0 && re.test(r.out) ? r.out : undefined;
        }, { timeoutMs: 60_000, intervalMs: 1_000 });
      } catch (e) {
        throw new Error(`${(e as Error).message}; last answer: ${last}`);
      }
    };
    try {
      await Deno.writeTextFile(`${exporterDir}/exporter.js`, EXPORTER_JS);
      await Deno.chmod(exporterDir, 0o755);
      await writeManifest(dir, "install.yaml", installYaml(cluster.images.busybox, exporterDir));

      await t.step("the first apply creates all but the Widgets, as on Kubernetes", async () => {
        // kubectl resolves every document's kind before sending any: the Widget kind does not
        // exist yet, whatever the order in the file.
        const first = await kubectl(k, ["apply", "-f", `${dir}/`]);
        assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`);
        const created = applied(first.stdout);
        assert.deepEqual([...created.keys()], NON_CR_OBJECTS);
        for (const [name, what] of created) assert.equal(what, "created", name);
        for (const name of ["small", "large"]) {
          assert.match(
            first.stderr,
            new RegExp(
              `resource mapping not found for name: "${name}" namespace: "${NS}" from "${dir}/install.yaml": ` +
                `no matches for kind "Widget" in version "monitoring.example.com/v1"`,
            ),
          );
        }
        assert.match(first.stderr, /ensure CRDs are installed first/);
        const groups = await cachedGroups(k.cacheDir);
        assert.ok(groups.includes("apps"), `kubectl cached no discovery: ${groups}`);
        assert.ok(!groups.includes("monitoring.example.com"), groups.join());
      });

      await t.step("once the CRD is Established, applying again adds the Widgets", async () => {
        await kubectlOk(k, [
          "wait",
          "--for=condition=Established",
          `crd/${CRD}`,
          "--timeout=60s",
        ]);
        // Same cache dir: kubectl's cached discovery still lacks the group, so this also tests
        // that a mapping miss refreshes it from Skiff.
        const second = applied(await kubectlOk(k, ["apply", "-f", `${dir}/`]));
        assert.ok((await cachedGroups(k.cacheDir)).includes("monitoring.example.com"));
        assert.deepEqual([...second.keys()], [...NON_CR_OBJECTS, ...CR_OBJECTS]);
        for (const name of NON_CR_OBJECTS) assert.equal(second.get(name), "unchanged", name);
        for (const name of CR_OBJECTS) assert.equal(second.get(name), "created", name);
        // And a third apply changes nothing at all.
        const third = applied(await kubectlOk(k, ["apply", "-f", `${dir}/`]));
        for (const [name, what] of third) assert.equal(what, "unchanged", name);
      });

      await t.step("the Widgets are served: columns, defaults, short name, category", async () => {
        const resources = await kubectlOk(k, [
          "api-resources",
          "--api-group=monitoring.example.com",
          "-o",
          "wide",
        ]);
        const row = rowNamed(parseTable(resources), "widgets");
        assert.equal(row.SHORTNAMES, "wg");
        assert.equal(row.KIND, "Widget");
        assert.equal(row.CATEGORIES, "monitoring");
        const rows = parseTable(await kubectlOk(k, ["get", "wg", "-n", NS]));
        assert.deepEqual(
          rows.map((r) => [r.NAME, r.SIZE, r.COLOR]).sort(),
          [["large", "10", "red"], ["small", "1", "blue"]],
        );
        const byCategory = parseTable(await kubectlOk(k, ["get", "monitoring", "-n", NS]));
        // One resource type behind the category: kubectl prints plain names, as for `get wg`.
        assert.deepEqual(byCategory.map((r) => r.NAME).sort(), ["large", "small"]);
      });

      await t.step("the pod runs as the ServiceAccount with its token mounted", async () => {
        await kubectlOk(k, [
          "rollout",
          "status",
          `deployment/${SA}`,
          "-n",
          NS,
          "--timeout=120s",
        ]);
        const pod = JSON.parse(
          await kubectlOk(k, [
            "get",
            "pods",
            "-n",
            NS,
            "-l",
            `app.kubernetes.io/name=${SA}`,
            "-o",
            "json",
          ]),
        ).items[0];
        assert.equal(pod.spec.serviceAccountName, SA);
        const mounts = pod.spec.containers[0].volumeMounts ?? [];
        assert.ok(mounts.some((m: { mountPath: string }) => m.mountPath === SA_DIR), mounts);
        const ns = await kubectlOk(k, [
          "exec",
          "-n",
          NS,
          pod.metadata.name,
          "--",
          "cat",
          `${SA_DIR}/namespace`,
        ]);
        assert.equal(ns, NS);
      });

      await t.step("the ServiceAccount holds exactly what its bindings grant", async () => {
        const token = (await kubectlOk(k, ["create", "token", SA, "-n", NS])).trim();
        const as = (args: string[]) => kubectl(k, ["--token", token, ...args]);
        const whoami = await as(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
        assert.equal(whoami.stdout, SA_USER, whoami.stderr);
        const canI = async (args: string[]) => (await as(["auth", "can-i", ...args])).stdout.trim();
        assert.equal(await canI(["list", "widgets.monitoring.example.com", "-A"]), "yes");
        assert.equal(await canI(["delete", "widgets.monitoring.example.com", "-n", NS]), "no");
        assert.equal(await canI(["watch", "pods", "-n", "default"]), "yes");
        assert.equal(await canI(["update", "leases.coordination.k8s.io", "-n", NS]), "yes");
        assert.equal(await canI(["update", "leases.coordination.k8s.io", "-n", "default"]), "no");
        const refused = await as(["delete", "wg", "small", "-n", NS]);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          new RegExp(
            `widgets.monitoring.example.com "small" is forbidden: User "${SA_USER}" cannot delete ` +
              `resource "widgets" in API group "monitoring.example.com" in the namespace "${NS}"`,
          ),
        );
      });

      await t.step("kubectl get all lists the workload, the Service and not the rest", async () => {
        const kinds = parseTable(await kubectlOk(k, ["get", "all", "-n", NS]))
          .map((r) => r.NAME.split("/")[0]);
        assert.deepEqual([...new Set(kinds)].sort(), [
          "deployment.apps",
          "pod",
          "replicaset.apps",
          "service",
        ]);
      });

      await t.step("the exporter, reached through the Ingress, lists both Widgets", async () => {
        const got = await metricsMatching(/^widgets 2$/m, "both Widgets");
        const pod = got.match(/^widget_exporter_up\{pod="(widget-exporter-[a-z0-9-]+)"\} 1$/m)?.[1];
        assert.ok(pod, got);
        // The API knows the pod as its ServiceAccount, and the Role let it take the Lease.
        assert.match(got, new RegExp(`^widget_exporter_user\\{user="${SA_USER}"\\} 1$`, "m"));
        assert.match(got, /^widget_exporter_leader 1$/m);
        const lease = await kubectlOk(k, [
          "get",
          "lease",
          SA,
          "-n",
          NS,
          "-o",
          "jsonpath={.spec.holderIdentity}",
        ]);
        assert.equal(lease, pod);
        await kubectlOk(k, ["delete", "wg", "large", "-n", NS]);
        await metricsMatching(/^widgets 1$/m, "one Widget");
        const ing = rowNamed(parseTable(await kubectlOk(k, ["get", "ingress", "-n", NS])), SA);
        assert.equal(ing.CLASS, "skiff");
        assert.equal(ing.HOSTS, "widgets.test");
      });

      await t.step(
        "a Deployment applied before its ServiceAccount starts once it exists",
        async () => {
          // A package as a directory whose files apply in name order (kube-state-metrics'
          // standard install): deployment.yaml before service-account.yaml. The ReplicaSet's pods
          // are refused until the ServiceAccount exists; the controller retries, as upstream's.
          const late = await Deno.makeTempDir({ dir, prefix: "late-sa-" });
          await writeManifest(
            late,
            "00-namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: late-sa}\n",
          );
          const deployment = await writeManifest(
            late,
            "deployment.yaml",
            `
apiVersion: apps/v1
kind: Deployment
metadata: {name: agent, namespace: late-sa}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      serviceAccountName: agent
      terminationGracePeriodSeconds: 0
      containers: [{name: agent, image: ${cluster.images.busybox}, command: [sleep, "3600"]}]
`,
          );
          await writeManifest(
            late,
            "service-account.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: agent, namespace: late-sa}\n",
          );
          await kubectlOk(k, ["apply", "-f", `${late}/00-namespace.yaml`, "-f", deployment]);
          // Each retry is refused alike (the pod is named by its generateName, as upstream's
          // mutating admission names it), so the refusals aggregate into one Event.
          const events = await waitKubectl(
            k,
            [
              "get",
              "events",
              "-n",
              "late-sa",
              "--field-selector",
              "reason=FailedCreate",
              "-o",
              `jsonpath={range .items[*]}{.count} {.message}{"\\n"}{end}`,
            ],
            (out) => /^([2-9]|\d\d+) /m.test(out),
            { what: "the ReplicaSet's FailedCreate event, repeated" },
          );
          const lines = events.trim().split("\n");
          assert.equal(lines.length, 1, events);
          assert.match(
            lines[0],
            /^\d+ Error creating: pods "agent-[a-z0-9]+-" is forbidden: error looking up service account late-sa\/agent: serviceaccount "agent" not found$/,
          );
          const all = applied(await kubectlOk(k, ["apply", "-f", `${late}/`]));
          assert.equal(all.get("serviceaccount/agent"), "created");
          assert.equal(all.get("deployment.apps/agent"), "unchanged");
          await kubectlOk(k, [
            "rollout",
            "status",
            "deployment/agent",
            "-n",
            "late-sa",
            "--timeout=120s",
          ]);
          await kubectlOk(k, ["delete", "-f", `${late}/`, "--ignore-not-found", "--timeout=120s"]);
        },
      );

      await t.step("kubectl delete -f dir/ removes everything it installed", async () => {
        // As on Kubernetes, the Namespace (first in the file) takes its objects with it and the
        // CRD its Widgets, so later documents may already be gone: --ignore-not-found.
        await kubectlOk(k, ["delete", "-f", `${dir}/`, "--ignore-not-found", "--timeout=120s"]);
        for (const object of ["namespace", "clusterrole", "clusterrolebinding", "crd"]) {
          const name = object === "namespace" ? NS : object === "crd" ? CRD : SA;
          const r = await kubectl(k, ["get", object, name]);
          assert.equal(r.code, 1, r.stdout);
          assert.match(r.stderr, /NotFound/);
        }
        const resources = await kubectlOk(k, [
          "api-resources",
          "--api-group=monitoring.example.com",
        ]);
        assert.equal(parseTable(resources).length, 0, resources);
        await waitFor("the Ingress route to go", async () => {
          const r = await metrics();
          return r.code === 0 && !/widget_exporter_up/.test(r.out) ? true : undefined;
        }, { timeoutMs: 30_000, intervalMs: 1_000 });
      });
    } finally {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(exporterDir, { recursive: true }).catch(() => {});
    }
  },
});
