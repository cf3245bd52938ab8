/**
 * The seed's demo, end to end, as one test: a two-node cluster (127.0.0.11, 127.0.0.12) driven
 * only by the real kubectl. `my-nginx` (3 replicas) exposed on a ClusterIP answers through the
 * service proxy; `hello-kube` starts with an image no node has (ImagePullBackOff), runs once the
 * image tarball is dropped into a node's `<data-dir>/images/`, is exposed as a LoadBalancer on
 * 127.0.0.20:8300 → 80, answers from its two pods on two nodes in turn, and
 * `kubectl delete service,deployment hello-kube` leaves no pod, container or listener behind.
 *
 * The images are local (Docker Hub is out of reach): busybox httpd images tagged with the demo's
 * names under the registry 127.0.0.1:1, which refuses connections, so a pull can only fail and
 * no tag can collide with a real image.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { buildWebImage, INDEX_HTML, removeImage, saveImageTarball } from "./images.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, waitKubectl } from "./kubectl_helpers.ts";
import { waitFor } from "./test_utils.ts";

const NGINX = "127.0.0.1:1/seed-demo/nginx:1";
const HELLO = "127.0.0.1:1/seed-demo/hello-kube:1";
const EXTERNAL_IP = "127.0.0.20";

/** One HTTP GET on a fresh connection (as curl does), so the proxy balances every request. */
async function curl(url: string): Promise<{ ok: boolean; body: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-f", "--max-time", "3", url],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { ok: out.code === 0, body: new TextDecoder().decode(out.stdout) };
}

/** True while something accepts TCP connections on `host:port`. */
async function listening(host: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: host, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Names of the Docker containers (any state) of pods whose name starts with `prefix`. */
async function podContainers(prefix: string): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["ps", "-a", "--format", '{{.Label "io.kubernetes.pod.name"}}'],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((n) => n.startsWith(prefix));
}

