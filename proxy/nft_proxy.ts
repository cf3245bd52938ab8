/**
 * The proxy's nftables mode at work: owns one table (`inet skiff` by default), replaces its
 * contents atomically with `nft -f` on every sync (nft_ruleset.ts renders the transaction),
 * flushes the conntrack entries of UDP endpoints that went away (so clients move on instead of
 * sending into a stale NAT binding), and deletes the table on a mode change or uninstall. The
 * table is left in place when the proxy stops, so a restarting agent causes no gap in Service
 * traffic; the next start reads the table's objects and replaces it once the caches have synced.
 */

import { type CommandRunner, hostRunner } from "../shared/command_runner.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { podGatewayAddress } from "../shared/ipv4_cidr.ts";
import {
  type NftObjects,
  type NftServicePort,
  type NftTableOptions,
  renderDelete,
  renderTransaction,
} from "./nft_ruleset.ts";

function podGateway(cidr: string): string | undefined {
  try {
    return podGatewayAddress(cidr);
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode NftablesProxy}. */
export interface NftablesProxyOptions {
  /** Runs `nft`, `sysctl`, `conntrack` (tests: inside a network namespace). */
  run?: CommandRunner;
  logger?: Logger;
}

/** Why nftables mode can or cannot run here. */
export interface NftablesSupport {
  ok: boolean;
  reason: string;
}

/** A throwaway table using every expression the proxy needs, checked by `nft -c`. */
function probeScript(table: string): string {
  return [
    `table inet ${table} {`,
    "  set s { type ipv4_addr ; flags dynamic,timeout ; timeout 10s ; }",
    "  chain c { type nat hook prerouting priority dstnat ; policy accept ; }",
    "  chain e { update @s { ip saddr } ; meta l4proto tcp dnat ip to 10.0.0.1:80 ; }",
    "  chain r { type filter hook input priority -110 ; policy accept ;",
    "    fib daddr type local meta l4proto tcp reject with tcp reset ; }",
    "  chain m { type nat hook postrouting priority srcnat ; policy accept ;",
    "    meta mark & 0x4000 == 0x4000 masquerade ; }",
    "}",
    `add rule inet ${table} c numgen inc mod 2 vmap { 0 : goto e, 1 : goto e }`,
    "",
  ].join("\n");
}

/** Programs and removes the proxy's nftables table. */
export class NftablesProxy {
  readonly #run: CommandRunner;
  readonly #log: Logger;
  readonly #table: string;
  /** Objects in the table as of the last transaction; undefined until read from the kernel. */
  #objects?: NftObjects;
  /** UDP endpoints programmed by the last transaction, per service port id. */
  #udpEndpoints = new Map<string, Set<string>>();
  #localnetDone = false;

  constructor(table: string, options: NftablesProxyOptions = {}) {
    this.#table = table;
    this.#run = options.run ?? hostRunner;
    this.#log = options.logger ?? silentLogger;
  }

  /** The table's name (family `inet`). */
  get table(): string {
    return this.#table;
  }

  /**
   * Whether this host lets us program nftables: the `nft` command exists, we may change the
   * ruleset (CAP_NET_ADMIN), and the kernel has every expression used (checked with `nft -c`,
   * which changes nothing).
   */
  static async supported(run: CommandRunner = hostRunner): Promise<NftablesSupport> {
    const r = await run("nft", ["-c", "-f", "-"], probeScript(`skiff-probe`));
    if (r.code === 0) return { ok: true, reason: "nft accepted a test ruleset" };
    const why = r.stderr.trim().split("\n")[0] || `exit ${r.code}`;
    return { ok: false, reason: r.code === 127 ? "the nft command is missing" : why };
  }

  async #existingObjects(): Promise<NftObjects> {
    const r = await this.#run("nft", ["-j", "list", "table", "inet", this.#table]);
    const objects: NftObjects = { chains: new Set(), sets: new Set() };
    if (r.code !== 0) return objects; // no table yet
    const doc = JSON.parse(r.stdout || "{}") as {
      nftables?: { chain?: { name: string }; set?: { name: string }; map?: { name: string } }[];
    };
    for (const o of doc.nftables ?? []) {
      if (o.chain) objects.chains.add(o.chain.name);
      if (o.set) objects.sets.add(o.set.name);
    }
    return objects;
  }

  /** Replaces the table's contents with `ports` in one transaction. Throws when nft refuses. */
  async apply(ports: readonly NftServicePort[], options: Omit<NftTableOptions, "table">) {
    if (!this.#localnetDone && options.nodePortAddresses === "local") {
      // NodePorts on 127.0.0.1 (as kube-proxy): a packet from loopback may be routed to a pod.
      const s = await this.#run("sysctl", ["-q", "-w", "net.ipv4.conf.all.route_localnet=1"]);
      if (s.code !== 0) this.#log.warn("cannot set route_localnet", { error: s.stderr.trim() });
      this.#localnetDone = true;
    }
    this.#objects ??= await this.#existingObjects();
    const tx = renderTransaction(ports, this.#objects, { ...options, table: this.#table });
    const r = await this.#run("nft", ["-f", "-"], tx.script);
    if (r.code !== 0) {
      // Read the kernel's view again next time: the transaction did nothing.
      this.#objects = undefined;
      throw new Error(`nft -f (table inet ${this.#table}): ${r.stderr.trim().slice(0, 2000)}`);
    }
    this.#objects = tx.objects;
    await this.#flushRemovedUdp(ports);
  }

  /**
   * Deletes conntrack entries whose replies come from UDP endpoints that are no longer behind a
   * service port: UDP has no connection to end, so without this a client keeps sending to the
   * old endpoint for as long as it keeps the flow alive.
   */
  async #flushRemovedUdp(ports: readonly NftServicePort[]): Promise<void> {
    const now = new Map<string, Set<string>>();
    for (const sp of ports) {
      if (sp.protocol !== "udp") continue;
      now.set(sp.id, new Set(sp.endpoints.map((e) => `${e.address}:${e.port}`)));
    }
    const gone = new Set<string>();
    for (const [id, eps] of this.#udpEndpoints) {
      const keep = now.get(id);
      for (const ep of eps) if (!keep?.has(ep)) gone.add(ep);
    }
    this.#udpEndpoints = now;
    for (const ep of gone) {
      const [address, port] = ep.split(":");
      const r = await this.#run("conntrack", [
        "-D",
        "-p",
        "udp",
        "--reply-src",
        address,
        "--reply-port-src",
        port,
      ]);
      // Exit 1 with "0 flow entries have been deleted" is the common case.
      if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) {
        this.#log.warn("cannot flush conntrack entries of a removed UDP endpoint", {
          endpoint: ep,
          error: r.stderr.trim(),
        });
      } else {
        this.#log.debug("conntrack entries flushed", { endpoint: ep });
      }
    }
  }

  /**
   * Turns hairpin mode on for every port of the bridge holding `podCidr`'s gateway, as the
   * kubelet's `hairpin-veth` mode does: a pod connecting to a Service whose chosen endpoint is
   * itself sends a frame that the bridge must send back out of the port it came in on after the
   * DNAT (which bridges refuse by default). Idempotent; cheap when nothing changed. With
   * `routeLocalnet` (a node on a loopback address, as in tests), also lets packets from
   * 127.0.0.0/8 be routed to that bridge (the host reaching `127.0.0.x:<nodePort>`), on that
   * interface only.
   */
  async ensureHairpin(podCidr: string, routeLocalnet = false): Promise<void> {
    const gateway = podGateway(podCidr);
    if (!gateway) return;
    const addrs = await this.#run("ip", ["-j", "-4", "addr", "show"]);
    if (addrs.code !== 0) return;
    type Link = { ifname: string; addr_info?: { local?: string }[] };
    const bridge = (JSON.parse(addrs.stdout || "[]") as Link[])
      .find((l) => l.addr_info?.some((a) => a.local === gateway))?.ifname;
    if (!bridge) return;
    if (routeLocalnet && !this.#localnetDone) {
      const key = `net.ipv4.conf.${bridge}.route_localnet=1`;
      const r = await this.#run("sysctl", ["-q", "-w", key]);
      if (r.code !== 0) this.#log.warn("cannot set route_localnet", { error: r.stderr.trim() });
      else this.#localnetDone = true;
    }
    const ports = await this.#run("ip", ["-d", "-j", "link", "show", "master", bridge]);
    if (ports.code !== 0) return;
    type Port = { ifname: string; linkinfo?: { info_slave_data?: { hairpin?: boolean } } };
    for (const p of JSON.parse(ports.stdout || "[]") as Port[]) {
      if (p.linkinfo?.info_slave_data?.hairpin !== false) continue;
      const r = await this.#run("bridge", ["link", "set", "dev", p.ifname, "hairpin", "on"]);
      if (r.code !== 0) {
        this.#log.warn("cannot turn on hairpin mode", { port: p.ifname, error: r.stderr.trim() });
      }
    }
  }

  /** Deletes the table (mode change, uninstall). Never throws. */
  async remove(): Promise<boolean> {
    const r = await this.#run("nft", ["-f", "-"], renderDelete(this.#table));
    this.#objects = undefined;
    this.#udpEndpoints.clear();
    if (r.code !== 0) {
      this.#log.warn("cannot delete the nftables table", {
        table: this.#table,
        error: r.stderr.trim(),
      });
      return false;
    }
    return true;
  }

  /** True when the table exists. */
  async exists(): Promise<boolean> {
    return (await this.#run("nft", ["list", "table", "inet", this.#table])).code === 0;
  }
}
