/**
 * Where the node-local DNS listens: the addresses the kubelet-style `--cluster-dns` names, or
 * else the gateway of the node's pod bridge, which by contract with the pod network is the first
 * address of the Node's `spec.podCIDR` (10.42.3.0/24 → 10.42.3.1).
 */

/** The first address of an IPv4 CIDR (`10.42.3.0/24` → `10.42.3.1`); undefined if not IPv4. */
export function podCidrGateway(cidr: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const bits = Number(m[5]);
  if (bits > 30) return undefined;
  const ip = m.slice(1, 5).map(Number);
  if (ip.some((o) => o > 255)) return undefined;
  const value = ((ip[0] << 24) >>> 0) + (ip[1] << 16) + (ip[2] << 8) + ip[3];
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const first = ((value & mask) >>> 0) + 1;
  return [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join(".");
}

/** The DNS listen addresses: `clusterDns` if given, else the pod gateways of `podCIDRs`. */
export function dnsListenAddresses(clusterDns: string[], podCIDRs: string[]): string[] {
  if (clusterDns.length) return [...clusterDns];
  return podCIDRs.map(podCidrGateway).filter((a): a is string => !!a);
}
