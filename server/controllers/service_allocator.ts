/**
 * Service address allocation, as kube-apiserver does on create and update: a `clusterIP` from
 * the service CIDR and a `nodePort` from the node port range (30000–32767 by default) for
 * NodePort and LoadBalancer services. Requested values are honoured if free and in range;
 * conflicts are refused with a 422 `InvalidError` in Kubernetes' words.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { InvalidError, type StatusCause } from "../../shared/errors.ts";

/** Options of {@linkcode ServiceAllocator}. */
export interface ServiceAllocatorOptions {
  /** IPv4 CIDR, e.g. `10.43.0.0/16` (tests: `127.43.0.0/16`). */
  serviceCidr: string;
  /** Inclusive range, e.g. `{ min: 30000, max: 32767 }`, or the flag form `"30000-32767"`. */
  nodePortRange?: { min: number; max: number } | string;
}

function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) return NaN;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return NaN;
    n = n * 256 + Number(p);
  }
  return n;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function parseRange(r: ServiceAllocatorOptions["nodePortRange"]): { min: number; max: number } {
  if (r === undefined) return { min: 30000, max: 32767 };
  if (typeof r !== "string") return r;
  const m = /^(\d+)-(\d+)$/.exec(r.trim());
  if (!m) throw new Error(`invalid node port range "${r}": expected like 30000-32767`);
  return { min: Number(m[1]), max: Number(m[2]) };
}

/** Whether the service type gets node ports. */
function wantsNodePorts(svc: KubeObject): boolean {
  const type = svc.spec?.type ?? "ClusterIP";
  return type === "NodePort" || type === "LoadBalancer";
}

/** Allocates and validates cluster IPs and node ports for Services. */
export class ServiceAllocator {
  readonly cidr: string;
  readonly nodePortRange: { min: number; max: number };
  readonly #base: number;
  readonly #size: number;
  /** Allocated here and not yet visible in `existing` (a create in flight), until released. */
  readonly #reservedIps = new Set<string>();
  readonly #reservedPorts = new Set<number>();

  constructor(options: ServiceAllocatorOptions) {
    const [addr, bitsText] = options.serviceCidr.split("/");
    const bits = Number(bitsText);
    const base = ipToInt(addr);
    if (!Number.isInteger(bits) || bits < 8 || bits > 30 || Number.isNaN(base)) {
      throw new Error(`invalid service CIDR "${options.serviceCidr}"`);
    }
    this.cidr = options.serviceCidr;
    this.#size = 2 ** (32 - bits);
    this.#base = base - (base % this.#size);
    this.nodePortRange = parseRange(options.nodePortRange);
  }

