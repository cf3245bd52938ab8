/**
 * Service address allocation, as kube-apiserver does on create and update: a `clusterIP` from
 * the service CIDR and a `nodePort` from the node port range (the server's
 * `--service-node-port-range`, 30000–32767 by default) for NodePort and LoadBalancer services.
 * Requested values are honoured if free and in range; conflicts and out-of-range values are
 * refused with a 422 `InvalidError` in Kubernetes' words. As in kube-apiserver, the range is
 * checked here, where the configured range is known, not in object validation.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { InvalidError, type StatusCause } from "../../shared/errors.ts";

/** Options of {@linkcode ServiceAllocator}. */
export interface ServiceAllocatorOptions {
  /** IPv4 CIDR, e.g. `10.43.0.0/16` (tests: `127.43.0.0/16`). */
  serviceCidr: string;
  /** Inclusive node port range (default `{ min: 30000, max: 32767 }`). */
  nodePortRange?: PortRange;
}

/** An inclusive port range. */
export interface PortRange {
  min: number;
  max: number;
}

/** Kubernetes' default NodePort range. */
export const DEFAULT_NODE_PORT_RANGE: PortRange = { min: 30000, max: 32767 };

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

/** Whether the service type gets node ports. */
function wantsNodePorts(svc: KubeObject): boolean {
  const type = svc.spec?.type ?? "ClusterIP";
  return type === "NodePort" || type === "LoadBalancer";
}

/**
 * Allocates and validates cluster IPs and node ports for Services. Holds the set of addresses in
 * use: filled from the stored Services with {@linkcode load} at start, then kept by
 * allocate/reallocate/release as the server's create, update and delete paths call them.
 */