Deno.test({
  name:
    "the seed's demo: my-nginx behind a ClusterIP, hello-kube from an image tarball behind a LoadBalancer",
  ignore: !haveKubectl(),
  async fn(t) {
    const stash = await Deno.makeTempDir({ prefix: "skiff-seed-demo-" });
    await buildWebImage(NGINX);
    await buildWebImage(HELLO, { pageIsHostname: true });
    // hello-kube's image exists only as a tarball until the demo loads it.
    await saveImageTarball(HELLO, `${stash}/hello-kube.tar`);
    await removeImage(HELLO);
    const cluster = await startTestCluster({
      nodeAddresses: ["127.0.0.11", "127.0.0.12"],
      // Short pull back-off so the loaded image is picked up soon after it lands.
      agent: { backoffInitialMs: 500, backoffMaxMs: 2_000 },
    });
    const k = cluster.kubectl;
    const nodeNames = cluster.nodes.map((n) => n.name).sort();
    try {
      await t.step("create deployment my-nginx --replicas=3 --port=80", async () => {
        assert.equal(
          await kubectlOk(k, [
            "create",
            "deployment",
            "my-nginx",
            `--image=${NGINX}`,
            "--replicas=3",
            "--port=80",
          ]),
          "deployment.apps/my-nginx created\n",
        );
        await kubectlOk(k, ["rollout", "status", "deployment/my-nginx", "--timeout=60s"]);
        const pods = parseTable(
          await kubectlOk(k, ["get", "pods", "-o", "wide", "-l", "app=my-nginx"]),
        );
        assert.equal(pods.length, 3);
        for (const p of pods) assert.deepEqual([p.READY, p.STATUS], ["1/1", "Running"]);
        assert.deepEqual([...new Set(pods.map((p) => p.NODE))].sort(), nodeNames);
      });

      await t.step("expose deployment my-nginx --port=80; curl the service", async () => {
        assert.equal(
          await kubectlOk(k, ["expose", "deployment", "my-nginx", "--port=80"]),
          "service/my-nginx exposed\n",
        );
        const ip = await kubectlOk(k, [
          "get",
          "svc",
          "my-nginx",
          "-o",
          "jsonpath={.spec.clusterIP}",
        ]);
        assert.match(ip, /^127\.43\.\d+\.\d+$/);
        // The proxy of the first node serves ClusterIPs (the loopback service CIDR).
        const page = await waitFor("the page through the ClusterIP", async () => {
          const r = await curl(`http://${ip}:80/`);
          return r.ok ? r.body : undefined;
        }, { timeoutMs: 20_000, intervalMs: 200 });
        assert.equal(page, INDEX_HTML);
      });

      await t.step("hello-kube with a missing image shows ImagePullBackOff", async () => {
        await kubectlOk(k, [
          "create",
          "deployment",
          "hello-kube",
          `--image=${HELLO}`,
          "--replicas=2",
          "--port=80",
        ]);
        assert.equal(
          await kubectlOk(k, [
            "expose",
            "deployment",
            "hello-kube",
            "--type=LoadBalancer",
            `--external-ip=${EXTERNAL_IP}`,
            "--port=8300",
            "--target-port=80",
          ]),
          "service/hello-kube exposed\n",
        );
        const out = await waitKubectl(
          k,
          ["get", "pods", "-o", "wide", "-l", "app=hello-kube"],
          (s) => {
            const rows = parseTable(s);
            return rows.length === 2 && rows.every((r) => r.STATUS === "ImagePullBackOff");
          },
          { what: "both hello-kube pods in ImagePullBackOff" },
        );
        for (const p of parseTable(out)) {
          assert.equal(p.READY, "0/1");
          assert.ok(nodeNames.includes(p.NODE), p.NODE);
        }
        const svc = parseTable(await kubectlOk(k, ["get", "svc", "hello-kube"]))[0];
        assert.equal(svc.TYPE, "LoadBalancer");
        assert.equal(svc["EXTERNAL-IP"], EXTERNAL_IP);
        assert.match(svc["PORT(S)"], /^8300:3\d{4}\/TCP$/);
        assert.equal((await curl(`http://${EXTERNAL_IP}:8300/`)).ok, false);
      });

      await t.step("the image tarball in a node's images dir gets hello-kube Running", async () => {
        const dir = `${cluster.nodes[0].dataDir}/images`;
        await Deno.mkdir(dir, { recursive: true });
        // Written aside and renamed, so the agent never loads a half-copied file.
        await Deno.copyFile(`${stash}/hello-kube.tar`, `${dir}/.hello-kube.tar.part`);
        await Deno.rename(`${dir}/.hello-kube.tar.part`, `${dir}/hello-kube.tar`);
        const out = await waitKubectl(
          k,
          ["get", "pods", "-o", "wide", "-l", "app=hello-kube"],
          (s) => {
            const rows = parseTable(s);
            return rows.length === 2 && rows.every((r) => r.STATUS === "Running");
          },
          { what: "both hello-kube pods Running", timeoutMs: 45_000 },
        );
        // Two replicas on two nodes (the nodes share one Docker engine, hence one image store).
        assert.deepEqual(parseTable(out).map((p) => p.NODE).sort(), nodeNames);
      });

      await t.step("the external IP answers from both replicas in turn", async () => {
        const pods = (await kubectlOk(k, [
          "get",
          "pods",
          "-l",
          "app=hello-kube",
          "-o",
          "jsonpath={.items[*].metadata.name}",
        ])).split(" ").sort();
        await waitFor("the external IP to answer", async () => {
          const first = await curl(`http://${EXTERNAL_IP}:8300/`);
          return first.ok;
        }, { timeoutMs: 20_000, intervalMs: 200 });
        const answers: string[] = [];
        for (let i = 0; i < 6; i++) {
          const r = await curl(`http://${EXTERNAL_IP}:8300/`);
          assert.ok(r.ok, `request ${i} failed`);
          answers.push(r.body.trim());
        }
        assert.deepEqual([...new Set(answers)].sort(), pods);
        // Round robin: each answer comes from the other pod than the one before.
        for (let i = 1; i < answers.length; i++) {
          assert.notEqual(answers[i], answers[i - 1], answers.join(" "));
        }
      });

      await t.step("delete service,deployment hello-kube leaves nothing behind", async () => {
        assert.deepEqual(
          (await kubectlOk(k, ["delete", "service,deployment", "hello-kube"])).trim().split("\n"),
          ['service "hello-kube" deleted', 'deployment.apps "hello-kube" deleted'],
        );
        await waitKubectl(
          k,
          ["get", "all,ep", "-l", "app=hello-kube", "-o", "name"],
          (s) => s === "",
          { what: "no hello-kube objects" },
        );
        await waitFor(
          "no hello-kube containers",
          async () => (await podContainers("hello-kube-")).length === 0,
        );
        await waitFor(
          "no listener on the external IP",
          async () => !(await listening(EXTERNAL_IP, 8300)),
        );
        // my-nginx is untouched.
        const rows = parseTable(await kubectlOk(k, ["get", "deploy"]));
        assert.deepEqual(rows.map((r) => [r.NAME, r.READY]), [["my-nginx", "3/3"]]);
      });
    } finally {
      await cluster.stop();
      await removeImage(NGINX);
      await removeImage(HELLO);
      await Deno.remove(stash, { recursive: true });
    }
  },
});
