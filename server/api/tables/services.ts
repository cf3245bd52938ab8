/**
 * Printers for the service family: Services (TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S)), Endpoints
 * (`ip:port` list, ` + N more...` after three) and EndpointSlices.
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, formatLabels, NAME_COLUMN, type Printer } from "./table.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const MAX_ENDPOINTS = 3;

/** `80:31234/TCP,53/UDP`, or `<none>` without ports. */
export function servicePorts(svc: KubeObject): string {
  const ports: Any[] = svc.spec?.ports ?? [];
  if (ports.length === 0) return "<none>";
  return ports.map((p) => {
    const proto = p.protocol ?? "TCP";
    return p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
  }).join(",");
}

function loadBalancerAddresses(svc: KubeObject): string[] {
  const out: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip) out.push(ing.ip);
    else if (ing.hostname) out.push(ing.hostname);
  }
  return out;
}

/** The EXTERNAL-IP cell: external IPs and load-balancer ingress, `<pending>`, or `<none>`. */
export function serviceExternalIP(svc: KubeObject): string {
  const externalIPs: string[] = svc.spec?.externalIPs ?? [];
  switch (svc.spec?.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      // Skiff's load balancer publishes the external IPs as ingress; show each address once.
      const all = [...new Set([...loadBalancerAddresses(svc), ...externalIPs])];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return svc.spec?.externalName ?? "";
    default:
      return "<unknown>";
  }
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The ENDPOINTS cell of an Endpoints object. */
export function formatEndpoints(ep: KubeObject): string {
  const subsets: Any[] = ep.subsets ?? [];
  if (subsets.length === 0) return "<none>";
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses: Any[] = ss.addresses ?? [];
    const ports: Any[] = ss.ports ?? [];
    // Headless services may have no ports: list bare addresses.
    const entries = ports.length === 0
      ? addresses.map((a) => a.ip as string)
      : ports.flatMap((p) => addresses.map((a) => hostPort(a.ip, p.port)));
    for (const e of entries) {
      if (list.length < MAX_ENDPOINTS) list.push(e);
      count++;
    }
  }
  if (list.length === 0) return "<none>";
  const text = list.join(",");
  return count > MAX_ENDPOINTS ? `${text} + ${count - MAX_ENDPOINTS} more...` : text;
}

function capped(items: string[], empty: string): string {
  if (items.length === 0) return empty;
  const text = items.slice(0, MAX_ENDPOINTS).join(",");
  return items.length > MAX_ENDPOINTS ? `${text} + ${items.length - MAX_ENDPOINTS} more...` : text;
}

/** Services. */
export const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Type", "The type of the service: ClusterIP, NodePort, LoadBalancer or ExternalName."),
    col("Cluster-IP", "The IP address of the service, allocated by the master."),
    col("External-IP", "The external addresses of the service."),
    col("Port(s)", "The list of ports exposed by this service."),
    AGE_COLUMN,
    col(
      "Selector",
      "Route service traffic to pods with label keys and values matching this selector.",
      {
        priority: 1,
      },
    ),
  ],
  row(svc, now) {
    return {
      cells: [
        svc.metadata.name ?? "",
        svc.spec?.type ?? "ClusterIP",
        svc.spec?.clusterIP || "<none>",
        serviceExternalIP(svc),
        servicePorts(svc),
        timestampAge(svc.metadata.creationTimestamp, now),
        formatLabels(svc.spec?.selector),
      ],
    };
  },
};

/** Endpoints. */
export const endpointsPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Endpoints", "Endpoints of the service: ready addresses and ports."),
    AGE_COLUMN,
  ],
  row(ep, now) {
    return {
      cells: [
        ep.metadata.name ?? "",
        formatEndpoints(ep),
        timestampAge(ep.metadata.creationTimestamp, now),
      ],
    };
  },
};

/** discovery.k8s.io EndpointSlices. */
export const endpointSlicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("AddressType", "The type of address carried by this EndpointSlice."),
    col("Ports", "The ports exposed by this EndpointSlice."),
    col("Endpoints", "The addresses of the endpoints in this EndpointSlice."),
    AGE_COLUMN,
  ],
  row(slice, now) {
    const ports = (slice.ports ?? []).map((p: Any) =>
      typeof p.port === "number" ? String(p.port) : "<unset>"
    );
    const addresses = (slice.endpoints ?? []).flatMap((e: Any) => e.addresses ?? []);
    return {
      cells: [
        slice.metadata.name ?? "",
        slice.addressType ?? "",
        capped(ports, "<unset>"),
        capped(addresses, "<unset>"),
        timestampAge(slice.metadata.creationTimestamp, now),
      ],
    };
  },
};
