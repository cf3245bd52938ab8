/**
 * IPv4 CIDR arithmetic shared by the server's node IPAM (splitting `--cluster-cidr` into per-node
 * `podCIDR`s) and the agent's pod network (the bridge's gateway, "is this in the cluster CIDR?").
 * {@linkcode podGatewayAddress} is the one place that says which address of a node's podCIDR the
 * node itself holds (the bridge gateway, where node-local services for pods listen).
 */

/** An IPv4 network: its first address as an unsigned 32-bit number and its prefix length. */
export interface Ipv4Net {
  base: number;
  prefix: number;
}

/** Dotted IPv4 to an unsigned 32-bit number; undefined when not IPv4. */
export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** An unsigned 32-bit number to dotted IPv4. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `a.b.c.d/len` (host bits are cleared: `10.42.3.7/24` is `10.42.3.0/24`); undefined
 * when it is not an IPv4 CIDR.
 */
export function parseIpv4Net(cidr: string): Ipv4Net | undefined {
  const slash = cidr.indexOf("/");
  if (slash < 0) return undefined;
  const ip = ipv4ToInt(cidr.slice(0, slash));
  const lenText = cidr.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > 32) return undefined;
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

/** `10.42.3.0/24`. */
export function formatIpv4Net(net: Ipv4Net): string {
  return `${intToIpv4(net.base)}/${net.prefix}`;
}

/** How many addresses the network spans. */
export function ipv4NetSize(net: Ipv4Net): number {
  return 2 ** (32 - net.prefix);
}

/** True when `ip` lies in `net`. */
export function ipv4NetContains(net: Ipv4Net, ip: string): boolean {
  const n = ipv4ToInt(ip);
  if (n === undefined) return false;
  const m = maskOf(net.prefix);
  return ((n & m) >>> 0) === net.base;
}

/** True when all of `inner` lies within `outer`. */
export function ipv4NetWithin(inner: Ipv4Net, outer: Ipv4Net): boolean {
  if (inner.prefix < outer.prefix) return false;
  return ((inner.base & maskOf(outer.prefix)) >>> 0) === outer.base;
}

/**
 * The address a node holds in its own podCIDR: the first one (`10.42.3.0/24` → `10.42.3.1`), as
 * flannel's `cni0` and Docker's bridge gateway. Pods route everything off-bridge through it, and
 * node-local services for pods (the node-local DNS) listen on it.
 */
export function podGatewayAddress(podCIDR: string): string {
  const net = parseIpv4Net(podCIDR);
  if (!net || net.prefix > 30) {
    throw new Error(`invalid podCIDR "${podCIDR}": expected an IPv4 CIDR of /30 or larger`);
  }
  return intToIpv4(net.base + 1);
}
