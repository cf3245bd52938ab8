/**
 * Kubernetes' CEL `ip` and `cidr` libraries for CRD validation rules: `isIP`, `ip(...)`,
 * `ip.isCanonical`, the IP getters (`family`, `isUnspecified`, `isLoopback`,
 * `isLinkLocalMulticast`, `isLinkLocalUnicast`, `isGlobalUnicast`), `isCIDR`, `cidr(...)` and its
 * methods (`containsIP`, `containsCIDR`, `ip`, `prefixLength`, `masked`), and `string(...)` of
 * both. Parsing follows Go's netip (as kube-apiserver does): dotted IPv4 without leading zeros,
 * IPv6 with an optional trailing dotted IPv4; zones and IPv4-mapped IPv6 addresses are refused.
 */
import type { Environment } from "@marcbachmann/cel-js";

/** The value `ip(...)` returns: 4 or 16 address bytes. */
export class CelIP {
  constructor(readonly bytes: Uint8Array) {}
  /** Go's netip.Addr.String(): dotted IPv4, RFC 5952 IPv6. */
  toString(): string {
    return formatAddr(this.bytes);
  }
}

/** The value `cidr(...)` returns: an address and a prefix length, not necessarily masked. */
export class CelCIDR {
  constructor(readonly ip: CelIP, readonly bits: number) {}
  toString(): string {
    return `${this.ip}/${this.bits}`;
  }
}

/** The `ip` namespace of `ip.isCanonical(...)`. */
class IPNamespace {}

function parseIPv4(s: string): Uint8Array | string {
  const parts = s.split(".");
  if (parts.length !== 4) return "IPv4 address too short or too long";
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^[0-9]{1,3}$/.test(p)) return "unexpected character or empty field";
    if (p.length > 1 && p[0] === "0") return "IPv4 field has octet with leading zero";
    const n = Number(p);
    if (n > 255) return "IPv4 field has value >255";
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | string {
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return "multiple :: in address";
  const groupsOf = (h: string): number[] | string => {
    if (h === "") return [];
    const words: number[] = [];
    const fields = h.split(":");
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (i === fields.length - 1 && f.includes(".")) {
        const v4 = parseIPv4(f);
        if (typeof v4 === "string") return v4;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(f)) {
          return "each colon-separated field must have 1-4 hex digits";
        }
        words.push(parseInt(f, 16));
      }
    }
    return words;
  };
  const head = groupsOf(halves[0]);
  if (typeof head === "string") return head;
  let words: number[];
  if (halves.length === 2) {
    const tail = groupsOf(halves[1]);
    if (typeof tail === "string") return tail;
    // "::" stands for at least one zero group.
    if (head.length + tail.length > 7) return "address too long";
    words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return "address too short or too long";
    words = head;
  }
  // An embedded IPv4 part is only allowed as the last 32 bits.
  const v4At = s.lastIndexOf(".");
  if (v4At >= 0 && s.slice(v4At).includes(":")) return "unexpected character";
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function isIPv4Mapped(b: Uint8Array): boolean {
  return b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff &&
    b[11] === 0xff;
}

/** Parses an address as Kubernetes' ip() does; the string says why it is refused. */
function parseAddr(s: string): CelIP | string {
  if (s.includes("%")) return "IP address with zone value is not allowed";
  const bytes = s.includes(":") ? parseIPv6(s) : parseIPv4(s);
  if (typeof bytes === "string") return `ParseAddr(${JSON.stringify(s)}): ${bytes}`;
  if (isIPv4Mapped(bytes)) return "IPv4-mapped IPv6 address is not allowed";
  return new CelIP(bytes);
}

function parsePrefix(s: string): CelCIDR | string {
  const slash = s.lastIndexOf("/");
  if (slash < 0) return `netip.ParsePrefix(${JSON.stringify(s)}): no '/'`;
  const addrText = s.slice(0, slash), bitsText = s.slice(slash + 1);
  if (addrText.includes("%")) return "CIDR with zone value is not allowed";
  const ip = parseAddr(addrText);
  if (typeof ip === "string") {
    return ip.startsWith("IPv4-mapped") ? "IPv4-mapped IPv6 address is not allowed" : ip;
  }
  const max = ip.bytes.length * 8;
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText) || Number(bitsText) > max) {
    return `netip.ParsePrefix(${JSON.stringify(s)}): bad bits after slash: ${
      JSON.stringify(bitsText)
    }`;
  }
  return new CelCIDR(ip, Number(bitsText));
}

