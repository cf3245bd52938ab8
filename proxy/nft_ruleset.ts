/**
 * The proxy's nftables mode as data: from the listeners the service table computes
 * (service_table.ts, the same input the userspace proxy binds sockets for), the `nft -f` script
 * that replaces the contents of Skiff's own table in one transaction, as kube-proxy's nftables
 * mode does. Pure functions; nft_proxy.ts runs the script.
 *
 * Layout of the table (`inet <name>`, IPv4):
 * - `nat-prerouting`/`nat-output` (dstnat) jump to `services`, which looks the packet's
 *   `daddr . l4proto . dport` up in the verdict map `service-ips` (ClusterIPs to the service
 *   port's chain `svc-…`; external and load-balancer IPs to its `ext-…` chain) and, for the node's
 *   addresses, `l4proto . dport` in `service-nodeports` (to `ext-…`).
 * - `svc-…`/`ext-…` pick an endpoint: a client already in an endpoint's affinity set goes back to
 *   it (`sessionAffinity: ClientIP`), else `numgen inc mod N` round robin; each endpoint chain
 *   `ep-…` marks hairpin traffic for masquerade, records the client in its affinity set and DNATs.
 * - `filter-input`/`-forward`/`-output` (priority filter-10, new connections only) reject traffic
 *   to service ports without endpoints (`no-endpoint-services`, `no-endpoint-nodeports`): TCP
 *   with a reset, anything else with ICMP port unreachable, so clients fail at once.
 * - `nat-postrouting` masquerades what was marked: hairpin and loopback-sourced traffic always
 *   (mark 0x4000); traffic from outside the cluster CIDR that entered through a NodePort, external
 *   IP or load-balancer IP only when the chosen endpoint is not a pod of this node (mark 0x8000),
 *   since that pod's reply must come back through this node to be un-NATed.
 *
 * Affinity sets are kept across transactions (their entries are the clients' pins); everything
 * else is flushed and rewritten. Chains and sets no longer wanted are deleted in the same
 * transaction.
 */

import type { DesiredListener } from "./service_table.ts";
import type { Backend } from "./round_robin.ts";

/** Packet mark bit: masquerade whatever carries it (hairpin, loopback sources). */
export const MASQUERADE_MARK = 0x4000;
/** Packet mark bit: masquerade unless the destination is a pod of this node (outside clients). */
export const MASQUERADE_REMOTE_MARK = 0x8000;

/** What the table is built for, besides the listeners. */
export interface NftTableOptions {
  /** Table name (family `inet`). */
  table: string;
  /** This node's name: endpoints with this `nodeName` are local (traffic policies). */
  nodeName: string;
  /**
   * Where NodePorts are served: `"local"` = every address of this host (`fib daddr type local`,
   * 127.0.0.1 included, as kube-proxy), or an explicit list (simulated nodes sharing one host).
   */
  nodePortAddresses: "local" | string[];
  /** The cluster's pod CIDR: sources inside it are pods, not outside clients. */
  clusterCidr?: string;
  /** This node's podCIDR: endpoints inside it need no masquerade for outside clients. */
  podCidr?: string;
}

/** One service port as the table sees it. */
export interface NftServicePort {
  /** `namespace/name/protocol/port-name-or-number`. */
  id: string;
  protocol: "tcp" | "udp" | "sctp";
  /** ClusterIP `address:port`s, to the internal path. */
  internal: { address: string; port: number }[];
  /** External and load-balancer IP `address:port`s, to the external path. */
  external: { address: string; port: number }[];
  nodePort?: number;
  endpoints: Backend[];
  affinityTimeoutSeconds?: number;
  externalTrafficPolicy: "Cluster" | "Local";
  internalTrafficPolicy: "Cluster" | "Local";
}

/** The named objects of a table (what a later transaction may have to delete). */
export interface NftObjects {
  chains: Set<string>;
  sets: Set<string>;
}

/** A rendered transaction and the objects the table holds once it is applied. */
export interface NftTransaction {
  script: string;
  objects: NftObjects;
}

