/**
 * Cross-node pod routing in the kernel, as flannel's host-gw backend: for every other Node a
 * route to its podCIDR via its InternalIP (so the nodes must share an L2 segment, or the routers
 * between them must know these routes), IP forwarding on, and firewall rules of this node's own:
 *
 * - filter: chain `SKIFF-FWD-<id>` accepting forwarded traffic from and to this node's podCIDR
 *   and connections the kernel DNATed (the proxy's nftables mode sending Service traffic on to a pod),
 *   jumped to first from Docker's `DOCKER-USER` chain (or `FORWARD` without Docker). An accept in
 *   a separate nftables table would not do: every base chain on the forward hook sees the packet
 *   and a drop in any of them is final, so the accept has to be in the chain whose policy drops
 *   (Docker's FORWARD). Rules are written with `iptables`, the same tool (and backend, nft or
 *   legacy) Docker uses.
 * - nat: chain `SKIFF-NAT-<id>` (from POSTROUTING) masquerading traffic from this node's pods to
 *   anything outside the cluster CIDR; pod-to-pod traffic keeps the sender's pod address.
 *
 * `<id>` is a hash of the node name, so several agents on one host (tests) own separate chains.
 * Node addresses local to this host (several agents on one machine, 127.0.0.x) get no route: both
 * bridges are local and the kernel already routes between them. Everything runs through an
 * injected {@linkcode CommandRunner}, so tests can program a network namespace.
 */
import { type Logger, silentLogger } from "../shared/log.ts";
import { ipv4NetContains, ipv4ToInt, parseIpv4Net } from "../shared/ipv4_cidr.ts";

import {
  type CommandResult,
  type CommandRunner,
  hostRunner,
  mustRun,
} from "../shared/command_runner.ts";
export { type CommandResult, type CommandRunner, hostRunner };

/** Route protocol number marking Skiff's pod routes (`ip route show proto 0x53`... as a number). */
export const ROUTE_PROTOCOL = "83";

/** A route to another node's pods. */
export interface PodRoute {
  /** The other node's podCIDR. */
  cidr: string;
  /** The other node's InternalIP. */
  via: string;
  /** The node it belongs to (logs). */
  node: string;
}

/** The facts of a Node the routes are computed from. */
export interface NodeRouteFacts {
  name: string;
  podCIDR?: string;
  internalIP?: string;
}

/**
 * The routes this node needs: every other node with a podCIDR and an InternalIP, except those
 * whose address is local to this host (or whose podCIDR is this node's own).
 */
export function desiredRoutes(
  self: string,
  nodes: readonly NodeRouteFacts[],
  isLocal: (ip: string) => boolean,
): PodRoute[] {
  const out: PodRoute[] = [];
  const ownCidr = nodes.find((n) => n.name === self)?.podCIDR;
  for (const n of nodes) {
    if (n.name === self || !n.podCIDR || !n.internalIP) continue;
    if (n.podCIDR === ownCidr || isLocal(n.internalIP)) continue;
    if (!parseIpv4Net(n.podCIDR) || ipv4ToInt(n.internalIP) === undefined) continue;
    out.push({ cidr: n.podCIDR, via: n.internalIP, node: n.name });
  }
  return out.sort((a, b) => a.cidr.localeCompare(b.cidr));
}

