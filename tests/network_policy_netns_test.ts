/**
 * NetworkPolicy enforcement (agent/network_policy_firewall.ts over network_policy_rules.ts)
 * programmed for real inside network namespaces this test creates: node 1 with Docker's forward
 * policy (FORWARD drop, DOCKER-USER first), its host-gw rules, a bridge and three pods on it
 * (web, client, other: same-node traffic is bridged, so it only meets iptables through
 * br_netfilter), and node 2 with one pod, joined by a veth "LAN". A default deny blocks every
 * client of web, bridged or routed, but not node 1 itself; allowing `app=client` on web's named
 * port lets only the client in, and replies reach a client isolated for ingress; a fresh firewall
 * (a restarted agent) rewrites the same rules; an egress policy blocks the client's traffic and
 * its DNS to the node (port 53) until a rule allows the kube-dns pods (the node-local DNS stands in
 * for them) or port 53; removing the policies restores
 * everything, and teardown leaves no chain. Every name carries a random suffix; traffic stays in the namespaces.
 */
import assert from "node:assert/strict";
import { desiredRoutes, HostGateway } from "../agent/host_gw.ts";
import { NetworkPolicyFirewall } from "../agent/network_policy_firewall.ts";
import { desiredPodFirewalls, type PolicyPod } from "../agent/network_policy_rules.ts";
import type { NetworkPolicy } from "../shared/api/network_policy.ts";
import { hostRunner, netnsRunner } from "../shared/command_runner.ts";
import {
  addBridgePod,
  linkNamespaces,
  makeBridgeNode,
  nsSh,
  removeNetns,
  serveInNs,
  sh,
} from "./_netns_nodes.ts";

const suffix = crypto.randomUUID().slice(0, 6);
const NS = {
  n1: `hnpn1-${suffix}`,
  n2: `hnpn2-${suffix}`,
  web: `hnpw-${suffix}`,
  client: `hnpc-${suffix}`,
  other: `hnpo-${suffix}`,
  remote: `hnpr-${suffix}`,
};
const CLUSTER = "10.155.0.0/16";
const NODE1 = { name: `hnp1-${suffix}`, address: "192.168.78.1", podCIDR: "10.155.1.0/24" };
const NODE2 = { name: `hnp2-${suffix}`, address: "192.168.78.2", podCIDR: "10.155.2.0/24" };
const GW1 = "10.155.1.1";
const IP = { web: "10.155.1.5", client: "10.155.1.6", other: "10.155.1.7", remote: "10.155.2.5" };

/** A TCP server in `ns` on `ip:port` that answers "ok"; resolves once it listens. */
async function okServer(ns: string, ip: string, port: number): Promise<Deno.ChildProcess> {
  const code = `const l = Deno.listen({ hostname: "${ip}", port: ${port} });
console.log("ready");
for await (const c of l) {
  await c.write(new TextEncoder().encode("ok\\n")).catch(() => {});
  c.close();
}`;
  return await serveInNs(ns, code);
}

/** The filter table's rules in `ns`, without counters. */
async function filterRules(ns: string): Promise<string> {
  return await sh(["ip", "netns", "exec", ns, "iptables", "-w", "5", "-t", "filter", "-S"]);
}

/** Whether a TCP connection from `ns` to `ip:port` gets the server's answer. */
async function reaches(ns: string, ip: string, port: number): Promise<boolean> {
  const r = await hostRunner("ip", [
    "netns",
    "exec",
    ns,
    "busybox",
    "nc",
    "-w",
    "2",
    ip,
    String(port),
  ]);
  return r.code === 0 && r.stdout.trim() === "ok";
}

const PODS: PolicyPod[] = [
  {
    namespace: "default",
    name: "web",
    labels: { app: "web" },
    ip: IP.web,
    nodeName: NODE1.name,
    ports: [{ name: "http", port: 7000, protocol: "TCP" }],
  },
  {
    namespace: "default",
    name: "client",
    labels: { app: "client" },
    ip: IP.client,
    nodeName: NODE1.name,
    ports: [],
  },
  {
    namespace: "default",
    name: "other",
    labels: { app: "other" },
    ip: IP.other,
    nodeName: NODE1.name,
    ports: [],
  },
  {
    namespace: "default",
    name: "remote",
    labels: { app: "client" },
    ip: IP.remote,
    nodeName: NODE2.name,
    ports: [],
  },
];