  /**
   * The address of the `kubernetes` service: the first usable IP of the range (`10.43.0.1`).
   */
  get firstIP(): string {
    return intToIp(this.#base + 1);
  }

  /**
   * Returns a copy of `svc` with `clusterIP`/`clusterIPs`, `ipFamilies`, `ipFamilyPolicy` and
   * missing node ports filled. `existing` are the stored Services (the one being updated, same
   * namespace/name, is ignored). Throws InvalidError when a requested value is taken or out of
   * range.
   */
  allocate(svc: KubeObject, existing: readonly KubeObject[]): KubeObject {
    const self = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const usedIps = new Set(this.#reservedIps);
    const usedPorts = new Set(this.#reservedPorts);
    const selfPorts = new Set<number>();
    let selfIp: string | undefined;
    for (const s of existing) {
      const isSelf = `${s.metadata.namespace}/${s.metadata.name}` === self;
      const ip = s.spec?.clusterIP;
      if (isSelf) {
        selfIp = ip;
        for (const p of s.spec?.ports ?? []) if (p.nodePort) selfPorts.add(p.nodePort);
        continue;
      }
      if (ip && ip !== "None") usedIps.add(ip);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) usedPorts.add(p.nodePort);
    }
    // Our own earlier reservations are not conflicts on update.
    if (selfIp) usedIps.delete(selfIp);
    for (const p of selfPorts) usedPorts.delete(p);

    const out = structuredClone(svc);
    const spec = (out.spec ??= {});
    const causes: StatusCause[] = [];
    const type = spec.type ?? "ClusterIP";
    if (type !== "ExternalName") {
      const requested = spec.clusterIP || spec.clusterIPs?.[0];
      let ip: string | undefined;
      if (requested === "None") {
        ip = "None";
      } else if (requested) {
        const n = ipToInt(requested);
        if (Number.isNaN(n) || n < this.#base || n >= this.#base + this.#size) {
          causes.push({
            reason: "FieldValueInvalid",
            field: "spec.clusterIPs",
            message: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: ` +
              `the provided IP (${requested}) is not in the valid range. ` +
              `The range of valid IPs is ${this.cidr}`,
          });
        } else if (usedIps.has(requested)) {
          causes.push({
            reason: "FieldValueInvalid",
            field: "spec.clusterIPs",
            message: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: ` +
              `provided IP is already allocated`,
          });
        } else ip = requested;
      } else {
        ip = this.#freeIp(usedIps);
        if (!ip) {
          causes.push({
            reason: "FieldValueInvalid",
            field: "spec.clusterIPs",
            message: `failed to allocate a serviceIP: range is full`,
          });
        }
      }
      if (ip) {
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
        if (ip !== "None" || !spec.ipFamilies) spec.ipFamilies ??= ["IPv4"];
        spec.ipFamilyPolicy ??= "SingleStack";
        if (ip !== "None") usedIps.add(ip);
      }
    }
    const ports = (spec.ports ?? []) as { nodePort?: number }[];
    if (wantsNodePorts(out)) {
      const taken = new Set<number>();
      ports.forEach((p, i) => {
        if (!p.nodePort) return;
        const { min, max } = this.nodePortRange;
        if (p.nodePort < min || p.nodePort > max) {
          causes.push({
            reason: "FieldValueInvalid",
            field: `spec.ports[${i}].nodePort`,
            message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. ` +
              `The range of valid ports is ${min}-${max}`,
          });
        } else if (usedPorts.has(p.nodePort) || taken.has(p.nodePort)) {
          causes.push({
            reason: "FieldValueInvalid",
            field: `spec.ports[${i}].nodePort`,
            message: `Invalid value: ${p.nodePort}: provided port is already allocated`,
          });
        }
        taken.add(p.nodePort);
      });
      for (const p of ports) {
        if (p.nodePort) continue;
        const port = this.#freePort(usedPorts, taken);
        if (port === undefined) {
          causes.push({
            reason: "FieldValueInvalid",
            field: "spec.ports",
            message: "failed to allocate a nodePort: range is full",
          });
          break;
        }
        p.nodePort = port;
        taken.add(port);
      }
      if (causes.length === 0) { for (const p of taken) this.#reservedPorts.add(p); }
    } else {
      // ClusterIP services carry no node ports.
      for (const p of ports) delete p.nodePort;
    }
    if (causes.length > 0) {
      throw new InvalidError(
        { kind: "Service", resource: "services", name: svc.metadata.name },
        causes,
      );
    }
    if (spec.clusterIP && spec.clusterIP !== "None") this.#reservedIps.add(spec.clusterIP);
    return out;
  }

  /**
   * Forgets the in-flight reservations of `svc` (after its create failed, or once it is stored or
   * deleted — the stored list is the source of truth from then on).
   */
  release(svc: KubeObject): void {
    const ip = svc.spec?.clusterIP;
    if (ip) this.#reservedIps.delete(ip);
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) this.#reservedPorts.delete(p.nodePort);
  }

  #freeIp(used: Set<string>): string | undefined {
    // Skip the network address, the first address (the `kubernetes` service's, reserved unless
    // asked for explicitly) and the broadcast address; start at a random offset like Kubernetes.
    const usable = this.#size - 3;
    if (usable <= 0) return undefined;
    const offset = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const ip = intToIp(this.#base + 2 + ((offset + i) % usable));
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }

  #freePort(used: Set<number>, taken: Set<number>): number | undefined {
    const { min, max } = this.nodePortRange;
    const size = max - min + 1;
    const offset = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = min + ((offset + i) % size);
      if (!used.has(port) && !taken.has(port)) return port;
    }
    return undefined;
  }
}
