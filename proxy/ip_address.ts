/**
 * The little IP arithmetic the proxy needs: IPv4 CIDR containment (is the service CIDR inside
 * 127.0.0.0/8?) and which addresses belong to this node (its interfaces, plus all of 127/8,
 * which Linux answers on `lo`).
 */

/** An IPv4 network as a base address and prefix length. */
export interface Ipv4Cidr {
  base: number;
  prefix: number;
}

/** Parses dotted IPv4 to an unsigned 32-bit number; undefined when not IPv4. */
export function parseIpv4(ip: string): number | undefined {
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

/** Parses `a.b.c.d/len`; undefined when not an IPv4 CIDR. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr | undefined {
  const [ip, len] = cidr.split("/");
  const base = parseIpv4(ip);
  const prefix = Number(len);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    return undefined;
  }
  return { base, prefix };
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when `ip` (IPv4) lies in `cidr`. */
export function cidrContains(cidr: Ipv4Cidr, ip: string): boolean {
  const n = parseIpv4(ip);
  if (n === undefined) return false;
  const m = mask(cidr.prefix);
  return ((n & m) >>> 0) === ((cidr.base & m) >>> 0);
}

/** True when all of `inner` lies within `outer`. */
export function cidrWithin(inner: Ipv4Cidr, outer: Ipv4Cidr): boolean {
  if (inner.prefix < outer.prefix) return false;
  const m = mask(outer.prefix);
  return ((inner.base & m) >>> 0) === ((outer.base & m) >>> 0);
}

const LOOPBACK: Ipv4Cidr = { base: 0x7f000000, prefix: 8 };

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(ip: string): boolean {
  return ip === "::1" || cidrContains(LOOPBACK, ip);
}

/** True when a whole service CIDR is loopback, so its ClusterIPs can be bound directly. */
export function isLoopbackCidr(cidr: string): boolean {
  const parsed = parseIpv4Cidr(cidr);
  return parsed !== undefined && cidrWithin(parsed, LOOPBACK);
}

/**
 * A predicate for "this address belongs to this node": the host's interface addresses (read
 * once, now) and every loopback address.
 */
export function localAddressChecker(): (ip: string) => boolean {
  const own = new Set(Deno.networkInterfaces().map((i) => i.address));
  return (ip) => isLoopback(ip) || own.has(ip);
}
