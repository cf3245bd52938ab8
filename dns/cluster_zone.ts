/**
 * The cluster's DNS records, computed from Services and Endpoints as the Kubernetes DNS-Based
 * Service Discovery specification (kubernetes/dns docs/specification.md, schema 1.0.1) lays them
 * out: `<svc>.<ns>.svc.<zone>` A/AAAA for ClusterIP Services, one A per ready endpoint for
 * headless ones plus `<hostname>.<svc>.<ns>.svc.<zone>`, SRV for named ports, PTR for service
 * and endpoint addresses, CNAME for ExternalName, `dns-version.<zone>` TXT and the deprecated
 * `<a>-<b>-<c>-<d>.<ns>.pod.<zone>` A. A pure structure, rebuilt whole on every change.
 */

import type { Endpoints, Service } from "../shared/api/core_v1.ts";

/** The schema version this zone implements (answered at `dns-version.<zone>` TXT). */
export const DNS_SCHEMA_VERSION = "1.0.1";

/** Record types the zone answers with. */
export type RecordType = "A" | "AAAA" | "CNAME" | "PTR" | "SRV" | "TXT" | "SOA";

/** One resource record, in `dns-packet`'s shape. */
export interface ResourceRecord {
  name: string;
  type: RecordType;
  class: "IN";
  ttl: number;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** What the zone says about one question. */
export interface ZoneAnswer {
  rcode: "NOERROR" | "NXDOMAIN";
  answers: ResourceRecord[];
  /** The zone's SOA on negative answers (NXDOMAIN and NODATA), for negative caching. */
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  /**
   * The CNAME target when the answer is a CNAME to a name outside the zone (ExternalName):
   * the caller resolves it upstream and appends what it finds (spec 2.5's example).
   */
  chase?: string;
}

/** Options of {@linkcode ClusterZone}. */
export interface ClusterZoneOptions {
  /** The cluster domain, `cluster.local` by default. */
  domain?: string;
  /** TTL of every cluster record (CoreDNS' kubernetes plugin defaults to 5 s). */
  ttl?: number;
}

/** The annotation that, like `publishNotReadyAddresses`, makes not-ready endpoints resolvable. */
export const TOLERATE_UNREADY_ANNOTATION = "service.alpha.kubernetes.io/tolerate-unready-endpoints";

/** `10.0.3.1` → `1.3.0.10.in-addr.arpa`; IPv6 as nibbles under `ip6.arpa`. */
export function reverseName(ip: string): string | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  const hex = expandIPv6(ip);
  return hex ? `${[...hex].reverse().join(".")}.ip6.arpa` : undefined;
}

/** The 32 hex digits of an IPv6 address, or undefined when `ip` is not one. */
function expandIPv6(ip: string): string | undefined {
  if (!ip.includes(":")) return undefined;
  const [head, tail] = ip.split("::");
  if (ip.split("::").length > 2) return undefined;
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8)) return undefined;
  const groups = [...h, ...Array(fill).fill("0"), ...t];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.toLowerCase().padStart(4, "0")).join("");
}

function isIPv4(ip: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && ip.split(".").every((o) => Number(o) <= 255);
}

/** A name in the zone's canonical form: lower case, no trailing dot. */
export function canonicalName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

/** The ready addresses of a Service's Endpoints, as the spec defines _ready_. */
function readyAddresses(svc: Service, ep: Endpoints | undefined) {
  const tolerate = svc.spec.publishNotReadyAddresses === true ||
    svc.metadata.annotations?.[TOLERATE_UNREADY_ANNOTATION] === "true";
  const out: {
    ip: string;
    hostname?: string;
    ports: { name?: string; port: number; protocol?: string }[];
  }[] = [];
  for (const subset of ep?.subsets ?? []) {
    const addrs = [
      ...(subset.addresses ?? []),
      ...(tolerate ? subset.notReadyAddresses ?? [] : []),
    ];
    for (const a of addrs) out.push({ ip: a.ip, hostname: a.hostname, ports: subset.ports ?? [] });
  }
  return out;
}

/**
 * The records of one cluster domain. `lookup()` answers authoritatively for names under the
 * domain and for reverse names of the addresses it knows; it returns undefined for everything
 * else (the caller forwards those upstream).
 */
export class ClusterZone {
  /** The cluster domain, canonical. */
  readonly domain: string;
  readonly ttl: number;
  readonly #records = new Map<string, ResourceRecord[]>();
  /**
   * Every name that exists under the domain, counted: owners of records and their ancestors
   * (empty non-terminals answer NODATA, not NXDOMAIN); a name goes when its count drops to 0.
   */
  readonly #names = new Map<string, number>();
  readonly #reverse = new Map<string, ResourceRecord[]>();
  /** The records each Service (`namespace/name`) put in, so that a change replaces only those. */
  readonly #byService = new Map<string, { forward: ResourceRecord[]; reverse: ResourceRecord[] }>();
  #adding?: { forward: ResourceRecord[]; reverse: ResourceRecord[] };
  readonly #soa: ResourceRecord;
  #version = 0;