/** Chains and maps every table has. */
const BASE_CHAINS = [
  "filter-input",
  "filter-forward",
  "filter-output",
  "endpoints-check",
  "reject-chain",
  "nat-prerouting",
  "nat-output",
  "nat-postrouting",
  "services",
  "masquerading",
  "mark-for-masquerade",
  "mark-for-masquerade-remote",
];
const MAPS: Record<string, string> = {
  "service-ips": "ipv4_addr . inet_proto . inet_service : verdict",
  "service-nodeports": "inet_proto . inet_service : verdict",
  "no-endpoint-services": "ipv4_addr . inet_proto . inet_service : verdict",
  "no-endpoint-nodeports": "inet_proto . inet_service : verdict",
};

/** FNV-1a, 32 bits, base 36: a short stable tag keeping generated names unique. */
function tag(text: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, "0");
}

const isIpv4 = (ip: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);

/** Groups listeners into service ports (IPv4 addresses only; the pod network is IPv4). */
export function servicePorts(listeners: Iterable<DesiredListener>): NftServicePort[] {
  const byId = new Map<string, NftServicePort>();
  for (const l of listeners) {
    if (!isIpv4(l.address) && l.source !== "nodePort") continue;
    const protocol = l.protocol === "UDP" ? "udp" : l.protocol === "SCTP" ? "sctp" : "tcp";
    const id = `${l.service.namespace}/${l.service.name}/${protocol}/${l.portName || "-"}`;
    let sp = byId.get(id);
    if (!sp) {
      sp = {
        id,
        protocol,
        internal: [],
        external: [],
        endpoints: l.backends.filter((b) => isIpv4(b.address)),
        affinityTimeoutSeconds: l.affinityTimeoutSeconds,
        externalTrafficPolicy: l.externalTrafficPolicy,
        internalTrafficPolicy: l.internalTrafficPolicy,
      };
      byId.set(id, sp);
    }
    if (l.source === "clusterIP") sp.internal.push({ address: l.address, port: l.port });
    else if (l.source === "nodePort") sp.nodePort = l.port;
    else sp.external.push({ address: l.address, port: l.port });
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Names of one service port's chains and of one endpoint's chain and affinity set. */
export function portChain(sp: NftServicePort, kind: "svc" | "ext"): string {
  return `${kind}-${tag(sp.id)}-${sp.id}`;
}

function endpointChain(sp: NftServicePort, ep: Backend): string {
  return `ep-${tag(`${sp.id} ${ep.address}:${ep.port}`)}-${sp.id}/${ep.address}/${ep.port}`;
}

function affinitySet(sp: NftServicePort, ep: Backend): string {
  return `affinity-${tag(`${sp.id} ${ep.address}:${ep.port} ${sp.affinityTimeoutSeconds}`)}`;
}

/** The lines that pick one of `eps` (affinity first, then round robin), each after `match`. */
function dispatch(sp: NftServicePort, eps: Backend[], match = ""): string[] {
  const pre = match ? `${match} ` : "";
  const out: string[] = [];
  if (sp.affinityTimeoutSeconds !== undefined) {
    for (const ep of eps) {
      out.push(`${pre}ip saddr @${affinitySet(sp, ep)} goto ${q(endpointChain(sp, ep))}`);
    }
  }
  if (eps.length === 1) {
    out.push(`${pre}goto ${q(endpointChain(sp, eps[0]))}`);
  } else {
    const arms = eps.map((ep, i) => `${i} : goto ${q(endpointChain(sp, ep))}`).join(", ");
    out.push(`${pre}numgen inc mod ${eps.length} vmap { ${arms} }`);
  }
  return out;
}

/** Chain names as nft reads them (letters, digits, `-`, `_`, `.`, `/`: no quoting needed). */
const q = (name: string) => name;

/**
 * The `nft -f` script that makes table `options.table` hold exactly `ports`, given the objects
 * it holds now (`current`; empty for a table that does not exist yet).
 */
export function renderTransaction(
  ports: readonly NftServicePort[],
  current: NftObjects,
  options: NftTableOptions,
): NftTransaction {
  const T = `inet ${options.table}`;
  const lines: string[] = [];
  const chains = new Map<string, string[]>();
  const sets = new Map<string, number>();
  const elements: Record<string, string[]> = {
    "service-ips": [],
    "service-nodeports": [],
    "no-endpoint-services": [],
    "no-endpoint-nodeports": [],
  };
  const nodePortMatch = options.nodePortAddresses === "local"
    ? "fib daddr type local"
    : options.nodePortAddresses.filter(isIpv4).length
    ? `ip daddr { ${options.nodePortAddresses.filter(isIpv4).join(", ")} }`
    : undefined;
  const fromPods = options.clusterCidr ? `ip saddr ${options.clusterCidr}` : undefined;

  const hook = (type: string, h: string, priority: string) =>
    `type ${type} hook ${h} priority ${priority} ; policy accept ;`;
  const base: Record<string, { def?: string; rules: string[] }> = {
    "filter-input": {
      def: hook("filter", "input", "-110"),
      rules: [
        "ct state new jump endpoints-check",
        // route_localnet lets 127.0.0.1:<nodePort> be DNATed to a pod; as kube-proxy, do not
        // let that open 127/8 to packets arriving from the network.
        'iifname != "lo" ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct status & dnat == 0 drop',
      ],
    },
    "filter-forward": {
      def: hook("filter", "forward", "-110"),
      rules: ["ct state new jump endpoints-check"],
    },
    "filter-output": {
      def: hook("filter", "output", "-110"),
      rules: ["ct state new jump endpoints-check"],
    },
    "endpoints-check": {
      rules: [
        "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
        ...(nodePortMatch
          ? [`${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`]
          : []),
      ],
    },
    "reject-chain": {
      rules: ["meta l4proto tcp counter reject with tcp reset", "counter reject"],
    },
    "nat-prerouting": { def: hook("nat", "prerouting", "-100"), rules: ["jump services"] },
    "nat-output": { def: hook("nat", "output", "-100"), rules: ["jump services"] },
    "nat-postrouting": { def: hook("nat", "postrouting", "100"), rules: ["jump masquerading"] },
    services: {
      rules: [
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        ...(nodePortMatch
          ? [`${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`]
          : []),
      ],
    },
    masquerading: {
      rules: [
        `meta mark & ${hex(MASQUERADE_MARK)} == ${hex(MASQUERADE_MARK)} masquerade`,
        `meta mark & ${hex(MASQUERADE_REMOTE_MARK)} == ${hex(MASQUERADE_REMOTE_MARK)} ${
          options.podCidr ? `ip daddr != ${options.podCidr} ` : ""
        }masquerade`,
      ],
    },
    "mark-for-masquerade": { rules: [`meta mark set meta mark | ${hex(MASQUERADE_MARK)}`] },
    "mark-for-masquerade-remote": {
      rules: [`meta mark set meta mark | ${hex(MASQUERADE_REMOTE_MARK)}`],
    },
  };
  for (const name of BASE_CHAINS) chains.set(name, base[name].rules);

  const isLocal = (ep: Backend) => ep.nodeName === options.nodeName;
  for (const sp of ports) {
    const proto = sp.protocol;
    if (sp.endpoints.length === 0) {
      for (const a of [...sp.internal, ...sp.external]) {
        elements["no-endpoint-services"].push(
          `${a.address} . ${proto} . ${a.port} : goto reject-chain`,
        );
      }
      if (sp.nodePort) {
        elements["no-endpoint-nodeports"].push(`${proto} . ${sp.nodePort} : goto reject-chain`);
      }
      continue;
    }
    for (const ep of sp.endpoints) {
      const rules = [`ip saddr ${ep.address} jump mark-for-masquerade`];
      if (sp.affinityTimeoutSeconds !== undefined) {
        const set = affinitySet(sp, ep);
        sets.set(set, sp.affinityTimeoutSeconds);
        rules.push(`update @${set} { ip saddr }`);
      }
      rules.push(`meta l4proto ${proto} dnat ip to ${ep.address}:${ep.port}`);
      chains.set(endpointChain(sp, ep), rules);
    }
    const local = sp.endpoints.filter(isLocal);
    // Loopback sources (127.0.0.1:<nodePort>, route_localnet) must leave with a real address.
    const loopbackMasq = "ip saddr 127.0.0.0/8 jump mark-for-masquerade";
    if (sp.internal.length) {
      const svc = portChain(sp, "svc");
      const eps = sp.internalTrafficPolicy === "Local" ? local : sp.endpoints;
      // internalTrafficPolicy Local without a local endpoint drops, as kube-proxy.
      chains.set(svc, [loopbackMasq, ...(eps.length ? dispatch(sp, eps) : ["drop"])]);
      for (const a of sp.internal) {
        elements["service-ips"].push(`${a.address} . ${proto} . ${a.port} : goto ${q(svc)}`);
      }
    }
    if (sp.external.length || sp.nodePort) {
      const ext = portChain(sp, "ext");
      const rules = [loopbackMasq];
      if (sp.externalTrafficPolicy === "Local") {
        // Pods and the node itself still reach every endpoint (kube-proxy's short circuit);
        // outside clients only this node's, keeping their source address.
        if (fromPods) rules.push(...dispatch(sp, sp.endpoints, fromPods));
        rules.push("fib saddr type local jump mark-for-masquerade");
        rules.push(...dispatch(sp, sp.endpoints, "fib saddr type local"));
        rules.push(...(local.length ? dispatch(sp, local) : ["drop"]));
      } else {
        rules.push(
          fromPods
            ? `ip saddr != ${options.clusterCidr} jump mark-for-masquerade-remote`
            : "jump mark-for-masquerade-remote",
        );
        rules.push(...dispatch(sp, sp.endpoints));
      }
      chains.set(ext, rules);
      for (const a of sp.external) {
        elements["service-ips"].push(`${a.address} . ${proto} . ${a.port} : goto ${q(ext)}`);
      }
      if (sp.nodePort) {
        elements["service-nodeports"].push(`${proto} . ${sp.nodePort} : goto ${q(ext)}`);
      }
    }
  }

  // One transaction: rules flushed, maps emptied, stale objects deleted, everything re-added.
  lines.push(`add table ${T}`);
  lines.push(`flush table ${T}`);
  for (const [name, type] of Object.entries(MAPS)) {
    lines.push(`add map ${T} ${name} { type ${type} ; }`);
    lines.push(`flush map ${T} ${name}`);
  }
  for (const name of current.chains) {
    if (!chains.has(name)) lines.push(`delete chain ${T} ${q(name)}`);
  }
  for (const name of current.sets) {
    if (!sets.has(name)) lines.push(`delete set ${T} ${name}`);
  }
  for (const [name, timeout] of sets) {
    lines.push(
      `add set ${T} ${name} { type ipv4_addr ; flags dynamic,timeout ; timeout ${timeout}s ; }`,
    );
  }
  for (const name of chains.keys()) {
    const def = base[name]?.def;
    lines.push(`add chain ${T} ${q(name)}${def ? ` { ${def} }` : ""}`);
  }
  for (const [name, rules] of chains) {
    for (const r of rules) lines.push(`add rule ${T} ${q(name)} ${r}`);
  }
  for (const [map, els] of Object.entries(elements)) {
    if (els.length) lines.push(`add element ${T} ${map} { ${els.join(", ")} }`);
  }
  return {
    script: lines.join("\n") + "\n",
    objects: { chains: new Set(chains.keys()), sets: new Set(sets.keys()) },
  };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** The script deleting the table (mode change, uninstall); harmless when it does not exist. */
export function renderDelete(table: string): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}
