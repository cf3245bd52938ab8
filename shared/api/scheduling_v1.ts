/**
 * scheduling.k8s.io/v1 PriorityClass: a name for a pod priority (`value`), whether pods naming no
 * class get it (`globalDefault`) and whether its pods may preempt lower-priority ones
 * (`preemptionPolicy`). The two system classes Kubernetes ships, `system-node-critical` and
 * `system-cluster-critical`, are created at server start and are the only names allowed the
 * reserved `system-` prefix.
 */
import { z } from "zod";
import { Int32, ObjectMeta, TypeMeta } from "./meta.ts";

/** Whether a pod may preempt lower-priority pods to be scheduled (core/v1 PreemptionPolicy). */
export const PreemptionPolicy = z.enum(["PreemptLowerPriority", "Never"]);
export type PreemptionPolicy = z.infer<typeof PreemptionPolicy>;

/** The names with this prefix are reserved for the system classes. */
export const SYSTEM_PRIORITY_CLASS_PREFIX = "system-";
/** The highest value a user-defined PriorityClass may have (one billion). */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
/** The value of `system-cluster-critical`; `system-node-critical` is 1000 above it. */
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/** The priority of a pod that names no class when no class is the global default. */
export const DEFAULT_PRIORITY = 0;

/** scheduling.k8s.io/v1 PriorityClass (cluster-scoped; no spec/status split, as upstream). */
export const PriorityClass = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  value: Int32,
  globalDefault: z.boolean().optional(),
  description: z.string().optional(),
  preemptionPolicy: PreemptionPolicy.default("PreemptLowerPriority"),
}).meta({
  id: "io.k8s.api.scheduling.v1.PriorityClass",
  description:
    "PriorityClass defines mapping from a priority class name to the priority integer value.",
  "x-kubernetes-group-version-kind": [
    { group: "scheduling.k8s.io", version: "v1", kind: "PriorityClass" },
  ],
});
export type PriorityClass = z.infer<typeof PriorityClass>;

function systemClass(name: string, value: number, description: string): PriorityClass {
  return {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name },
    value,
    globalDefault: false,
    description,
    preemptionPolicy: "PreemptLowerPriority",
  } as PriorityClass;
}

/** The system classes, as kube-apiserver creates them at start. */
export function systemPriorityClasses(): PriorityClass[] {
  return [
    systemClass(
      "system-node-critical",
      SYSTEM_CRITICAL_PRIORITY + 1000,
      "Used for system critical pods that must not be moved from their current node.",
    ),
    systemClass(
      "system-cluster-critical",
      SYSTEM_CRITICAL_PRIORITY,
      "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
  ];
}

/** The global default class among `classes`: the lowest-valued one marked, as Kubernetes. */
export function defaultPriorityClass(
  classes: readonly PriorityClass[],
): PriorityClass | undefined {
  let best: PriorityClass | undefined;
  for (const c of classes) {
    if (c.globalDefault && (!best || c.value < best.value)) best = c;
  }
  return best;
}

/** A pod's priority: `spec.priority`, else 0 (a pod admitted before priorities existed). */
export function podPriority(pod: { metadata: unknown; spec?: { priority?: number } }): number {
  return pod.spec?.priority ?? DEFAULT_PRIORITY;
}