export class ServiceAllocator {
  readonly cidr: string;
  readonly nodePortRange: PortRange;
  readonly #base: number;
  readonly #size: number;
  readonly #usedIps = new Set<string>();
  readonly #usedPorts = new Set<number>();

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
    this.nodePortRange = options.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
  }

  /** The address of the `kubernetes` service: the first usable IP of the range (`10.43.0.1`). */
  get firstIP(): string {
    return intToIp(this.#base + 1);
  }

  /** Marks the addresses of already stored Services as used (call once at start). */
  load(services: readonly KubeObject[]): void {
    for (const s of services) {
      const ip = s.spec?.clusterIP;
      if (ip && ip !== "None") this.#usedIps.add(ip);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) this.#usedPorts.add(p.nodePort);
    }
  }

  /**
   * Fills `svc` in place on create: `clusterIP`/`clusterIPs`, `ipFamilies`, `ipFamilyPolicy`, and
   * node ports for NodePort/LoadBalancer services. Requested values are honoured when free and
   * in range; otherwise throws a 422 InvalidError with Kubernetes' message. With `dryRun`,
   * nothing is recorded as used.
   */
  allocate(svc: KubeObject, options: { dryRun?: boolean } = {}): void {
    const causes: StatusCause[] = [];
    const spec = (svc.spec ??= {});
    let ip: string | undefined;
    if ((spec.type ?? "ClusterIP") !== "ExternalName") {
      ip = this.#clusterIp(spec.clusterIP || spec.clusterIPs?.[0], causes);
    }
    const ports = this.#nodePorts(svc, new Set(), causes);
    if (causes.length > 0) throw invalid(svc, causes);
    this.#fill(spec, ip);
    if (options.dryRun) return;
    if (ip && ip !== "None") this.#usedIps.add(ip);
    for (const p of ports) this.#usedPorts.add(p);
  }

  /**
   * Keeps an updated Service's addresses consistent with the stored `old` one: the cluster IP
   * is kept (changing it is refused: the field is immutable), node ports are kept per port,
   * allocated for new ports or a new NodePort/LoadBalancer type, and released when no longer
   * used.
   */
  reallocate(svc: KubeObject, old: KubeObject, options: { dryRun?: boolean } = {}): void {
    const causes: StatusCause[] = [];
    const spec = (svc.spec ??= {});
    const oldIp: string | undefined = old.spec?.clusterIP;
    let ip: string | undefined;
    const type = spec.type ?? "ClusterIP";
    if (type === "ExternalName") {
      ip = undefined;
    } else if (!spec.clusterIP && !spec.clusterIPs?.length && oldIp) {
      ip = oldIp;
    } else if (oldIp && (spec.clusterIP || spec.clusterIPs?.[0]) !== oldIp) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.clusterIPs[0]",
        message: `Invalid value: ${JSON.stringify(spec.clusterIP ?? "")}: may not change once set`,
      });
    } else {
      ip = this.#clusterIp(spec.clusterIP || spec.clusterIPs?.[0], causes, oldIp);
    }
    // Ports keep their node port when the client dropped it (kubectl apply does).
    const oldPorts = new Set<number>();
    const oldByPort = new Map<string, number>();
    for (const p of old.spec?.ports ?? []) {
      if (!p.nodePort) continue;
      oldPorts.add(p.nodePort);
      oldByPort.set(`${p.protocol ?? "TCP"}/${p.port}`, p.nodePort);
    }
    if (wantsNodePorts(svc)) {
      for (const p of spec.ports ?? []) {
        if (!p.nodePort) p.nodePort = oldByPort.get(`${p.protocol ?? "TCP"}/${p.port}`);
        if (!p.nodePort) delete p.nodePort;
      }
    }
    const ports = this.#nodePorts(svc, oldPorts, causes);
    if (causes.length > 0) throw invalid(svc, causes);
    this.#fill(spec, ip);
    if (options.dryRun) return;
    if (oldIp && oldIp !== "None" && oldIp !== ip) this.#usedIps.delete(oldIp);
    if (ip && ip !== "None") this.#usedIps.add(ip);
    for (const p of oldPorts) if (!ports.has(p)) this.#usedPorts.delete(p);
    for (const p of ports) this.#usedPorts.add(p);
  }

  /** Frees the addresses of a deleted Service (or of one whose create failed). */
  release(svc: KubeObject): void {
    const ip = svc.spec?.clusterIP;
    if (ip && ip !== "None") this.#usedIps.delete(ip);
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) this.#usedPorts.delete(p.nodePort);
  }

  #fill(spec: Record<string, unknown>, ip: string | undefined): void {
    if (ip === undefined) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      return;
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies ??= ["IPv4"];
    spec.ipFamilyPolicy ??= "SingleStack";
  }

  #clusterIp(
    requested: string | undefined,
    causes: StatusCause[],
    own?: string,
  ): string | undefined {
    if (requested === "None") return "None";
    if (!requested) {
      const ip = this.#freeIp();
      if (!ip) {
        causes.push({
          reason: "FieldValueInvalid",
          field: "spec.clusterIPs",
          message: "failed to allocate a serviceIP: range is full",
        });
      }
      return ip;
    }
    const n = ipToInt(requested);
    if (Number.isNaN(n) || n < this.#base || n >= this.#base + this.#size) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.clusterIPs",
        message: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: ` +
          `the provided IP (${requested}) is not in the valid range. ` +
          `The range of valid IPs is ${this.cidr}`,
      });
      return undefined;
    }
    if (requested !== own && this.#usedIps.has(requested)) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.clusterIPs",
        message: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: ` +
          `provided IP is already allocated`,
      });
      return undefined;
    }
    return requested;
  }

  /** Validates requested node ports and picks free ones; returns the service's node ports. */
  #nodePorts(svc: KubeObject, own: Set<number>, causes: StatusCause[]): Set<number> {
    const ports = (svc.spec?.ports ?? []) as { nodePort?: number }[];
    const taken = new Set<number>();
    if (!wantsNodePorts(svc)) {
      // ClusterIP and headless services carry no node ports.
      for (const p of ports) delete p.nodePort;
      return taken;
    }
    const { min, max } = this.nodePortRange;
    ports.forEach((p, i) => {
      if (!p.nodePort) return;
      if (p.nodePort < min || p.nodePort > max) {
        causes.push({
          reason: "FieldValueInvalid",
          field: `spec.ports[${i}].nodePort`,
          message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. ` +
            `The range of valid ports is ${min}-${max}`,
        });
      } else if (
        (this.#usedPorts.has(p.nodePort) && !own.has(p.nodePort)) || taken.has(p.nodePort)
      ) {
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
      const port = this.#freePort(taken);
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
    return taken;
  }

  #freeIp(): string | undefined {
    // Skip the network address, the first address (the `kubernetes` service's, reserved unless
    // asked for explicitly) and the broadcast address; start at a random offset like Kubernetes.
    const usable = this.#size - 3;
    if (usable <= 0) return undefined;
    const offset = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const ip = intToIp(this.#base + 2 + ((offset + i) % usable));
      if (!this.#usedIps.has(ip)) return ip;
    }
    return undefined;
  }

  #freePort(taken: Set<number>): number | undefined {
    const { min, max } = this.nodePortRange;
    const size = max - min + 1;
    const offset = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = min + ((offset + i) % size);
      if (!this.#usedPorts.has(port) && !taken.has(port)) return port;
    }
    return undefined;
  }
}

function invalid(svc: KubeObject, causes: StatusCause[]): InvalidError {
  return new InvalidError(
    { kind: "Service", resource: "services", name: svc.metadata.name },
    causes,
  );
}
