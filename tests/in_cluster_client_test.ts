/**
 * The official JavaScript client in a pod, with its in-cluster configuration: the test bundles
 * tests/fixtures/in_cluster_client/main.ts (`@kubernetes/client-node`, `loadFromCluster()`) and
 * runs it in a busybox pod with the Deno executable that runs this test (hostPath mounts of the
 * executable and of the host's C libraries, which the static busybox image lacks). The client
 * reaches the API through the `kubernetes` Service's ClusterIP over TLS verified by the
 * projected ca.crt, authenticated by the projected ServiceAccount token.
 *
 * Until RBAC objects exist a ServiceAccount gets what every authenticated user gets: discovery
 * and /version, and a 403 for listing pods or creating a ConfigMap. Once a Role allowing
 * get/list on pods is bound to the ServiceAccount, the same client lists the pods (itself among
 * them) and is still refused the ConfigMap. {@linkcode runInClusterClient} is the helper to
 * reuse for more cases.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { CONFIGMAPS, PODS, ROLE_BINDINGS, ROLES, SERVICEACCOUNTS } from "../shared/client/refs.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { allowPrivilegedPods } from "./agent_test_utils.ts";
import { startTestCluster } from "./cluster.ts";
import { api, randomServiceCidr, waitFor } from "./test_utils.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** One call's outcome as the in-pod client reports it. */
export type Outcome = { ok: true; value: unknown } | { ok: false; code?: number; message: string };

/** What the in-pod client printed. */
export interface InClusterResult {
  server: string;
  namespace: string;
  version: Outcome;
  apiGroups: Outcome;
  listPods: Outcome;
  createConfigMap: Outcome;
}

/** Bundles the in-cluster client once per test run into `dir/client.js`. */
export async function bundleInClusterClient(dir: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=deno",
      "--config",
      `${ROOT}deno.json`,
      "-o",
      `${dir}/client.js`,
      `${ROOT}tests/fixtures/in_cluster_client/main.ts`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/**
 * Runs the bundled client in pod `name` as ServiceAccount `serviceAccount` of `namespace`
 * (which must allow hostPath pods) and returns what it printed.
 */
export async function runInClusterClient(
  client: ApiClient,
  options: { name: string; namespace: string; serviceAccount: string; dir: string; image: string },
): Promise<InClusterResult> {
  const hostPath = (name: string, path: string, type = "") => ({
    name,
    hostPath: { path, type },
  });
  const libs = ["/lib", "/lib64", "/usr/lib"].filter((p) => {
    try {
      return Deno.statSync(p).isDirectory;
    } catch {
      return false;
    }
  });
  await client.create<KubeObject>(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      serviceAccountName: options.serviceAccount,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 0,
      containers: [{
        name: "main",
        image: options.image,
        command: ["/deno/deno", "run", "-A", "/client/client.js"],
        env: [{ name: "DENO_DIR", value: "/tmp/deno" }, { name: "HOME", value: "/tmp" }],
        volumeMounts: [
          { name: "deno", mountPath: "/deno/deno", readOnly: true },
          { name: "client", mountPath: "/client", readOnly: true },
          ...libs.map((p, i) => ({ name: `lib${i}`, mountPath: p, readOnly: true })),
        ],
      }],
      volumes: [
        hostPath("deno", Deno.execPath(), "File"),
        hostPath("client", options.dir, "Directory"),
        ...libs.map((p, i) => hostPath(`lib${i}`, p, "Directory")),
      ],
    },
  });
  const pod = await waitFor(`${options.name} finished`, async () => {
    const p = await client.get(PODS, options.name, { namespace: options.namespace });
    return ["Succeeded", "Failed"].includes(p.status?.phase) ? p : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500 });
  const res = await client.request(
    "GET",
    `/api/v1/namespaces/${options.namespace}/pods/${options.name}/log`,
  );
  const log = await res.text();
  assert.equal(pod.status.phase, "Succeeded", log);
  const line = log.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `no RESULT line in:\n${log}`);
  return JSON.parse(line.slice("RESULT ".length));
}

