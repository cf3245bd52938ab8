/**
 * Pod sysctls as the kubelet admits them: the safe set (Kubernetes 1.32's, namespaced and
 * isolated per pod) is always allowed; any other sysctl only when the agent allows it by name
 * or `prefix.*` pattern (`--allowed-unsafe-sysctls`, as the kubelet's flag) and it is namespaced.
 * Allowed sysctls are set on the pod's sandbox, whose network and IPC namespaces every
 * container joins.
 */

import type { Pod } from "./pod_types.ts";

/** The kubelet's safe sysctls (pkg/kubelet/sysctl/safe_sysctls.go, Kubernetes 1.32). */
export const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];

/** The namespaced sysctl groups: IPC namespace ones, then network namespace ones. */
const IPC_PREFIXES = ["kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."];
const NET_PREFIX = "net.";

/** True when `name` (a sysctl or a `prefix.*` pattern) is namespaced, so a pod may set it. */
export function isNamespacedSysctl(name: string): boolean {
  const n = name.endsWith("*") ? name.slice(0, -1) : name;
  return n.startsWith(NET_PREFIX) || IPC_PREFIXES.some((p) => n.startsWith(p));
}

function matches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/**
 * Why the node refuses the pod's sysctls (the kubelet's `forbidden sysctl: …` admission
 * message), or undefined when it may run. Names may use `/` for `.` as in Kubernetes.
 */
export function forbiddenSysctl(
  pod: Pod,
  allowedUnsafe: readonly string[] = [],
): string | undefined {
  for (const s of pod.spec.securityContext?.sysctls ?? []) {
    const name = s.name.replaceAll("/", ".");
    const allowed = SAFE_SYSCTLS.includes(name) ||
      (isNamespacedSysctl(name) && allowedUnsafe.some((p) => matches(p, name)));
    if (!allowed) return `forbidden sysctl: "${name}" not allowlisted`;
    if (pod.spec.hostNetwork && name.startsWith(NET_PREFIX)) {
      return `forbidden sysctl: "${name}" not allowed with host net enabled`;
    }
    if (pod.spec.hostIPC && IPC_PREFIXES.some((p) => name.startsWith(p))) {
      return `forbidden sysctl: "${name}" not allowed with host ipc enabled`;
    }
  }
  return undefined;
}

/** Docker's `HostConfig.Sysctls` for the pod's sandbox. */
export function sandboxSysctls(pod: Pod): Record<string, string> | undefined {
  const list = pod.spec.securityContext?.sysctls ?? [];
  if (list.length === 0) return undefined;
  return Object.fromEntries(list.map((s) => [s.name.replaceAll("/", "."), s.value]));
}
