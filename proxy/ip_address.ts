/**
 * The little IP arithmetic the proxy needs on top of shared/ipv4_cidr.ts: is the service CIDR
 * inside 127.0.0.0/8, and which addresses belong to this node (its interfaces, plus all of
 * 127/8, which Linux answers on `lo`).
 */
import { type Ipv4Net, ipv4NetContains, ipv4NetWithin, parseIpv4Net } from "../shared/ipv4_cidr.ts";

const LOOPBACK: Ipv4Net = { base: 0x7f000000, prefix: 8 };

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(ip: string): boolean {
  return ip === "::1" || ipv4NetContains(LOOPBACK, ip);
}

/** True when a whole service CIDR is loopback, so its ClusterIPs can be bound directly. */
export function isLoopbackCidr(cidr: string): boolean {
  const parsed = parseIpv4Net(cidr);
  return parsed !== undefined && ipv4NetWithin(parsed, LOOPBACK);
}

/**
 * A predicate for "this address belongs to this node": the host's interface addresses (read
 * once, now) and every loopback address.
 */
export function localAddressChecker(): (ip: string) => boolean {
  const own = new Set(Deno.networkInterfaces().map((i) => i.address));
  return (ip) => isLoopback(ip) || own.has(ip);
}