/** Asserts the calls every authenticated user may make worked. */
export function assertDiscoveryAllowed(r: InClusterResult): void {
  assert.deepEqual(r.version, { ok: true, value: "v1.32.0-skiff" });
  assert.ok(r.apiGroups.ok, JSON.stringify(r.apiGroups));
  assert.ok((r.apiGroups.value as string[]).includes("apps"), JSON.stringify(r.apiGroups));
}

/** Asserts `outcome` is a 403 whose message matches `message`. */
export function assertForbidden(outcome: Outcome, message: RegExp): void {
  assert.equal(outcome.ok, false, JSON.stringify(outcome));
  const refused = outcome as { code?: number; message: string };
  assert.equal(refused.code, 403, JSON.stringify(refused));
  // client-node reports the Status body as JSON text, so its quotes may come escaped.
  assert.match(refused.message.replaceAll('\\"', '"'), message);
}

const SA_USER = "system:serviceaccount:default:operator";

Deno.test({
  name:
    "@kubernetes/client-node in a pod: loadFromCluster() reaches the API; a Role lets it list pods, not write",
  async fn() {
    const cluster = await startTestCluster({ serviceCidr: randomServiceCidr() });
    const dir = await Deno.makeTempDir({ prefix: "skiff-in-cluster-" });
    try {
      const { client } = cluster.server;
      await bundleInClusterClient(dir);
      await Deno.chmod(dir, 0o755);
      await allowPrivilegedPods(client);
      await client.create<KubeObject>(SERVICEACCOUNTS, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "operator", namespace: "default" },
      });
      const run = (name: string) =>
        runInClusterClient(client, {
          name,
          namespace: "default",
          serviceAccount: "operator",
          dir,
          image: cluster.images.busybox,
        });

      // No RBAC object names the ServiceAccount: discovery only.
      const before = await run("in-cluster");
      assert.match(before.server, /^https:\/\/\d+\.\d+\.\d+\.\d+:443$/);
      assert.equal(before.namespace, "default");
      assertDiscoveryAllowed(before);
      assertForbidden(before.listPods, new RegExp(`User "${SA_USER}" cannot list resource "pods"`));
      assertForbidden(
        before.createConfigMap,
        new RegExp(`User "${SA_USER}" cannot create resource "configmaps"`),
      );

      // A Role allowing get/list on pods, bound to the pod's ServiceAccount.
      await client.create<KubeObject>(ROLES, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "pod-reader", namespace: "default" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
      });
      await client.create<KubeObject>(ROLE_BINDINGS, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "operator-reads-pods", namespace: "default" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ kind: "ServiceAccount", name: "operator" }],
      });
      // The authorizer reads RBAC objects from informers: start the pod once it has seen them.
      await waitFor("the RoleBinding in effect", async () => {
        const r = await api(
          cluster.server,
          "POST",
          "/apis/authorization.k8s.io/v1/subjectaccessreviews",
          {
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SubjectAccessReview",
              spec: {
                user: SA_USER,
                groups: [
                  "system:serviceaccounts",
                  "system:serviceaccounts:default",
                  "system:authenticated",
                ],
                resourceAttributes: { namespace: "default", verb: "list", resource: "pods" },
              },
            },
          },
        );
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.status.allowed === true || undefined;
      });

      const after = await run("in-cluster-reader");
      assertDiscoveryAllowed(after);
      assert.equal(after.listPods.ok, true, JSON.stringify(after.listPods));
      const names = (after.listPods as { value: string[] }).value;
      assert.ok(names.includes("in-cluster-reader"), JSON.stringify(names));
      assert.ok(names.includes("in-cluster"), JSON.stringify(names));
      assertForbidden(
        after.createConfigMap,
        new RegExp(`User "${SA_USER}" cannot create resource "configmaps"`),
      );
      const written = await client.get(CONFIGMAPS, "written-by-pod", { namespace: "default" })
        .catch(() => undefined);
      assert.equal(written, undefined, "the refused ConfigMap exists");
    } finally {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
