/**
 * The pod network end to end with two agents on this machine (127.0.0.11 and .12) and a
 * non-loopback service CIDR, the way a new user follows the Kubernetes tutorial: `kubectl create
 * deployment` without `--port`, `kubectl expose --target-port`. Each node has its own podCIDR and
 * bridge, pods have their own IPs; the Service answers through its ClusterIP from inside pods on
 * both nodes (the ClusterIP lives on the host's `lo`, reached through the pod's gateway) and
 * through its NodePort on both node addresses; a pod on one node reaches a pod on the other by
 * pod IP, also while both agents are stopped (the node's rules and routes stay for its pods).
 * Subnets are random per run (cluster CIDR and service CIDR).
 */
import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { HostGateway, hostRunner } from "../agent/host_gw.ts";
import { LABEL_KIND, LABEL_POD_NAME } from "../agent/labels.ts";
import { startTestCluster } from "./cluster.ts";
import { INDEX_HTML } from "./images.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable } from "./kubectl_helpers.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

Deno.test({
  name:
    "pods get per-node pod IPs; create deployment (no --port) + expose --target-port answers via ClusterIP from pods on both nodes, NodePort on both nodes, pod to pod across nodes",
  ignore: !haveKubectl(),
  async fn() {
    const cluster = await startTestCluster({
      nodeAddresses: ["127.0.0.11", "127.0.0.12"],
      serviceCidr: randomServiceCidr(),
    });
    const k = cluster.kubectl;
    try {
      const nodes = await cluster.server.client.list({
        group: "",
        version: "v1",
        plural: "nodes",
        namespaced: false,
        kind: "Node",
      });
      const cidrs = nodes.items.map((n) => n.spec.podCIDR as string);
      assert.equal(new Set(cidrs).size, 2, `distinct podCIDRs: ${cidrs}`);

      await kubectlOk(k, [
        "create",
        "deployment",
        "hello",
        `--image=${cluster.images.busybox}`,
        "--replicas=2",
        "--",
        "httpd",
        "-f",
        "-p",
        "8000",
        "-h",
        "/www",
      ]);
      await kubectlOk(k, [
        "expose",
        "deployment",
        "hello",
        "--type=NodePort",
        "--port=80",
        "--target-port=8000",
      ]);
      await kubectlOk(k, ["rollout", "status", "deployment/hello", "--timeout=60s"]);
      const pods = parseTable(await kubectlOk(k, ["get", "pods", "-o", "wide", "-l", "app=hello"]));
      assert.equal(pods.length, 2);
      assert.deepEqual(
        new Set(pods.map((p) => p.NODE)),
        new Set(cluster.nodes.map((n) => n.name)),
        "one pod per node",
      );
      for (const p of pods) {
        const node = nodes.items.find((n) => n.metadata.name === p.NODE)!;
        const prefix = (node.spec.podCIDR as string).split(".").slice(0, 3).join(".");
        assert.equal(p.IP.split(".").slice(0, 3).join("."), prefix, `${p.NAME} in its podCIDR`);
      }

      const svc = JSON.parse(await kubectlOk(k, ["get", "svc", "hello", "-o", "json"]));
      const clusterIP = svc.spec.clusterIP as string;
      const nodePort = svc.spec.ports[0].nodePort as number;
      await waitFor("two endpoints at pod IP:8000", async () => {
        const ep = JSON.parse(await kubectlOk(k, ["get", "endpoints", "hello", "-o", "json"]));
        const got = (ep.subsets ?? []).flatMap((s: { addresses?: { ip: string }[] }) =>
          (s.addresses ?? []).map((a) => `${a.ip}:${ep.subsets[0].ports[0].port}`)
        ).sort();
        return got.join() === pods.map((p) => `${p.IP}:8000`).sort().join();
      });

      const wget = (pod: string, url: string) =>
        // busybox-static's wget crashes with -T: bound it with timeout(1) instead.
        kubectlOk(k, ["exec", pod, "--", "timeout", "5", "wget", "-q", "-O-", url]);
      for (const p of pods) {
        // From inside a pod on each node, through the ClusterIP.
        const page = await waitFor(`ClusterIP from ${p.NAME}`, async () => {
          const r = await wget(p.NAME, `http://${clusterIP}:80/`).catch(() => "");
          return r === INDEX_HTML ? r : undefined;
        }, { timeoutMs: 20_000, intervalMs: 500 });
        assert.equal(page, INDEX_HTML);
      }
      // Pod to pod across nodes, by pod IP.
      assert.equal(await wget(pods[0].NAME, `http://${pods[1].IP}:8000/`), INDEX_HTML);
      assert.equal(await wget(pods[1].NAME, `http://${pods[0].IP}:8000/`), INDEX_HTML);
      // NodePort on both node addresses.
      for (const n of cluster.nodes) {
        const body = await waitFor(`NodePort on ${n.address}`, async () => {
          const r = await fetch(`http://${n.address}:${nodePort}/`).then(
            (res) => res.text(),
            () => "",
          );
          return r === INDEX_HTML ? r : undefined;
        }, { timeoutMs: 20_000, intervalMs: 250 });
        assert.equal(body, INDEX_HTML);
      }

      // A stopped agent leaves its chains, jumps and routes: its pods keep their network while
      // it is away (checked with docker exec: kubectl exec needs the agent).
      const chains = cluster.nodes.map((n) => new HostGateway({ nodeName: n.name }));
      const ruleset = async () => (await hostRunner("iptables-save", [])).stdout;
      const hasChains = (text: string, c: HostGateway) =>
        text.includes(`-j ${c.forwardChain}`) && text.includes(`-j ${c.natChain}`);
      for (const c of chains) {
        assert.ok(hasChains(await ruleset(), c), `${c.forwardChain} in place`);
      }
      await Promise.all(cluster.nodes.map((n) => n.stop()));
      for (const c of chains) assert.ok(hasChains(await ruleset(), c), `${c.forwardChain} kept`);
      const rt = new DockerRuntime({ nodeName: pods[0].NODE });
      const [app] = (await rt.listContainers({ [LABEL_POD_NAME]: pods[0].NAME })).filter((c) =>
        c.Labels[LABEL_KIND] !== "sandbox"
      );
      const across = await rt.exec(app.Id, [
        "timeout",
        "5",
        "wget",
        "-q",
        "-O-",
        `http://${pods[1].IP}:8000/`,
      ]);
      assert.equal(across.stdout, INDEX_HTML, "pod to pod across nodes with both agents stopped");
      // Purging a node (`skiff agent --uninstall --purge`) takes them away.
      for (const c of chains) await c.teardown();
      const purged = await ruleset();
      for (const c of chains) {
        assert.ok(!purged.includes(c.forwardChain), `${c.forwardChain} removed`);
        assert.ok(!purged.includes(c.natChain), `${c.natChain} removed`);
      }
    } finally {
      await cluster.stop();
    }
  },
});
