/**
 * From Services and Endpoints, the listeners this node's proxy should have: for every service
 * port, `clusterIP:port`, `nodeAddress:nodePort` (NodePort, LoadBalancer), `externalIP:port` for
 * each external IP that is an address of this node, `nodeAddress:port` when the node is a
 * load-balancer ingress of the service — each with its ready backends (Endpoints `addresses` ×
 * the endpoint port matching the service port by name). A pure function of its inputs, so every sync recomputes the whole table.
 */

import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import type { Backend } from "./round_robin.ts";
import { backendKey } from "./round_robin.ts";
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS } from "./session_affinity.ts";

/** Why a listener exists. */
export type ListenerSource = "clusterIP" | "nodePort" | "externalIP" | "loadBalancer";

/** One socket the proxy should hold, and where its traffic goes. */
export interface DesiredListener {
  /** `TCP/127.43.0.10:80`: the identity reconciled on (a port change is a new listener). */
  key: string;
  /** SCTP only when {@linkcode ServiceTableOptions.sctp} asks for it (nftables mode). */
  protocol: "TCP" | "UDP" | "SCTP";
  address: string;
  port: number;
  source: ListenerSource;
  /** The Service (for events and counters). */
  service: { namespace: string; name: string; uid?: string };
  /** The service port's name, `""` when unnamed. */
  portName: string;
  backends: Backend[];
  /** `sessionAffinity: ClientIP` timeout in seconds; undefined without affinity. */
  affinityTimeoutSeconds?: number;
  /** `spec.externalTrafficPolicy` / `spec.internalTrafficPolicy` (the nftables mode honours them). */
  externalTrafficPolicy: "Cluster" | "Local";
  internalTrafficPolicy: "Cluster" | "Local";
}

/** A listener that another service already claimed. */
export interface ListenerConflict {
  listener: DesiredListener;
  /** `namespace/name` of the service holding the address:port. */
  heldBy: string;
}

/** Options for {@linkcode desiredListeners}. */
export interface ServiceTableOptions {
  /** This node's address (where NodePorts listen). */
  nodeAddress: string;
  /** Whether an address belongs to this node (external and load-balancer IPs). */
  isLocalAddress: (ip: string) => boolean;
  /** Include ClusterIP and external-IP listeners (default true); see `clusterWideListeners`. */
  clusterWide?: boolean;
  /** Include SCTP service ports (the kernel forwards them; userspace sockets cannot). */
  sctp?: boolean;
}

/** The result of {@linkcode desiredListeners}. */
export interface ServiceTable {
  /** Keyed by {@linkcode DesiredListener.key}. */
  listeners: Map<string, DesiredListener>;
  /** Listeners left out because an earlier service (oldest first) claimed the same key. */
  conflicts: ListenerConflict[];
}

/** `TCP/addr:port`, `UDP/[v6]:port`. */
export function listenerKey(protocol: string, address: string, port: number): string {
  return `${protocol}/${backendKey({ address, port })}`;
}

/** The ready backends of one service port, in Endpoints order, without duplicates. */
export function backendsFor(
  port: { name?: string; protocol?: string },
  endpoints: Endpoints | undefined,
): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  const protocol = port.protocol ?? "TCP";
  for (const subset of endpoints?.subsets ?? []) {
    const ports = (subset.ports ?? []).filter((p) => (p.protocol ?? "TCP") === protocol);
    // Kubernetes matches by name; an unnamed service port matches the subset's only port.
    const match = ports.find((p) => (p.name ?? "") === (port.name ?? "")) ??
      (ports.length === 1 && !port.name ? ports[0] : undefined);
    if (!match) continue;
    for (const a of subset.addresses ?? []) {
      const b: Backend = a.nodeName
        ? { address: a.ip, port: match.port, nodeName: a.nodeName }
        : { address: a.ip, port: match.port };
      const k = backendKey(b);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(b);
    }
  }
  return out;
}

function creationOrder(a: Service, b: Service): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Computes every listener this node should hold. `endpointsOf(namespace, name)` returns the
 * Service's Endpoints (same name) if any.
 */
export function desiredListeners(
  services: readonly Service[],
  endpointsOf: (namespace: string, name: string) => Endpoints | undefined,
  options: ServiceTableOptions,
): ServiceTable {
  const listeners = new Map<string, DesiredListener>();
  const conflicts: ListenerConflict[] = [];
  for (const svc of [...services].sort(creationOrder)) {
    const spec = svc.spec;
    if (!spec || spec.type === "ExternalName") continue;
    const namespace = svc.metadata.namespace ?? "default";
    const name = svc.metadata.name ?? "";
    const endpoints = endpointsOf(namespace, name);
    const affinityTimeoutSeconds = spec.sessionAffinity === "ClientIP"
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS
      : undefined;
    const clusterWide = options.clusterWide ?? true;
    const clusterIPs = !clusterWide
      ? []
      : (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ""])
        .filter((ip) => ip !== "" && ip !== "None");
    const external = clusterWide ? (spec.externalIPs ?? []).filter(options.isLocalAddress) : [];
    // The load-balancer controller sets the ingress to the external IPs (listened on above) or
    // to every ready node's address: each node serves only its own.
    const ingress = (svc.status?.loadBalancer?.ingress ?? [])
      .map((i) => i.ip ?? "")
      .filter((ip) => ip === options.nodeAddress);
    for (const port of spec.ports ?? []) {
      const protocol = port.protocol ?? "TCP";
      // SCTP only in the kernel: Deno has no SCTP sockets.
      if (protocol === "SCTP" ? !options.sctp : protocol !== "TCP" && protocol !== "UDP") continue;
      const backends = backendsFor(port, endpoints);
      const base = {
        protocol,
        service: { namespace, name, uid: svc.metadata.uid },
        portName: port.name ?? "",
        backends,
        affinityTimeoutSeconds,
        externalTrafficPolicy: spec.externalTrafficPolicy === "Local" ? "Local" : "Cluster",
        internalTrafficPolicy: spec.internalTrafficPolicy === "Local" ? "Local" : "Cluster",
      } as const;
      const wanted: { address: string; port: number; source: ListenerSource }[] = [];
      for (const ip of clusterIPs) {
        wanted.push({ address: ip, port: port.port, source: "clusterIP" });
      }
      if ((spec.type === "NodePort" || spec.type === "LoadBalancer") && port.nodePort) {
        wanted.push({ address: options.nodeAddress, port: port.nodePort, source: "nodePort" });
      }
      for (const ip of external) {
        wanted.push({ address: ip, port: port.port, source: "externalIP" });
      }
      if (spec.type === "LoadBalancer") {
        for (const ip of ingress) {
          wanted.push({ address: ip, port: port.port, source: "loadBalancer" });
        }
      }
      for (const w of wanted) {
        const key = listenerKey(protocol, w.address, w.port);
        const listener: DesiredListener = { key, ...base, ...w, backends: [...backends] };
        const held = listeners.get(key);
        if (!held) {
          listeners.set(key, listener);
        } else if (held.service.namespace !== namespace || held.service.name !== name) {
          conflicts.push({
            listener,
            heldBy: `${held.service.namespace}/${held.service.name}`,
          });
        }
        // The same service asking twice for one key (an external IP equal to the node
        // address, say) needs one socket.
      }
    }
  }
  return { listeners, conflicts };
}
