/**
 * ServiceAccounts end to end on a real node (Docker): the `default` ServiceAccount and the
 * `kube-root-ca.crt` ConfigMap appear by themselves, `kubectl get sa` and `kubectl create token`
 * work, a pod finds its token, namespace and CA in /var/run/secrets/kubernetes.io/serviceaccount,
 * the token authenticates to the API (TokenReview says whose it is; tests/in_cluster_client_test.ts
 * uses it from inside a pod through https://kubernetes.default.svc), and it stops working once
 * the pod is gone. The same pod's
 * ConfigMap and downwardAPI volumes follow their sources while it runs, atomically.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { CONFIGMAPS, PODS, SERVICEACCOUNTS } from "../shared/client/refs.ts";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import { kubectlOk } from "./kubectl_helpers.ts";
import { api, randomServiceCidr, waitFor } from "./test_utils.ts";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

async function dockerExec(node: string, pod: string, cmd: string): Promise<string> {
  const ps = await new Deno.Command("docker", {
    args: [
      "ps",
      "-q",
      "--filter",
      `label=io.skiff.node=${node}`,
      "--filter",
      `label=io.kubernetes.pod.name=${pod}`,
      "--filter",
      "label=io.kubernetes.container.name=main",
    ],
    stdout: "piped",
  }).output();
  const id = new TextDecoder().decode(ps.stdout).trim().split("\n")[0];
  if (!id) throw new Error(`no running container for pod ${pod}`);
  const out = await new Deno.Command("docker", {
    args: ["exec", id, "sh", "-c", cmd],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return d.decode(out.stdout) + d.decode(out.stderr);
}

async function md5(text: string): Promise<string> {
  const p = new Deno.Command("md5sum", { stdin: "piped", stdout: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  return new TextDecoder().decode((await p.output()).stdout).slice(0, 32);
}

/** TokenReview as the admin, for `token`. */
async function review(cluster: TestCluster, token: string) {
  const r = await api(cluster.server, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.status;
}

// Large enough that a non-atomic writer would be caught half-way by the reader loop.
const V1 = "v1-".repeat(40_000) + "END\n";
const V2 = "v2-".repeat(40_000) + "END\n";

Deno.test({
  name:
    "a pod reads its ServiceAccount token, namespace and ca.crt, and its ConfigMap and label files follow updates atomically",
  async fn() {
    const cluster = await startTestCluster({ serviceCidr: randomServiceCidr() });
    try {
      const { client } = cluster.server;
      const node = cluster.nodes[0].name;
      const k = cluster.kubectl;
      // The controllers' objects, in every namespace.
      await waitFor(
        "default ServiceAccount",
        () =>
          client.get(SERVICEACCOUNTS, "default", { namespace: "default" }).catch(() => undefined),
      );
      const rootCa = await waitFor(
        "kube-root-ca.crt",
        () =>
          client.get(CONFIGMAPS, "kube-root-ca.crt", { namespace: "default" }).catch(() =>
            undefined
          ),
      );
      assert.equal(rootCa.data["ca.crt"], cluster.server.caPem);
      const sas = await kubectlOk(k, ["get", "serviceaccounts", "-n", "kube-system"]);
      assert.match(sas, /^NAME\s+SECRETS\s+AGE\n/);
      assert.match(sas, /\ndefault\s+0\s+/);

      // kubectl create token: a JWT that TokenReview knows.
      const cliToken = (await kubectlOk(k, ["create", "token", "default", "--duration=15m"]))
        .trim();
      const cli = await review(cluster, cliToken);
      assert.equal(cli.authenticated, true, JSON.stringify(cli));
      assert.equal(cli.user.username, "system:serviceaccount:default:default");
      assert.deepEqual(cli.user.groups, [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
      ]);

      await client.create(CONFIGMAPS, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "app-config", namespace: "default" },
        data: { greeting: V1 },
      });
      // The reader records every distinct content it sees of the mounted file.
      const reader = "last=; while :; do h=$(md5sum < /etc/app/greeting | cut -c1-32); " +
        'if [ "$h" != "$last" ]; then echo "$h" >> /tmp/sums; last=$h; fi; done';
      await client.create<KubeObject>(PODS, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "sa-reader", namespace: "default", labels: { app: "sa", tier: "one" } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: "main",
            image: cluster.images.busybox,
            command: ["sh", "-c", reader],
            volumeMounts: [
              { name: "config", mountPath: "/etc/app" },
              { name: "podinfo", mountPath: "/etc/podinfo" },
            ],
          }],
          volumes: [
            { name: "config", configMap: { name: "app-config" } },
            {
              name: "podinfo",
              downwardAPI: {
                items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }],
              },
            },
          ],
        },
      });
      const pod = await waitFor("sa-reader Running", async () => {
        const p = await client.get(PODS, "sa-reader", { namespace: "default" });
        return p.status?.phase === "Running" ? p : undefined;
      }, { timeoutMs: 60_000 });
      assert.equal(pod.spec.serviceAccountName, "default");
      assert.ok(
        pod.spec.volumes.some((v: { name: string }) => v.name.startsWith("kube-api-access-")),
      );

      // What the pod sees.
      assert.equal(await dockerExec(node, "sa-reader", `cat ${SA_DIR}/namespace`), "default");
      assert.equal(
        await dockerExec(node, "sa-reader", `cat ${SA_DIR}/ca.crt`),
        cluster.server.caPem,
      );
      const token = await dockerExec(node, "sa-reader", `cat ${SA_DIR}/token`);
      const seen = await review(cluster, token);
      assert.equal(seen.authenticated, true, JSON.stringify(seen));
      assert.equal(seen.user.username, "system:serviceaccount:default:default");
      assert.deepEqual(seen.user.extra["authentication.kubernetes.io/pod-name"], ["sa-reader"]);
      assert.deepEqual(seen.user.extra["authentication.kubernetes.io/pod-uid"], [pod.metadata.uid]);
      assert.equal(
        await dockerExec(node, "sa-reader", "cat /etc/podinfo/labels"),
        'app="sa"\ntier="one"',
      );

      // A ConfigMap update reaches the mounted file within 60 s, never half-written.
      const started = Date.now();
      await client.patch(CONFIGMAPS, "app-config", { data: { greeting: V2 } }, {
        namespace: "default",
        type: "merge",
      });
      const v2 = await md5(V2);
      await waitFor("the new ConfigMap content in the pod", async () => {
        const sums = await dockerExec(node, "sa-reader", "cat /tmp/sums");
        return sums.includes(v2);
      }, { timeoutMs: 60_000, intervalMs: 500 });
      assert.ok(Date.now() - started < 60_000);
      const sums = (await dockerExec(node, "sa-reader", "cat /tmp/sums")).trim().split("\n");
      assert.deepEqual(sums, [await md5(V1), v2], "the reader saw partial content");

      // downwardAPI labels follow the pod's labels.
      await client.patch(PODS, "sa-reader", { metadata: { labels: { tier: "two" } } }, {
        namespace: "default",
        type: "merge",
      });
      await waitFor("the new labels in the pod", async () => {
        const labels = await dockerExec(node, "sa-reader", "cat /etc/podinfo/labels");
        return labels === 'app="sa"\ntier="two"';
      }, { timeoutMs: 60_000, intervalMs: 500 });

      // Once the pod is gone, its token is worth nothing.
      await client.delete(PODS, "sa-reader", { namespace: "default" });
      await waitFor("sa-reader gone", async () => {
        const list = await client.list(PODS, { namespace: "default" });
        return !list.items.some((p) => p.metadata.name === "sa-reader");
      }, { timeoutMs: 60_000 });
      const after = await review(cluster, token);
      assert.equal(after.authenticated, false);
      assert.match(after.error, /pods "sa-reader" not found/);
    } finally {
      await cluster.stop();
    }
  },
});
