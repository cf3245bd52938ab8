/**
 * The real kubectl creating objects on a real cluster: `run`, the `create` generators (whose
 * bodies are protobuf), `create -f -`, and `expose` as ClusterIP, NodePort and LoadBalancer with
 * an external IP and distinct port/targetPort.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "kubectl run, create and expose make the objects kubectl describes",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11"] });
    const k = cluster.kubectl;
    const getJson = async (...args: string[]): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", ...args, "-o", "json"]));
    try {
      await t.step("run starts a pod with the run label", async () => {
        const out = await kubectlOk(k, [
          "run",
          "solo",
          "--image=skiff.local/busybox:1",
          "--port=8080",
          "--env=GREETING=hi",
          "--",
          "sleep",
          "3600",
        ]);
        assert.equal(out, "pod/solo created\n");
        const pod = await getJson("pod", "solo");
        assert.deepEqual(pod.metadata.labels, { run: "solo" });
        assert.deepEqual(pod.spec.containers[0].command, undefined);
        assert.deepEqual(pod.spec.containers[0].args, ["sleep", "3600"]);
        assert.deepEqual(pod.spec.containers[0].env, [{ name: "GREETING", value: "hi" }]);
        assert.equal(pod.spec.containers[0].ports[0].containerPort, 8080);
        await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/solo", "--timeout=30s"]);
      });

      await t.step("create deployment --image --replicas --port (protobuf)", async () => {
        const out = await kubectlOk(k, [
          "create",
          "deployment",
          "web",
          "--image=skiff.local/busybox:1",
          "--replicas=2",
          "--port=80",
          "--",
          "httpd",
          "-f",
          "-p",
          "80",
          "-h",
          "/www",
        ]);
        assert.equal(out, "deployment.apps/web created\n");
        const d = await getJson("deployment", "web");
        assert.equal(d.spec.replicas, 2);
        assert.deepEqual(d.spec.selector, { matchLabels: { app: "web" } });
        const c = d.spec.template.spec.containers[0];
        assert.equal(c.name, "busybox");
        assert.equal(c.image, "skiff.local/busybox:1");
        assert.deepEqual(c.ports, [{ containerPort: 80, protocol: "TCP" }]);
        assert.deepEqual(c.command, ["httpd", "-f", "-p", "80", "-h", "/www"]);
        await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
      });

      await t.step("create service, configmap and secret generators", async () => {
        assert.equal(
          await kubectlOk(k, ["create", "service", "clusterip", "backend", "--tcp=8080:80"]),
          "service/backend created\n",
        );
        const svc = await getJson("service", "backend");
        assert.deepEqual(svc.spec.selector, { app: "backend" });
        assert.deepEqual(svc.spec.ports[0], {
          name: "8080-80",
          port: 8080,
          protocol: "TCP",
          targetPort: 80,
        });
        assert.match(svc.spec.clusterIP, /^127\.43\./);
        await kubectlOk(k, ["create", "service", "nodeport", "edge", "--tcp=80:8080"]);
        assert.equal((await getJson("service", "edge")).spec.type, "NodePort");

        await kubectlOk(k, [
          "create",
          "configmap",
          "settings",
          "--from-literal=mode=edge",
          "--from-literal=level=2",
        ]);
        assert.deepEqual((await getJson("cm", "settings")).data, { level: "2", mode: "edge" });

        await kubectlOk(k, ["create", "secret", "generic", "creds", "--from-literal=pw=s3cret"]);
        const secret = await getJson("secret", "creds");
        assert.equal(secret.type, "Opaque");
        assert.equal(atob(secret.data.pw), "s3cret");
        await kubectlOk(k, [
          "create",
          "secret",
          "docker-registry",
          "pull",
          "--docker-server=127.0.0.1:5000",
          "--docker-username=u",
          "--docker-password=p",
        ]);
        assert.equal((await getJson("secret", "pull")).type, "kubernetes.io/dockerconfigjson");
        await kubectlOk(k, ["create", "namespace", "team-a"]);
        assert.equal((await getJson("ns", "team-a")).status.phase, "Active");
      });

      await t.step("expose deployment as ClusterIP, NodePort and LoadBalancer", async () => {
        assert.equal(
          await kubectlOk(k, ["expose", "deployment", "web", "--port=80"]),
          "service/web exposed\n",
        );
        await kubectlOk(k, [
          "expose",
          "deployment",
          "web",
          "--name=web-np",
          "--type=NodePort",
          "--port=8080",
          "--target-port=80",
        ]);
        await kubectlOk(k, [
          "expose",
          "deployment",
          "web",
          "--name=web-lb",
          "--type=LoadBalancer",
          "--external-ip=127.0.0.21",
          "--port=8300",
          "--target-port=80",
        ]);
        const rows = parseTable(await kubectlOk(k, ["get", "svc"]));
        const clusterIP = rowNamed(rows, "web");
        assert.equal(clusterIP.TYPE, "ClusterIP");
        assert.equal(clusterIP["PORT(S)"], "80/TCP");
        assert.equal(clusterIP["EXTERNAL-IP"], "<none>");
        const nodePort = rowNamed(rows, "web-np");
        assert.equal(nodePort.TYPE, "NodePort");
        assert.match(nodePort["PORT(S)"], /^8080:3\d{4}\/TCP$/);
        const lb = rowNamed(rows, "web-lb");
        assert.equal(lb.TYPE, "LoadBalancer");
        assert.equal(lb["EXTERNAL-IP"], "127.0.0.21");
        assert.match(lb["PORT(S)"], /^8300:3\d{4}\/TCP$/);

        const svc = await getJson("svc", "web-lb");
        assert.deepEqual(svc.spec.selector, { app: "web" });
        assert.deepEqual(svc.spec.externalIPs, ["127.0.0.21"]);
        assert.equal(svc.spec.ports[0].port, 8300);
        assert.equal(svc.spec.ports[0].targetPort, 80);
        // Every service of the deployment gets both pods' own IPs.
        const ips = await waitKubectl(k, [
          "get",
          "ep",
          "web-lb",
          "-o",
          "jsonpath={.subsets[*].addresses[*].ip}",
        ], (s) => s.split(" ").filter(Boolean).length === 2);
        const podIPs = await kubectlOk(k, [
          "get",
          "pods",
          "-l",
          "app=web",
          "-o",
          "jsonpath={.items[*].status.podIP}",
        ]);
        assert.deepEqual(ips.split(" ").sort(), podIPs.split(" ").sort());
      });

      await t.step("create -f - and a second create of the same name", async () => {
        const manifest = JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "from-stdin" },
          data: { a: "1" },
        });
        assert.equal(
          await kubectlOk(k, ["create", "-f", "-"], { stdin: manifest }),
          "configmap/from-stdin created\n",
        );
        const again = await kubectl(k, ["create", "-f", "-"], { stdin: manifest });
        assert.equal(again.code, 1);
        assert.match(
          again.stderr,
          /Error from server \(AlreadyExists\).*configmaps "from-stdin" already exists/,
        );
      });
    } finally {
      await cluster.stop();
    }
  },
});
