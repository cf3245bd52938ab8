/**
 * The host-gw routes and rules (agent/host_gw.ts) programmed for real, inside network namespaces
 * this test creates: two "nodes" joined by a veth pair, each with a bridge holding its podCIDR's
 * gateway and one "pod" namespace on it, plus an "outside" namespace behind node 1. Each node
 * namespace starts with Docker's forward policy (FORWARD drop, a DOCKER-USER chain jumped to
 * first), so the test shows the rules are what lets pod traffic through. Pod A (node 1) reaches
 * pod B (node 2) by pod IP and B sees A's pod IP; A's traffic to the outside address arrives
 * masqueraded as node 1's address. Every name carries a random suffix; all traffic stays inside
 * the namespaces.
 */
import assert from "node:assert/strict";
import { desiredRoutes, HostGateway } from "../agent/host_gw.ts";
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
  n1: `skn1-${suffix}`,
  n2: `skn2-${suffix}`,
  pA: `skpa-${suffix}`,
  pB: `skpb-${suffix}`,
  out: `skout-${suffix}`,
};
const CLUSTER = "10.244.0.0/16";
const NODE1 = { name: `n1-${suffix}`, address: "192.168.77.1", podCIDR: "10.244.1.0/24" };
const NODE2 = { name: `n2-${suffix}`, address: "192.168.77.2", podCIDR: "10.244.2.0/24" };
const POD_A = "10.244.1.5";
const POD_B = "10.244.2.5";
const OUTSIDE = "198.18.0.2";
const NODE1_OUTSIDE = "198.18.0.1";

/** Serves "your address" once per connection inside `ns`; resolves once it listens. */
async function whoamiServer(ns: string): Promise<Deno.ChildProcess> {
  const code = `const l = Deno.listen({ hostname: "0.0.0.0", port: 7000 });
console.log("ready");
for await (const c of l) {
  await c.write(new TextEncoder().encode(c.remoteAddr.hostname + "\\n"));
  c.close();
}`;
  return await serveInNs(ns, code);
}

/** What the server at `ip` saw as our address, from inside `ns` ("" when unreachable). */
async function whoami(ns: string, ip: string): Promise<string> {
  const r = await hostRunner("ip", ["netns", "exec", ns, "busybox", "nc", "-w", "2", ip, "7000"]);
  return r.code === 0 ? r.stdout.trim() : "";
}

Deno.test({
  name:
    "host-gw routes and rules let pods on two netns nodes talk by pod IP, masquerading only outside traffic",
  async fn() {
    const servers: Deno.ChildProcess[] = [];
    const gateways: HostGateway[] = [];
    try {
      for (const ns of Object.values(NS)) await sh(["ip", "netns", "add", ns]);
      // The "LAN": a veth pair between the two nodes.
      await linkNamespaces(
        "lan0",
        { ns: NS.n1, address: NODE1.address },
        { ns: NS.n2, address: NODE2.address },
      );
      // The "outside": a host reachable through node 1 only, with no route back to pods.
      await linkNamespaces(
        "wan0",
        { ns: NS.n1, address: NODE1_OUTSIDE },
        { ns: NS.out, address: OUTSIDE },
      );
      await nsSh(NS.out, "ip link set lo up");
      await makeBridgeNode(NS.n1, "10.244.1.1");
      await addBridgePod(NS.n1, { ns: NS.pA, index: 0, ip: POD_A, gateway: "10.244.1.1" });
      await makeBridgeNode(NS.n2, "10.244.2.1");
      await addBridgePod(NS.n2, { ns: NS.pB, index: 0, ip: POD_B, gateway: "10.244.2.1" });
      await nsSh(NS.n2, `ip route add default via ${NODE1.address}`);

      servers.push(await whoamiServer(NS.pB), await whoamiServer(NS.out));
      // Without the rules nothing gets across (no route, forward policy drop).
      assert.equal(await whoami(NS.pA, POD_B), "");

      const facts = [
        { name: NODE1.name, podCIDR: NODE1.podCIDR, internalIP: NODE1.address },
        { name: NODE2.name, podCIDR: NODE2.podCIDR, internalIP: NODE2.address },
      ];
      for (const [ns, node] of [[NS.n1, NODE1], [NS.n2, NODE2]] as const) {
        const gw = new HostGateway({ nodeName: node.name, run: netnsRunner(ns) });
        gateways.push(gw);
        await gw.setup({ podCIDR: node.podCIDR, clusterCidr: CLUSTER });
        const local = await gw.localAddresses();
        const routes = desiredRoutes(node.name, facts, local);
        assert.equal(routes.length, 1);
        assert.deepEqual((await gw.syncRoutes(routes)).failed, []);
        const parent = await sh(["ip", "netns", "exec", ns, "iptables", "-S", "DOCKER-USER"]);
        assert.ok(parent.includes(`-j ${gw.forwardChain}`), parent);
      }

      assert.deepEqual(await whoami(NS.pA, POD_B), POD_A, "B sees A's pod IP (not masqueraded)");
      assert.deepEqual(await whoami(NS.pA, OUTSIDE), NODE1_OUTSIDE, "outside traffic masqueraded");

      // Routes follow Nodes: node 2 gone from node 1's view, its route goes.
      await gateways[0].syncRoutes([]);
      assert.equal(await whoami(NS.pA, POD_B), "");
      const routes = await sh([
        "ip",
        "netns",
        "exec",
        NS.n1,
        "ip",
        "route",
        "show",
        "10.244.2.0/24",
      ]);
      assert.equal(routes.trim(), "");

      // Clean shutdown removes the chains and the jumps.
      await gateways[1].teardown();
      const rules = await sh(["ip", "netns", "exec", NS.n2, "iptables-save"]);
      assert.ok(!rules.includes(gateways[1].forwardChain), rules);
      assert.ok(!rules.includes(gateways[1].natChain), rules);
    } finally {
      await removeNetns(servers, Object.values(NS));
    }
  },
});