function policy(name: string, spec: NetworkPolicy["spec"]): NetworkPolicy {
  return { metadata: { name, namespace: "default" }, spec } as NetworkPolicy;
}

const DENY_WEB = policy("deny", {
  podSelector: { matchLabels: { app: "web" } },
  policyTypes: ["Ingress"],
});
const ALLOW_CLIENT = policy("allow-client", {
  podSelector: { matchLabels: { app: "web" } },
  policyTypes: ["Ingress"],
  ingress: [{
    from: [{ podSelector: { matchLabels: { app: "client" } } }],
    ports: [{ protocol: "TCP", port: "http" }],
  }],
});
const DENY_CLIENT_EGRESS = policy("client-out", {
  podSelector: { matchLabels: { app: "client" } },
  policyTypes: ["Egress"],
});
const DENY_CLIENT_INGRESS = policy("client-in", {
  podSelector: { matchLabels: { app: "client" } },
  policyTypes: ["Ingress"],
});
/** DNS as policies allow it on Kubernetes: to the kube-dns pods in kube-system. */
const CLIENT_DNS_PODS = policy("client-dns-pods", {
  podSelector: { matchLabels: { app: "client" } },
  policyTypes: ["Egress"],
  egress: [{
    to: [{
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    }],
    ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
  }],
});
const CLIENT_DNS = policy("client-dns", {
  podSelector: { matchLabels: { app: "client" } },
  policyTypes: ["Egress"],
  egress: [{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }],
});

