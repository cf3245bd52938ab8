/** The node printer: NAME, STATUS, ROLES, AGE, VERSION and, wide, addresses and node info. */

import type { KubeObject } from "../../../shared/api/object.ts";
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const ROLE_PREFIX = "node-role.kubernetes.io/";
const ROLE_LABEL = "kubernetes.io/role";

/** `Ready`, `NotReady` or `Unknown` (no Ready condition), plus `,SchedulingDisabled` when cordoned. */
export function nodeStatusText(node: KubeObject): string {
  const parts: string[] = [];
  const ready = (node.status?.conditions ?? []).find((c: Any) => c.type === "Ready");
  if (ready) parts.push(ready.status === "True" ? "Ready" : "NotReady");
  else parts.push("Unknown");
  if (node.spec?.unschedulable) parts.push("SchedulingDisabled");
  return parts.join(",");
}

/** Roles from `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`, or `<none>`. */
export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) {
      roles.add(k.slice(ROLE_PREFIX.length));
    } else if (k === ROLE_LABEL && v) {
      roles.add(v);
    }
  }
  return roles.size === 0 ? "<none>" : [...roles].sort().join(",");
}

function address(node: KubeObject, type: string): string {
  return (node.status?.addresses ?? []).find((a: Any) => a.type === type)?.address ?? "<none>";
}

function info(node: KubeObject, field: string): string {
  return node.status?.nodeInfo?.[field] || "<unknown>";
}

/** Nodes. */
export const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE_COLUMN,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "The node's first InternalIP address.", { priority: 1 }),
    col("External-IP", "The node's first ExternalIP address.", { priority: 1 }),
    col("OS-Image", "OS Image reported by the node from /etc/os-release.", { priority: 1 }),
    col("Kernel-Version", "Kernel Version reported by the node from 'uname -r'.", {
      priority: 1,
    }),
    col("Container-Runtime", "Container runtime and version reported by the node.", {
      priority: 1,
    }),
  ],
  row(node, now) {
    return {
      cells: [
        node.metadata.name ?? "",
        nodeStatusText(node),
        nodeRoles(node),
        timestampAge(node.metadata.creationTimestamp, now),
        node.status?.nodeInfo?.kubeletVersion ?? "",
        address(node, "InternalIP"),
        address(node, "ExternalIP"),
        info(node, "osImage"),
        info(node, "kernelVersion"),
        info(node, "containerRuntimeVersion"),
      ],
    };
  },
};
