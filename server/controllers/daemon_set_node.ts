/**
 * Which nodes a DaemonSet's pod belongs on, as kube-controller-manager's daemon controller
 * decides it: `nodeShouldRunDaemonPod` (node name, nodeSelector, required node affinity, and
 * NoSchedule/NoExecute taints against the template's tolerations plus those the controller adds
 * to every daemon pod), the tolerations themselves, and the node affinity on `metadata.name`
 * that pins each daemon pod to its node while the default scheduler binds it.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { Taint, Toleration } from "../scheduler/framework.ts";
import { compileNodeConstraints, matchesNodeConstraints } from "../scheduler/node_selector.ts";
import { findUntoleratedTaint } from "../scheduler/taint_toleration.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const NOT_READY = "node.kubernetes.io/not-ready";
const UNREACHABLE = "node.kubernetes.io/unreachable";

/**
 * The tolerations every daemon pod gets (Kubernetes' `AddOrUpdateDaemonPodTolerations`): it stays
 * on not-ready and unreachable nodes, ignores disk, memory and PID pressure and cordoning, and a
 * host-network pod ignores an unavailable pod network.
 */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: NOT_READY, operator: "Exists", effect: "NoExecute" },
    { key: UNREACHABLE, operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (hostNetwork) {
    t.push({
      key: "node.kubernetes.io/network-unavailable",
      operator: "Exists",
      effect: "NoSchedule",
    });
  }
  return t;
}

/** Adds (or replaces, by key and effect) the daemon tolerations in a pod spec, in place. */
export function addDaemonPodTolerations(spec: Any): void {
  const add = daemonPodTolerations(spec.hostNetwork === true);
  const kept = ((spec.tolerations ?? []) as Toleration[]).filter((t) =>
    !add.some((a) => a.key === t.key && a.effect === t.effect)
  );
  spec.tolerations = [...kept, ...add];
}

/**
 * Replaces the pod's required node affinity with one term selecting `metadata.name` = nodeName
 * (Kubernetes' `ReplaceDaemonSetPodNodeNameNodeAffinity`), keeping the template's other
 * requirements in every term.
 */
export function pinToNode(spec: Any, nodeName: string): void {
  const nameTerm = { key: "metadata.name", operator: "In", values: [nodeName] };
  spec.affinity ??= {};
  spec.affinity.nodeAffinity ??= {};
  const required = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: Any[] = required?.nodeSelectorTerms ?? [];
  const pinned = terms.length === 0
    ? [{ matchFields: [nameTerm] }]
    : terms.map((t) => ({ ...t, matchFields: [nameTerm] }));
  spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: pinned,
  };
}

/** The node a daemon pod is for: its `nodeName`, else the `metadata.name` its affinity pins. */
export function targetNodeName(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: Any[] =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) {
        return f.values[0];
      }
    }
  }
  return undefined;
}

/** A DaemonSet's template compiled once for many nodes. */
export interface DaemonTemplate {
  nodeName?: string;
  constraints: ReturnType<typeof compileNodeConstraints>;
  tolerations: Toleration[];
}

/** Compiles the parts of a DaemonSet's template {@linkcode nodeShouldRunDaemonPod} reads. */
export function daemonTemplate(ds: KubeObject): DaemonTemplate {
  const spec = ds.spec?.template?.spec ?? {};
  const tolerations = [...(spec.tolerations ?? []), ...daemonPodTolerations(spec.hostNetwork)];
  return {
    nodeName: spec.nodeName || undefined,
    constraints: compileNodeConstraints({ metadata: {}, spec }),
    tolerations,
  };
}

/** Whether a node's Ready condition is True. */
function nodeReady(node: KubeObject): boolean {
  return ((node.status?.conditions ?? []) as { type: string; status: string }[])
    .some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Kubernetes' `NodeShouldRunDaemonPod`: `shouldRun` — a daemon pod should be created on the node;
 * `shouldContinueRunning` — an existing one may stay (it tolerates the node's NoExecute taints
 * even if a NoSchedule taint now keeps new ones away). A node that is not Ready but not yet
 * tainted counts as carrying the `not-ready:NoSchedule` taint, as the scheduler refuses it.
 */
export function nodeShouldRunDaemonPod(
  node: KubeObject,
  t: DaemonTemplate,
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const name = node.metadata.name!;
  if (t.nodeName && t.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  const labels = (node.metadata.labels ?? {}) as Record<string, string>;
  if (!matchesNodeConstraints(t.constraints, { name, labels })) {
    return { shouldRun: false, shouldContinueRunning: false };
  }
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  if (!nodeReady(node) && !taints.some((x) => x.key === NOT_READY || x.key === UNREACHABLE)) {
    taints.push({ key: NOT_READY, effect: "NoSchedule" });
  }
  if (!findUntoleratedTaint(taints, t.tolerations, ["NoSchedule", "NoExecute"])) {
    return { shouldRun: true, shouldContinueRunning: true };
  }
  return {
    shouldRun: false,
    shouldContinueRunning: !findUntoleratedTaint(taints, t.tolerations, ["NoExecute"]),
  };
}