Deno.test({
  name:
    "NetworkPolicy chains in netns nodes: default deny (bridged and routed), allow by label on a named port, egress and DNS, removal",
  async fn() {
    const servers: Deno.ChildProcess[] = [];
    const fw = new NetworkPolicyFirewall({ nodeName: NODE1.name, run: netnsRunner(NS.n1) });
    const apply = (policies: NetworkPolicy[]) =>
      fw.sync(desiredPodFirewalls({
        policies,
        pods: PODS,
        namespaces: [{
          name: "kube-system",
          labels: { "kubernetes.io/metadata.name": "kube-system" },
        }],
        nodeName: NODE1.name,
        dnsAddresses: [GW1],
      }));
    try {
      for (const ns of Object.values(NS)) await sh(["ip", "netns", "add", ns]);
      await linkNamespaces(
        "lan0",
        { ns: NS.n1, address: NODE1.address },
        { ns: NS.n2, address: NODE2.address },
      );
      await makeBridgeNode(NS.n1, GW1);
      await makeBridgeNode(NS.n2, "10.155.2.1");
      await addBridgePod(NS.n1, { ns: NS.web, index: 1, ip: IP.web, gateway: GW1 });
      await addBridgePod(NS.n1, { ns: NS.client, index: 2, ip: IP.client, gateway: GW1 });
      await addBridgePod(NS.n1, { ns: NS.other, index: 3, ip: IP.other, gateway: GW1 });
      await addBridgePod(NS.n2, { ns: NS.remote, index: 1, ip: IP.remote, gateway: "10.155.2.1" });
      const facts = [
        { name: NODE1.name, podCIDR: NODE1.podCIDR, internalIP: NODE1.address },
        { name: NODE2.name, podCIDR: NODE2.podCIDR, internalIP: NODE2.address },
      ];
      for (const [ns, node] of [[NS.n1, NODE1], [NS.n2, NODE2]] as const) {
        const gw = new HostGateway({ nodeName: node.name, run: netnsRunner(ns) });
        await gw.setup({ podCIDR: node.podCIDR, clusterCidr: CLUSTER });
        await gw.syncRoutes(desiredRoutes(node.name, facts, await gw.localAddresses()));
      }
      servers.push(await okServer(NS.web, "0.0.0.0", 7000));
      // The node-local DNS stand-in on node 1's gateway (TCP 53).
      servers.push(await okServer(NS.n1, GW1, 53));

      // No policy: everyone reaches web; the client reaches the node's DNS.
      for (const from of [NS.client, NS.other, NS.remote, NS.n1]) {
        assert.ok(await reaches(from, IP.web, 7000), `${from} -> web without policies`);
      }
      assert.ok(await reaches(NS.client, GW1, 53));

      // A host where bridged frames skip iptables (per network namespace on this kernel): the
      // firewall must turn it on, or same-node pods would bypass every policy.
      await nsSh(NS.n1, "sysctl -q -w net.bridge.bridge-nf-call-iptables=0");
      await apply([DENY_WEB]);
      // Bridged (client, other) and routed (remote) traffic are refused; the node itself is not.
      assert.equal(await reaches(NS.client, IP.web, 7000), false, "client (bridged) denied");
      assert.equal(await reaches(NS.other, IP.web, 7000), false, "other (bridged) denied");
      assert.equal(await reaches(NS.remote, IP.web, 7000), false, "remote (routed) denied");
      assert.ok(await reaches(NS.n1, IP.web, 7000), "the pod's node always reaches it");
      const sysctl = await sh([
        "ip",
        "netns",
        "exec",
        NS.n1,
        "sysctl",
        "-n",
        "net.bridge.bridge-nf-call-iptables",
      ]);
      assert.equal(sysctl.trim(), "1");

      await apply([DENY_WEB, ALLOW_CLIENT]);
      assert.ok(await reaches(NS.client, IP.web, 7000), "app=client (same node) allowed");
      assert.ok(await reaches(NS.remote, IP.web, 7000), "app=client (other node) allowed");
      assert.equal(await reaches(NS.other, IP.web, 7000), false, "app=other still denied");

      // The client isolated for ingress too: web's replies still reach it (conntrack).
      await apply([DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_INGRESS]);
      assert.ok(await reaches(NS.client, IP.web, 7000), "replies to an allowed connection flow");
      // A restarted agent (a fresh object) rewrites the same rules, without a second copy.
      const before = await filterRules(NS.n1);
      const restarted = new NetworkPolicyFirewall({
        nodeName: NODE1.name,
        run: netnsRunner(NS.n1),
      });
      await restarted.sync(desiredPodFirewalls({
        policies: [DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_INGRESS],
        pods: PODS,
        namespaces: [],
        nodeName: NODE1.name,
      }));
      assert.deepEqual(await filterRules(NS.n1), before);

      await apply([DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_EGRESS]);
      assert.equal(await reaches(NS.client, IP.web, 7000), false, "client egress denied");
      assert.equal(await reaches(NS.client, GW1, 53), false, "client DNS to the node denied");
      assert.ok(await reaches(NS.other, GW1, 53), "other pods' DNS unaffected");
      // The node-local DNS stands in for the kube-dns pods a Kubernetes policy selects.
      await apply([DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_EGRESS, CLIENT_DNS_PODS]);
      assert.ok(await reaches(NS.client, GW1, 53), "egress to the kube-dns pods allows DNS");
      assert.equal(await reaches(NS.client, IP.web, 7000), false, "and nothing else");
      await apply([DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_EGRESS]);
      assert.equal(await reaches(NS.client, GW1, 53), false, "denied again");
      await apply([DENY_WEB, ALLOW_CLIENT, DENY_CLIENT_EGRESS, CLIENT_DNS]);
      assert.ok(await reaches(NS.client, GW1, 53), "egress rule on port 53 allows DNS");
      assert.equal(await reaches(NS.client, IP.web, 7000), false, "but nothing else");

      await apply([]);
      for (const from of [NS.client, NS.other, NS.remote]) {
        assert.ok(await reaches(from, IP.web, 7000), `${from} -> web after the policies went`);
      }
      const rules = await sh(["ip", "netns", "exec", NS.n1, "iptables-save"]);
      assert.ok(!rules.includes(fw.chains.podIngress), "no pod chain left");

      await fw.teardown();
      const after = await sh(["ip", "netns", "exec", NS.n1, "iptables-save"]);
      assert.ok(!after.includes(fw.chains.forward) && !after.includes(fw.chains.input), after);
    } finally {
      await removeNetns(servers, Object.values(NS));
    }
  },
});
