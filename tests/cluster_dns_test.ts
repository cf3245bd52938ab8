/**
 * Cluster DNS and service variables with real containers: a node whose node-local DNS listens
 * on a private 127.x address (its `--cluster-dns`; upstream is a fake resolver on another 127.x
 * address, so nothing leaves the machine). A host-network pod resolves a Service by its short
 * name through its resolv.conf, a name outside the cluster through the forwarder, and sees its
 * service variables and hostAliases; a bridge pod gets the kubelet's resolv.conf and hosts file,
 * its hostname and subdomain, and no service links when it turns them off.
 */
import { ok } from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { PODS, SERVICES } from "../shared/client/refs.ts";
import { FakeUpstream, query, randomLoopback } from "../dns/_test_dns.ts";
import { startTestCluster } from "./cluster.ts";
import { allowPrivilegedPods } from "./agent_test_utils.ts";
import { waitFor } from "./test_utils.ts";

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

function pod(name: string, spec: Record<string, unknown>, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "main", image, command: ["sleep", "3600"] }],
      ...spec,
    },
  };
}

Deno.test({
  name: "a pod resolves Services through the node-local DNS and gets service variables and hosts",
  async fn() {
    const upstream = new FakeUpstream().start(53);
    upstream.answers.set("outside.test|A", [{
      name: "outside.test",
      type: "A",
      ttl: 30,
      data: "192.0.2.77",
    }]);
    const resolvConf = await Deno.makeTempFile({ prefix: "skiff-resolv-" });
    await Deno.writeTextFile(resolvConf, `nameserver ${upstream.hostname}\n`);
    const dnsAddress = randomLoopback();
    const cluster = await startTestCluster({
      agent: { clusterDns: [dnsAddress], resolvConf },
    });
    try {
      const { client } = cluster.server;
      const node = cluster.nodes[0].name;
      // The lookup pod is host-network, which Pod Security's baseline default refuses.
      await allowPrivilegedPods(client);
      const svc = await client.create<KubeObject>(SERVICES, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "default" },
        spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      });
      const ip = svc.spec.clusterIP as string;
      // The node has seen the Service once its DNS answers for it (then pods get its variables).
      await waitFor("the node-local DNS answers web", async () => {
        const r = await query(
          { hostname: dnsAddress, port: 53 },
          "web.default.svc.cluster.local",
          "A",
        );
        return r?.answers?.[0]?.data === ip;
      });
      await client.create(
        PODS,
        pod("dns-hostnet", {
          hostNetwork: true,
          dnsPolicy: "ClusterFirstWithHostNet",
          hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.alias", "bar.alias"] }],
        }, cluster.images.busybox),
      );
      await client.create(
        PODS,
        pod("dns-bridge", {
          hostname: "h0",
          subdomain: "web",
          enableServiceLinks: false,
        }, cluster.images.busybox),
      );
      for (const name of ["dns-hostnet", "dns-bridge"]) {
        await waitFor(`${name} Running`, async () => {
          const p = await client.get(PODS, name, { namespace: "default" });
          return p.status?.phase === "Running";
        }, { timeoutMs: 60_000 });
      }

      // Short name through the search path, answered by the node-local DNS.
      const lookup = await dockerExec(node, "dns-hostnet", "nslookup web");
      ok(lookup.includes(ip), `nslookup web:\n${lookup}`);
      // Outside the cluster: forwarded to the node's (fake) resolver.
      const outside = await dockerExec(node, "dns-hostnet", "nslookup outside.test");
      ok(outside.includes("192.0.2.77"), `nslookup outside.test:\n${outside}`);
      ok(upstream.asked.includes("outside.test|A"));

      const env = await dockerExec(node, "dns-hostnet", "env");
      for (
        const line of [
          `WEB_SERVICE_HOST=${ip}`,
          "WEB_SERVICE_PORT=80",
          "WEB_SERVICE_PORT_HTTP=80",
          `WEB_PORT=tcp://${ip}:80`,
          `WEB_PORT_80_TCP_ADDR=${ip}`,
          "KUBERNETES_SERVICE_HOST=127.43.0.1",
          "KUBERNETES_SERVICE_PORT=443",
        ]
      ) ok(env.includes(line), `${line} in env:\n${env}`);
      const hosts = await dockerExec(node, "dns-hostnet", "cat /etc/hosts");
      ok(hosts.startsWith("# Kubernetes-managed hosts file (host network)."), hosts);
      ok(hosts.includes("10.1.2.3\tfoo.alias\tbar.alias"), hosts);

      const bridge = await client.get(PODS, "dns-bridge", { namespace: "default" });
      const resolv = await dockerExec(node, "dns-bridge", "cat /etc/resolv.conf");
      ok(
        resolv.includes(
          `nameserver ${dnsAddress}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5`,
        ),
        resolv,
      );
      const bridgeHosts = await dockerExec(node, "dns-bridge", "cat /etc/hosts; hostname");
      ok(
        bridgeHosts.includes(`${bridge.status.podIP}\th0.web.default.svc.cluster.local\th0`),
        bridgeHosts,
      );
      ok(bridgeHosts.trim().endsWith("h0"), bridgeHosts);
      const bridgeEnv = await dockerExec(node, "dns-bridge", "env");
      ok(bridgeEnv.includes("KUBERNETES_SERVICE_HOST="), bridgeEnv);
      ok(!bridgeEnv.includes("WEB_SERVICE_HOST"), bridgeEnv);
    } finally {
      await cluster.stop();
      await upstream.close();
      await Deno.remove(resolvConf);
    }
  },
});
