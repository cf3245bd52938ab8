/**
 * The upstream guestbook's shape on two agents: a `redis-master` Deployment and Service, two
 * `redis-slave` replicas and a `frontend` with `GET_HOSTS_FROM=dns` behind a NodePort, applied
 * with the real kubectl as one manifest. The images are busybox stand-ins that do what the
 * manifests expect of them: the "master" serves on 6379 (busybox httpd), the replicas and the
 * frontend reach it by its Service name. The master is pinned to one node and the frontend to
 * the other, so the name is resolved by cluster DNS and the traffic crosses nodes; the frontend
 * also gets the `REDIS_MASTER_SERVICE_HOST` variables, and answers through its NodePort on both
 * node addresses.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { INDEX_HTML } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, writeManifest } from "./kubectl_helpers.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

function manifest(image: string, masterNode: string, frontendNode: string): string {
  const deployment = (
    name: string,
    labels: string,
    replicas: number,
    node: string | undefined,
    command: string,
    env = "",
  ) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { ${labels} } }
  template:
    metadata: { labels: { ${labels} } }
    spec:
      ${node ? `nodeSelector: { kubernetes.io/hostname: ${node} }` : ""}
      containers:
      - name: ${name}
        image: ${image}
        command: ["sh", "-c", ${JSON.stringify(command)}]
        ${env}
`;
  const service = (name: string, labels: string, port: number, target: number, type = "") => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  ${type}
  selector: { ${labels} }
  ports: [{ port: ${port}, targetPort: ${target} }]
`;
  return [
    deployment(
      "redis-master",
      "app: redis, role: master, tier: backend",
      1,
      masterNode,
      "exec httpd -f -p 6379 -h /www",
    ),
    service("redis-master", "app: redis, role: master, tier: backend", 6379, 6379),
    deployment(
      "redis-slave",
      "app: redis, role: slave, tier: backend",
      2,
      undefined,
      "exec httpd -f -p 6379 -h /www",
      "env: [{ name: GET_HOSTS_FROM, value: dns }]",
    ),
    service("redis-slave", "app: redis, role: slave, tier: backend", 6379, 6379),
    deployment(
      "frontend",
      "app: guestbook, tier: frontend",
      1,
      frontendNode,
      "exec httpd -f -p 80 -h /www",
      "env: [{ name: GET_HOSTS_FROM, value: dns }]",
    ),
    service("frontend", "app: guestbook, tier: frontend", 80, 80, "type: NodePort"),
  ].join("---");
}

Deno.test({
  name: "the guestbook shape: frontend and replicas reach redis-master by name across nodes",
  ignore: !haveKubectl(),
  async fn() {
    const cluster = await startTestCluster({
      nodeAddresses: ["127.0.0.11", "127.0.0.12"],
      serviceCidr: randomServiceCidr(),
    });
    const k = cluster.kubectl;
    try {
      const [masterNode, frontendNode] = cluster.nodes.map((n) => n.name);
      const file = await writeManifest(
        k.cacheDir,
        "guestbook.yaml",
        manifest(cluster.images.busybox, masterNode, frontendNode),
      );
      await kubectlOk(k, ["apply", "-f", file]);
      for (const d of ["redis-master", "redis-slave", "frontend"]) {
        await kubectlOk(k, ["rollout", "status", `deployment/${d}`, "--timeout=90s"]);
      }
      const pods = parseTable(await kubectlOk(k, ["get", "pods", "-o", "wide"]));
      const frontend = pods.find((p) => p.NAME.startsWith("frontend-"))!;
      const master = pods.find((p) => p.NAME.startsWith("redis-master-"))!;
      assert.equal(master.NODE, masterNode);
      assert.equal(frontend.NODE, frontendNode);
      const slaves = pods.filter((p) => p.NAME.startsWith("redis-slave-"));
      assert.equal(slaves.length, 2);

      const exec = (pod: string, ...cmd: string[]) => kubectlOk(k, ["exec", pod, "--", ...cmd]);
      const masterIP = JSON.parse(
        await kubectlOk(k, ["get", "svc", "redis-master", "-o", "json"]),
      ).spec.clusterIP as string;
      // The frontend (on the other node) resolves the short name through cluster DNS … (busybox
      // nslookup tries every search domain and exits 1 when any of them is NXDOMAIN, as the
      // other two are: the answer is read from its output).
      const lookup = await waitFor("frontend resolves redis-master", async () => {
        const r = await kubectl(k, ["exec", frontend.NAME, "--", "nslookup", "redis-master"]);
        return r.stdout.includes(masterIP) ? r.stdout : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      assert.match(lookup, /redis-master\.default\.svc\.cluster\.local/);
      // … and talks to it by that name across nodes; so does every replica.
      for (const p of [frontend, ...slaves]) {
        const body = await waitFor(`${p.NAME} reaches redis-master`, async () => {
          const r = await exec(
            p.NAME,
            "timeout",
            "5",
            "wget",
            "-q",
            "-O-",
            "http://redis-master:6379/",
          )
            .catch(() => "");
          return r === INDEX_HTML ? r : undefined;
        }, { timeoutMs: 30_000, intervalMs: 500 });
        assert.equal(body, INDEX_HTML);
      }
      // Service variables for the Services that existed when the frontend started.
      const env = await exec(frontend.NAME, "env");
      assert.match(
        env,
        new RegExp(`^REDIS_MASTER_SERVICE_HOST=${masterIP.replaceAll(".", "\\.")}$`, "m"),
      );
      assert.match(env, /^REDIS_MASTER_SERVICE_PORT=6379$/m);
      assert.match(env, /^GET_HOSTS_FROM=dns$/m);
      // The frontend through its NodePort on both node addresses.
      const nodePort = JSON.parse(await kubectlOk(k, ["get", "svc", "frontend", "-o", "json"]))
        .spec.ports[0].nodePort as number;
      for (const n of cluster.nodes) {
        const body = await waitFor(`frontend NodePort on ${n.address}`, async () => {
          const r = await fetch(`http://${n.address}:${nodePort}/`).then(
            (res) => res.text(),
            () => "",
          );
          return r === INDEX_HTML ? r : undefined;
        }, { timeoutMs: 20_000, intervalMs: 250 });
        assert.equal(body, INDEX_HTML);
      }
    } finally {
      await cluster.stop();
    }
  },
});
