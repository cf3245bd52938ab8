/**
 * Building blocks of the tests that program the pod network's rules inside network namespaces
 * they create (tests/host_gw_netns_test.ts, tests/network_policy_netns_test.ts): a "node" with a
 * bridge and Docker's forward policy, "pods" on its bridge, a veth "LAN" between two nodes, and
 * commands run in one of them, servers listening in one, and the teardown of all that.
 */
import assert from "node:assert/strict";
import { hostRunner } from "../shared/command_runner.ts";

/** Runs a command on this host; throws with its stderr when it fails. */
export async function sh(args: string[]): Promise<string> {
  const r = await hostRunner(args[0], args.slice(1));
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a space-separated command line inside namespace `ns`. */
export async function nsSh(ns: string, line: string): Promise<void> {
  await sh(["ip", "netns", "exec", ns, ...line.split(" ")]);
}

/**
 * A node namespace with a bridge `br0` holding `gateway` (a /24) and what Docker does to a host:
 * forwarding dropped unless a rule accepts it, a DOCKER-USER chain jumped to first.
 */
export async function makeBridgeNode(node: string, gateway: string): Promise<void> {
  await nsSh(node, "ip link set lo up");
  await nsSh(node, "ip link add br0 type bridge");
  await nsSh(node, `ip addr add ${gateway}/24 dev br0`);
  await nsSh(node, "ip link set br0 up");
  await nsSh(node, "iptables -w 5 -P FORWARD DROP");
  await nsSh(node, "iptables -w 5 -N DOCKER-USER");
  await nsSh(node, "iptables -w 5 -A FORWARD -j DOCKER-USER");
}

/** A pod namespace on `node`'s br0 (node side `v<index>`), address `ip`/24, routed via `gateway`. */
export async function addBridgePod(
  node: string,
  pod: { ns: string; index: number; ip: string; gateway: string },
): Promise<void> {
  const port = `v${pod.index}`;
  await sh(["ip", "link", "add", "eth0", "netns", pod.ns, "type", "veth", "peer", "name", port]);
  // The peer was made in this (root) namespace: move it into the node.
  await sh(["ip", "link", "set", port, "netns", node]);
  await nsSh(node, `ip link set ${port} master br0`);
  await nsSh(node, `ip link set ${port} up`);
  await nsSh(pod.ns, "ip link set lo up");
  await nsSh(pod.ns, `ip addr add ${pod.ip}/24 dev eth0`);
  await nsSh(pod.ns, "ip link set eth0 up");
  await nsSh(pod.ns, `ip route add default via ${pod.gateway}`);
}

/** A veth pair `name` between namespaces `a` and `b`, with addresses (/24) and links up. */
export async function linkNamespaces(
  name: string,
  a: { ns: string; address: string },
  b: { ns: string; address: string },
): Promise<void> {
  await sh([
    "ip",
    "link",
    "add",
    name,
    "netns",
    a.ns,
    "type",
    "veth",
    "peer",
    "name",
    name,
    "netns",
    b.ns,
  ]);
  for (const end of [a, b]) {
    await nsSh(end.ns, `ip addr add ${end.address}/24 dev ${name}`);
    await nsSh(end.ns, `ip link set ${name} up`);
  }
}

/**
 * Runs `code`, a Deno program that prints "ready" once it listens, inside namespace `ns`;
 * resolves with the process when it has.
 */
export async function serveInNs(ns: string, code: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "eval", code],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  reader.releaseLock();
  assert.equal(first.value?.trim(), "ready");
  return child;
}

/** Kills the `servers` started by {@linkcode serveInNs} and deletes `namespaces` (a test's `finally`). */
export async function removeNetns(
  servers: Deno.ChildProcess[],
  namespaces: string[],
): Promise<void> {
  for (const s of servers) {
    s.kill("SIGKILL");
    await s.status;
    await s.stdout.cancel().catch(() => {});
  }
  for (const ns of namespaces) await hostRunner("ip", ["netns", "del", ns]);
}
