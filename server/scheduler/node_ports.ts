/**
 * Filter `NodePorts`: a pod's declared host ports must be free on the node. Two uses conflict
 * when protocol and port match and either host IP is the wildcard `0.0.0.0` or both are equal.
 */
import type { FilterPlugin, HostPort } from "./framework.ts";

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
  filter(pod, node) {
    for (const p of pod.hostPorts) {
      if (portConflicts(p, node.usedPorts.get(portKey(p)))) return CONFLICT;
    }
    return null;
  },
};
