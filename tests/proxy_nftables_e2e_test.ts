/**
 * The nftables proxy mode end to end: a real agent on the real Docker engine with
 * `--proxy-mode nftables` (its own table, `skiff-<node>`), a non-loopback service CIDR and a node
 * address of its own on loopback. The Node says its mode (annotation) and so does its /metrics;
 * `create deployment` + `expose --type=NodePort` answer through the ClusterIP from inside a pod
 * (DNATed in the node's prerouting, forwarded past Docker's FORWARD drop) and through the
 * NodePort from the host (DNATed in output, 127/8 source masqueraded) — with nothing listening
 * on either address in userspace; the table stays when the agent stops.
 */
import assert from "node:assert/strict";
import { hostRunner } from "../shared/command_runner.ts";
import { PROXY_MODE_ANNOTATION } from "../proxy/proxy_mode.ts";
import { NODES } from "../shared/client/refs.ts";
import { agentApiBase } from "./agent_test_utils.ts";
import { nftTableOf, startTestCluster } from "./cluster.ts";
import { INDEX_HTML } from "./images.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable } from "./kubectl_helpers.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

Deno.test({
  name:
    "an agent in nftables mode: ClusterIP from a pod and NodePort from the host reach the pods through the kernel",
  ignore: !haveKubectl() || Deno.uid() !== 0,
  async fn() {
    // A node address no other test uses: the table DNATs <address>:<nodePort>.
    const address = `127.0.${100 + Math.floor(Math.random() * 100)}.${
      10 + Math.floor(Math.random() * 200)
    }`;
    const cluster = await startTestCluster({
      nodeAddresses: [address],
      serviceCidr: randomServiceCidr(),
      proxyMode: "nftables",
    });
    const k = cluster.kubectl;
    const node = cluster.nodes[0];
    const table = nftTableOf(node.name);
    try {
      const n = await cluster.server.client.get(NODES, node.name);
      assert.equal(n.metadata.annotations?.[PROXY_MODE_ANNOTATION], "nftables");
      const token = (await Deno.readTextFile(`${cluster.server.dataDir}/agent-client-token`))
        .trim();
      const base = await agentApiBase(cluster.server.client, node.name);
      const metrics = await fetch(`${base}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.text());
      assert.match(metrics, /^skiff_proxy_mode\{mode="nftables"\} 1$/m);

      await kubectlOk(k, [
        "create",
        "deployment",
        "web",
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
        "web",
        "--type=NodePort",
        "--port=80",
        "--target-port=8000",
      ]);
      await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
      const pods = parseTable(await kubectlOk(k, ["get", "pods", "-o", "wide", "-l", "app=web"]));
      const svc = JSON.parse(await kubectlOk(k, ["get", "svc", "web", "-o", "json"]));
      const clusterIP = svc.spec.clusterIP as string;
      const nodePort = svc.spec.ports[0].nodePort as number;

      // The kernel, not a socket: the ClusterIP is on no interface, nothing listens on it.
      const ruleset = await waitFor("both endpoints in the table", async () => {
        const r = await hostRunner("nft", ["list", "table", "inet", table]);
        return pods.every((p) => r.stdout.includes(`dnat ip to ${p.IP}:8000`))
          ? r.stdout
          : undefined;
      });
      assert.ok(ruleset.includes(`${clusterIP} . tcp . 80`), ruleset);
      const lo = await hostRunner("ip", ["-4", "addr", "show", "dev", "lo"]);
      assert.ok(!lo.stdout.includes(`${clusterIP}/32`), "ClusterIP not on lo in nftables mode");

      const wget = (pod: string, url: string) =>
        kubectlOk(k, ["exec", pod, "--", "timeout", "5", "wget", "-q", "-O-", url]);
      const page = await waitFor(`ClusterIP from ${pods[0].NAME}`, async () => {
        const r = await wget(pods[0].NAME, `http://${clusterIP}:80/`).catch(() => "");
        return r === INDEX_HTML ? r : undefined;
      }, { timeoutMs: 20_000, intervalMs: 500 });
      assert.equal(page, INDEX_HTML);
      const body = await waitFor(`NodePort on ${address}`, async () => {
        const r = await fetch(`http://${address}:${nodePort}/`).then((res) => res.text(), () => "");
        return r === INDEX_HTML ? r : undefined;
      }, { timeoutMs: 20_000, intervalMs: 250 });
      assert.equal(body, INDEX_HTML);

      // A restart must not interrupt Service traffic: the table outlives the agent.
      await node.stop();
      assert.equal((await hostRunner("nft", ["list", "table", "inet", table])).code, 0);
    } finally {
      await cluster.stop();
      assert.notEqual((await hostRunner("nft", ["list", "table", "inet", table])).code, 0);
    }
  },
});