  constructor(
    services: readonly Service[] = [],
    endpointsOf: (namespace: string, name: string) => Endpoints | undefined = () => undefined,
    options: ClusterZoneOptions = {},
  ) {
    this.domain = canonicalName(options.domain ?? "cluster.local");
    this.ttl = options.ttl ?? 5;
    const d = this.domain;
    // CoreDNS' shape: refresh/retry/expire are conventional, the minimum (negative TTL) is ours.
    this.#soa = this.#rr(d, "SOA", {
      mname: `ns.dns.${d}`,
      rname: `hostmaster.${d}`,
      serial: Math.floor(Date.now() / 1000) >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: this.ttl,
    });
    this.#add(this.#soa);
    this.#add(this.#rr(`dns-version.${d}`, "TXT", [DNS_SCHEMA_VERSION]));
    // `pod.<zone>` and `svc.<zone>` always exist (pod names are answered from the name itself).
    this.#names.set(`pod.${d}`, Infinity);
    this.#names.set(`svc.${d}`, Infinity);
    for (const svc of services) {
      const ns = svc.metadata.namespace ?? "default";
      const name = svc.metadata.name ?? "";
      this.setService(svc, endpointsOf(ns, name));
    }
  }

  /** Bumped by every change (answers derived from an older version are stale). */
  get version(): number {
    return this.#version;
  }

  /** Puts in the records of one Service (and its Endpoints), replacing its previous ones. */
  setService(svc: Service, endpoints: Endpoints | undefined): void {
    const key = `${svc.metadata.namespace ?? "default"}/${svc.metadata.name ?? ""}`;
    this.deleteService(key);
    const contribution = { forward: [], reverse: [] };
    this.#adding = contribution;
    try {
      this.#addService(svc, endpoints);
    } finally {
      this.#adding = undefined;
    }
    this.#byService.set(key, contribution);
    this.#version++;
  }

  /** Takes out the records of Service `namespace/name`. */
  deleteService(key: string): void {
    const c = this.#byService.get(key);
    if (!c) return;
    this.#byService.delete(key);
    for (const rr of c.forward) {
      const list = this.#records.get(rr.name);
      if (list) {
        const rest = list.filter((r) => r !== rr);
        if (rest.length) this.#records.set(rr.name, rest);
        else this.#records.delete(rr.name);
      }
      this.#countAncestors(rr.name, -1);
    }
    for (const rr of c.reverse) {
      const rest = (this.#reverse.get(rr.name) ?? []).filter((r) => r !== rr);
      if (rest.length) this.#reverse.set(rr.name, rest);
      else this.#reverse.delete(rr.name);
    }
    this.#version++;
  }

  #rr(name: string, type: RecordType, data: unknown): ResourceRecord {
    return { name, type, class: "IN", ttl: this.ttl, data };
  }

  #countAncestors(name: string, delta: number): void {
    let n = name;
    while (n.length >= this.domain.length) {
      const count = (this.#names.get(n) ?? 0) + delta;
      if (count > 0) this.#names.set(n, count);
      else this.#names.delete(n);
      if (n === this.domain) break;
      n = n.slice(n.indexOf(".") + 1);
    }
  }

  #add(rr: ResourceRecord): void {
    const list = this.#records.get(rr.name);
    if (list) list.push(rr);
    else this.#records.set(rr.name, [rr]);
    this.#countAncestors(rr.name, 1);
    this.#adding?.forward.push(rr);
  }

  #addReverse(ip: string, target: string): void {
    const name = reverseName(ip);
    if (!name) return;
    const list = this.#reverse.get(name) ?? [];
    if (list.some((r) => r.data === target)) return;
    const rr = this.#rr(name, "PTR", target);
    list.push(rr);
    this.#reverse.set(name, list);
    this.#adding?.reverse.push(rr);
  }

  #addService(svc: Service, endpoints: Endpoints | undefined): void {
    const ns = canonicalName(svc.metadata.namespace ?? "default");
    const name = canonicalName(svc.metadata.name ?? "");
    if (!name) return;
    const base = `${name}.${ns}.svc.${this.domain}`;
    const spec = svc.spec;
    if (spec.type === "ExternalName") {
      if (spec.externalName) this.#add(this.#rr(base, "CNAME", canonicalName(spec.externalName)));
      return;
    }
    const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ""])
      .filter((ip) => ip !== "");
    const headless = clusterIPs.length === 0 || clusterIPs[0] === "None";
    const namedPorts = (spec.ports ?? []).filter((p) => p.name);
    if (!headless) {
      for (const ip of clusterIPs) {
        this.#add(this.#rr(base, isIPv4(ip) ? "A" : "AAAA", ip));
        this.#addReverse(ip, base);
      }
      for (const p of namedPorts) {
        const proto = (p.protocol ?? "TCP").toLowerCase();
        this.#add(this.#rr(`_${canonicalName(p.name!)}._${proto}.${base}`, "SRV", {
          priority: 0,
          weight: 100,
          port: p.port,
          target: base,
        }));
      }
      return;
    }
    // Headless: the ready endpoints themselves. An endpoint without a hostname is named by its
    // address with dashes (CoreDNS' "unique, system-assigned identifier").
    const seen = new Set<string>();
    for (
      const a of readyAddresses(svc, endpoints)
    ) {
      const host = canonicalName(a.hostname || a.ip.replaceAll(/[.:]/g, "-"));
      const target = `${host}.${base}`;
      const type = isIPv4(a.ip) ? "A" : "AAAA";
      if (!seen.has(a.ip)) {
        seen.add(a.ip);
        this.#add(this.#rr(base, type, a.ip));
      }
      if (!(this.#records.get(target) ?? []).some((r) => r.data === a.ip)) {
        this.#add(this.#rr(target, type, a.ip));
      }
      this.#addReverse(a.ip, target);
      for (const p of namedPorts) {
        const protocol = p.protocol ?? "TCP";
        // The pod's own port: the endpoint port of the same name (the service port number is
        // not what listens on a pod address).
        const epPort = a.ports.find((ep) =>
          (ep.name ?? "") === p.name && (ep.protocol ?? "TCP") === protocol
        );
        if (!epPort) continue;
        const owner = `_${canonicalName(p.name!)}._${protocol.toLowerCase()}.${base}`;
        const dup = (this.#records.get(owner) ?? []).some((r) =>
          r.data.target === target && r.data.port === epPort.port
        );
        if (!dup) {
          this.#add(this.#rr(owner, "SRV", {
            priority: 0,
            weight: 100,
            port: epPort.port,
            target,
          }));
        }
      }
    }
  }

  /** Whether `name` (canonical) is the cluster domain or under it. */
  inZone(name: string): boolean {
    return name === this.domain || name.endsWith(`.${this.domain}`);
  }

  /**
   * Answers `type` for `name`, or returns undefined when the name is not the zone's to answer
   * (outside the domain, or a reverse name of an address the cluster does not know).
   */
  lookup(name: string, type: string): ZoneAnswer | undefined {
    const n = canonicalName(name);
    if (n.endsWith(".in-addr.arpa") || n.endsWith(".ip6.arpa")) {
      const ptrs = this.#reverse.get(n);
      if (!ptrs) return undefined;
      return type === "PTR" || type === "ANY"
        ? this.#answer(ptrs)
        : { rcode: "NOERROR", answers: [], authorities: [], additionals: [] };
    }
    if (!this.inZone(n)) return undefined;
    const pod = this.#podRecord(n);
    const records = pod ? [pod] : this.#records.get(n);
    if (!records) {
      const exists = this.#names.has(n) || this.#isPodNamespace(n);
      return exists ? this.#nodata() : { ...this.#nodata(), rcode: "NXDOMAIN" };
    }
    const cname = records.find((r) => r.type === "CNAME");
    if (cname && type !== "CNAME") {
      // An alias: the CNAME, then the target's records if they are ours, else resolved upstream.
      const target = cname.data as string;
      const inner = this.inZone(target) ? this.lookup(target, type) : undefined;
      return {
        rcode: "NOERROR",
        answers: [cname, ...(inner?.answers ?? [])],
        authorities: [],
        additionals: [],
        chase: this.inZone(target) ? undefined : target,
      };
    }
    const matching = type === "ANY" ? records : records.filter((r) => r.type === type);
    if (matching.length === 0) return this.#nodata();
    const answer = this.#answer(matching);
    if (type === "SRV") {
      // RFC 2782: the targets' addresses go in the additional section.
      const targets = new Set(matching.map((r) => r.data.target as string));
      for (const t of targets) {
        for (const r of this.#records.get(t) ?? []) {
          if (r.type === "A" || r.type === "AAAA") answer.additionals.push(r);
        }
      }
    }
    return answer;
  }

  #answer(answers: ResourceRecord[]): ZoneAnswer {
    return { rcode: "NOERROR", answers, authorities: [], additionals: [] };
  }

  #nodata(): ZoneAnswer {
    return { rcode: "NOERROR", answers: [], authorities: [this.#soa], additionals: [] };
  }

  /** `<ns>.pod.<zone>`: every namespace "exists" under pod (its children are computed). */
  #isPodNamespace(n: string): boolean {
    const rest = n.slice(0, -(`.pod.${this.domain}`.length));
    return n.endsWith(`.pod.${this.domain}`) && rest.length > 0 && !rest.includes(".");
  }

  /** The deprecated `<a>-<b>-<c>-<d>.<ns>.pod.<zone>` A record, required by the spec. */
  #podRecord(n: string): ResourceRecord | undefined {
    const suffix = `.pod.${this.domain}`;
    if (!n.endsWith(suffix)) return undefined;
    const labels = n.slice(0, -suffix.length).split(".");
    if (labels.length !== 2) return undefined;
    const ip = labels[0].replaceAll("-", ".");
    if (!isIPv4(ip)) return undefined;
    return this.#rr(n, "A", ip);
  }

  /** Number of owner names with records (for tests and the bench). */
  get size(): number {
    return this.#records.size + this.#reverse.size;
  }

  /** Number of Services in the zone. */
  get services(): number {
    return this.#byService.size;
  }
}