function formatAddr(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  // RFC 5952: compress the first longest run of two or more zero groups.
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestAt < 0) return hex(words);
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`;
}

function masked(c: CelCIDR): CelCIDR {
  const out = new Uint8Array(c.ip.bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return new CelCIDR(new CelIP(out), c.bits);
}

function contains(c: CelCIDR, ip: CelIP): boolean {
  if (ip.bytes.length !== c.ip.bytes.length) return false;
  const m = masked(c).ip.bytes;
  return masked(new CelCIDR(ip, c.bits)).ip.bytes.every((x, i) => x === m[i]);
}

function ipOf(s: string): CelIP {
  const ip = parseAddr(s);
  if (typeof ip === "string") {
    throw new Error(
      `IP Address ${JSON.stringify(s)} parse error during conversion from string: ${ip}`,
    );
  }
  return ip;
}

function cidrOf(s: string): CelCIDR {
  const c = parsePrefix(s);
  if (typeof c === "string") {
    throw new Error(`network address parse error during conversion from string: ${c}`);
  }
  return c;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const v4 = (b: Uint8Array) => b.length === 4;
const isUnspecified = (b: Uint8Array) => b.every((x) => x === 0);
const isLoopback = (b: Uint8Array) =>
  v4(b) ? b[0] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
const isLinkLocalMulticast = (b: Uint8Array) =>
  v4(b) ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1] & 0x0f) === 0x02;
const isLinkLocalUnicast = (b: Uint8Array) =>
  v4(b) ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
const isMulticast = (b: Uint8Array) => v4(b) ? (b[0] & 0xf0) === 0xe0 : b[0] === 0xff;
const isGlobalUnicast = (b: Uint8Array) =>
  !(v4(b) && b.every((x) => x === 255)) && !isUnspecified(b) && !isLoopback(b) &&
  !isMulticast(b) && !isLinkLocalUnicast(b);

/** Adds the `ip` and `cidr` libraries to a validation rule environment. */
export function registerIPLibraries(env: Environment): Environment {
  return env
    .registerType("net.IP", { ctor: CelIP })
    .registerType("net.CIDR", { ctor: CelCIDR })
    .registerType("IPNamespace", { ctor: IPNamespace })
    .registerConstant("ip", "IPNamespace", new IPNamespace())
    .registerFunction("isIP(string): bool", (s: string) => typeof parseAddr(s) !== "string")
    .registerFunction("ip(string): net.IP", ipOf)
    .registerFunction(
      "IPNamespace.isCanonical(string): bool",
      (_ns: IPNamespace, s: string) => ipOf(s).toString() === s,
    )
    .registerFunction("string(net.IP): string", (ip: CelIP) => ip.toString())
    .registerFunction("net.IP.family(): int", (ip: CelIP) => v4(ip.bytes) ? 4n : 6n)
    .registerFunction("net.IP.isUnspecified(): bool", (ip: CelIP) => isUnspecified(ip.bytes))
    .registerFunction("net.IP.isLoopback(): bool", (ip: CelIP) => isLoopback(ip.bytes))
    .registerFunction(
      "net.IP.isLinkLocalMulticast(): bool",
      (ip: CelIP) => isLinkLocalMulticast(ip.bytes),
    )
    .registerFunction(
      "net.IP.isLinkLocalUnicast(): bool",
      (ip: CelIP) => isLinkLocalUnicast(ip.bytes),
    )
    .registerFunction("net.IP.isGlobalUnicast(): bool", (ip: CelIP) => isGlobalUnicast(ip.bytes))
    .registerFunction("isCIDR(string): bool", (s: string) => typeof parsePrefix(s) !== "string")
    .registerFunction("cidr(string): net.CIDR", cidrOf)
    .registerFunction("string(net.CIDR): string", (c: CelCIDR) => c.toString())
    .registerFunction("net.CIDR.containsIP(net.IP): bool", contains)
    .registerFunction(
      "net.CIDR.containsIP(string): bool",
      (c: CelCIDR, s: string) => contains(c, ipOf(s)),
    )
    .registerFunction(
      "net.CIDR.containsCIDR(net.CIDR): bool",
      (c: CelCIDR, o: CelCIDR) => c.bits <= o.bits && contains(c, o.ip),
    )
    .registerFunction("net.CIDR.containsCIDR(string): bool", (c: CelCIDR, s: string) => {
      const o = cidrOf(s);
      return c.bits <= o.bits && contains(c, o.ip);
    })
    .registerFunction("net.CIDR.ip(): net.IP", (c: CelCIDR) => c.ip)
    .registerFunction("net.CIDR.prefixLength(): int", (c: CelCIDR) => BigInt(c.bits))
    .registerFunction("net.CIDR.masked(): net.CIDR", masked)
    .registerOperator("net.IP == net.IP", (a: CelIP, b: CelIP) => sameBytes(a.bytes, b.bytes))
    .registerOperator(
      "net.CIDR == net.CIDR",
      (a: CelCIDR, b: CelCIDR) => a.bits === b.bits && sameBytes(a.ip.bytes, b.ip.bytes),
    );
}
