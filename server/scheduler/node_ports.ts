/**
 * Filter `NodePorts`: a pod's declared host ports must be free on the node. Two uses conflict
 * when protocol and port match and either host IP is the wildcard `0.0.0.0` or both are equal.
 */
import type { FilterPlugin, HostPort, NodeInfo, Resources } from "./framework.ts";

const CONFLICT = ["node(s) didn't have free ports for the requested pod ports"] as const;

/** `protocol/port`: the key of {@linkcode NodeInfo.usedPorts}. */
export function portKey(p: HostPort): string {
  return `${p.protocol}/${p.port}`;
}

/** Whether `wanted` collides with host IPs already using the same protocol/port. */
export function portConflicts(wanted: HostPort, usedIps: readonly string[] | undefined): boolean {
  if (!usedIps || usedIps.length === 0) return false;
  if (wanted.hostIP === "0.0.0.0") return true;
  return usedIps.some((ip) => ip === "0.0.0.0" || ip === wanted.hostIP);
}

/** Rejects nodes where one of the pod's host ports is taken. */
export const nodePorts: FilterPlugin = {
  name: "NodePorts",
  events: ["Node", "AssignedPodDelete"],
  filter(pod, node) {
    for (const p of pod.hostPorts) {
      if (portConflicts(p, node.usedPorts.get(portKey(p)))) return CONFLICT;
    }
    return null;
  },
};

/** The part of a node's info a pod's placement changes: requested resources and host ports. */
type Usage = Pick<NodeInfo, "requested" | "usedPorts">;

const RESOURCES = ["milliCpu", "memory", "ephemeralStorage", "pods"] as const;

/** A copy of the node whose requested resources and host ports can be changed. */
export function copyUsage(node: NodeInfo): NodeInfo {
  return {
    ...node,
    requested: { ...node.requested },
    usedPorts: new Map([...node.usedPorts].map(([k, ips]) => [k, [...ips]])),
  };
}

/** Counts a pod's requests (one pod) and host ports on the node. */
export function addUsage(node: Usage, requests: Resources, hostPorts: readonly HostPort[]): void {
  for (const r of RESOURCES) node.requested[r] += requests[r];
  for (const p of hostPorts) {
    const k = portKey(p);
    const ips = node.usedPorts.get(k);
    if (ips) ips.push(p.hostIP);
    else node.usedPorts.set(k, [p.hostIP]);
  }
}

/** Takes a pod's requests and host ports off the node again. */
export function removeUsage(
  node: Usage,
  requests: Resources,
  hostPorts: readonly HostPort[],
): void {
  for (const r of RESOURCES) node.requested[r] -= requests[r];
  for (const p of hostPorts) {
    const k = portKey(p);
    const ips = node.usedPorts.get(k);
    if (!ips) continue;
    const i = ips.indexOf(p.hostIP);
    if (i >= 0) ips.splice(i, 1);
    if (ips.length === 0) node.usedPorts.delete(k);
  }
}