/** Short stable id of a node name for chain names (iptables allows 28 characters). */
export function chainId(nodeName: string): string {
  // FNV-1a, 32 bits: enough to keep a handful of agents on one host apart.
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(nodeName)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Options of {@linkcode HostGateway}. */
export interface HostGatewayOptions {
  nodeName: string;
  /** Runs `ip`, `iptables`, `sysctl` (default: on this host). */
  run?: CommandRunner;
  logger?: Logger;
}

/** The network settings the rules are made from. */
export interface HostGatewayNetwork {
  /** This node's podCIDR. */
  podCIDR: string;
  /** The whole pod network; traffic to it is not masqueraded. */
  clusterCidr: string;
}

/** Programs and removes one node's routes and firewall rules. */
export class HostGateway {
  readonly forwardChain: string;
  readonly natChain: string;
  readonly #node: string;
  readonly #run: CommandRunner;
  readonly #log: Logger;
  /** Routes this object installed, by destination. */
  readonly #routes = new Map<string, PodRoute>();
  #network?: HostGatewayNetwork;
  #forwardParent?: string;

  constructor(options: HostGatewayOptions) {
    this.#node = options.nodeName;
    this.#run = options.run ?? hostRunner;
    this.#log = options.logger ?? silentLogger;
    const id = chainId(options.nodeName).toUpperCase();
    this.forwardChain = `SKIFF-FWD-${id}`;
    this.natChain = `SKIFF-NAT-${id}`;
  }

  /** The routes currently installed by this object. */
  get routes(): PodRoute[] {
    return [...this.#routes.values()];
  }

  #must(command: string, args: string[]): Promise<string> {
    return mustRun(this.#run, command, args);
  }

  #iptables(table: string, args: string[]): Promise<CommandResult> {
    return this.#run("iptables", ["-w", "5", "-t", table, ...args]);
  }

  /** Ensures `chain` exists in `table` and is empty. */
  async #freshChain(table: string, chain: string): Promise<void> {
    const created = await this.#iptables(table, ["-N", chain]);
    if (created.code !== 0) {
      const flushed = await this.#iptables(table, ["-F", chain]);
      if (flushed.code !== 0) {
        throw new Error(`iptables -t ${table} -N ${chain}: ${created.stderr.trim()}`);
      }
    }
  }

  async #append(table: string, chain: string, rule: string[]): Promise<void> {
    const r = await this.#iptables(table, ["-A", chain, ...rule]);
    if (r.code !== 0) {
      throw new Error(`iptables -t ${table} -A ${chain} ${rule.join(" ")}: ${r.stderr.trim()}`);
    }
  }

  /**
   * Inserts `-j chain` in `parent` unless it is there already: first, but after the leading
   * jumps to NetworkPolicy chains (`SKIFF-NP-*`, agent/network_policy_firewall.ts), which must
   * see every packet before any accept.
   */
  async #jumpFrom(table: string, parent: string, chain: string): Promise<void> {
    if ((await this.#iptables(table, ["-C", parent, "-j", chain])).code === 0) return;
    const listed = await this.#iptables(table, ["-S", parent]);
    const rules = listed.stdout.split("\n").filter((l) => l.startsWith(`-A ${parent} `));
    let at = 1;
    while (at <= rules.length && / -j SKIFF-NP-/.test(rules[at - 1])) at++;
    const r = await this.#iptables(table, ["-I", parent, String(at), "-j", chain]);
    if (r.code !== 0) {
      throw new Error(`iptables -t ${table} -I ${parent} ${at} -j ${chain}: ${r.stderr.trim()}`);
    }
  }

  /**
   * Turns IP forwarding on and (re)writes this node's chains for `network`. Idempotent: chains
   * left by a crashed agent are flushed and refilled.
   */
  async setup(network: HostGatewayNetwork): Promise<void> {
    const { podCIDR, clusterCidr } = network;
    await this.#must("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    await this.#freshChain("filter", this.forwardChain);
    await this.#append("filter", this.forwardChain, ["-s", podCIDR, "-j", "ACCEPT"]);
    await this.#append("filter", this.forwardChain, ["-d", podCIDR, "-j", "ACCEPT"]);
    // Service traffic the proxy's nftables mode DNATed to a pod of another node (a NodePort
    // reached from outside, say) is neither from nor to this node's pods, and replies come back
    // the same way: accept both directions of connections the kernel DNATed.
    await this.#append("filter", this.forwardChain, [
      "-m",
      "conntrack",
      "--ctstate",
      "DNAT",
      "-j",
      "ACCEPT",
    ]);
    // Docker's FORWARD policy is DROP and its isolation chains drop traffic between bridges:
    // DOCKER-USER is the chain Docker runs first and never rewrites.
    const hasDockerUser = (await this.#iptables("filter", ["-n", "-L", "DOCKER-USER"])).code === 0;
    this.#forwardParent = hasDockerUser ? "DOCKER-USER" : "FORWARD";
    await this.#jumpFrom("filter", this.#forwardParent, this.forwardChain);
    await this.#freshChain("nat", this.natChain);
    await this.#append("nat", this.natChain, ["-s", podCIDR, "-d", clusterCidr, "-j", "RETURN"]);
    await this.#append("nat", this.natChain, [
      "-s",
      podCIDR,
      "!",
      "-d",
      "224.0.0.0/4",
      "-j",
      "MASQUERADE",
    ]);
    await this.#jumpFrom("nat", "POSTROUTING", this.natChain);
    this.#network = network;
    this.#log.info("pod network rules in place", {
      podCIDR,
      clusterCidr,
      forward: `${this.#forwardParent} -> ${this.forwardChain}`,
      nat: `POSTROUTING -> ${this.natChain}`,
    });
  }

  /** True when `ip` is an address of this host (or loopback), asked of the kernel in scope. */
  async localAddresses(): Promise<(ip: string) => boolean> {
    const out = await this.#must("ip", ["-j", "-4", "addr", "show"]);
    const own = new Set<string>();
    for (const link of JSON.parse(out || "[]") as { addr_info?: { local?: string }[] }[]) {
      for (const a of link.addr_info ?? []) if (a.local) own.add(a.local);
    }
    const loopback = parseIpv4Net("127.0.0.0/8")!;
    return (ip) => own.has(ip) || ipv4NetContains(loopback, ip);
  }

  /**
   * Makes the kernel's pod routes match `wanted`: adds or moves routes, removes ones no longer
   * wanted (and, on the first call, routes of ours a crashed agent left inside the cluster
   * CIDR). A route that cannot be added (the next hop is not on a local segment) is logged and
   * retried on the next sync.
   */
  async syncRoutes(wanted: readonly PodRoute[]): Promise<{ failed: PodRoute[] }> {
    const want = new Map(wanted.map((r) => [r.cidr, r]));
    const failed: PodRoute[] = [];
    for (const r of wanted) {
      const had = this.#routes.get(r.cidr);
      if (had && had.via === r.via) continue;
      const res = await this.#run("ip", [
        "route",
        "replace",
        r.cidr,
        "via",
        r.via,
        "proto",
        ROUTE_PROTOCOL,
      ]);
      if (res.code !== 0) {
        this.#log.warn("cannot add the route to a node's pods", {
          node: r.node,
          podCIDR: r.cidr,
          via: r.via,
          error: res.stderr.trim(),
        });
        failed.push(r);
        continue;
      }
      this.#routes.set(r.cidr, r);
      this.#log.info("route to node pods", { node: r.node, podCIDR: r.cidr, via: r.via });
    }
    for (const [cidr, r] of [...this.#routes]) {
      if (want.has(cidr)) continue;
      await this.#run("ip", ["route", "del", cidr, "via", r.via, "proto", ROUTE_PROTOCOL]);
      this.#routes.delete(cidr);
      this.#log.info("route to node pods removed", { node: r.node, podCIDR: cidr });
    }
    return { failed };
  }

  /** Removes stale routes of ours inside the cluster CIDR that nobody wants (after a crash). */
  async removeStaleRoutes(wanted: readonly PodRoute[]): Promise<void> {
    const cluster = this.#network && parseIpv4Net(this.#network.clusterCidr);
    if (!cluster) return;
    const out = await this.#run("ip", ["-j", "route", "show", "proto", ROUTE_PROTOCOL]);
    if (out.code !== 0) return;
    const want = new Set(wanted.map((r) => r.cidr));
    for (const r of JSON.parse(out.stdout || "[]") as { dst?: string; gateway?: string }[]) {
      if (!r.dst || want.has(r.dst) || this.#routes.has(r.dst)) continue;
      const [ip] = r.dst.split("/");
      if (!ipv4NetContains(cluster, ip)) continue;
      await this.#run("ip", ["route", "del", r.dst, "proto", ROUTE_PROTOCOL]);
      this.#log.info("stale route to node pods removed", { podCIDR: r.dst });
    }
  }

  /**
   * Removes this node's routes, jumps and chains (clean shutdown; on a fresh object, the cleanup
   * after an agent that was killed). Never throws.
   */
  async teardown(): Promise<void> {
    await this.syncRoutes([]).catch(() => {});
    const jumps = [
      ["filter", "DOCKER-USER", this.forwardChain],
      ["filter", "FORWARD", this.forwardChain],
      ["nat", "POSTROUTING", this.natChain],
    ] as const;
    for (const [table, parent, chain] of jumps) {
      // Every copy of the jump (a crashed agent's and ours).
      for (let i = 0; i < 16; i++) {
        if ((await this.#iptables(table, ["-D", parent, "-j", chain])).code !== 0) break;
      }
    }
    for (const [table, chain] of [["filter", this.forwardChain], ["nat", this.natChain]]) {
      await this.#iptables(table, ["-F", chain]);
      await this.#iptables(table, ["-X", chain]);
    }
    if (this.#network) this.#log.info("pod network rules removed", { node: this.#node });
    this.#network = undefined;
  }
}
