/**
 * Kubernetes' Priority admission plugin:
 * - on pod create, `priorityClassName` resolves to `spec.priority` and `spec.preemptionPolicy`;
 *   a pod naming no class gets the global default class (its name too) or priority 0 — an
 *   unknown class is a 403 (`no PriorityClass with name X was found`), and a pod that sets a
 *   `priority` or `preemptionPolicy` of its own that disagrees with its class is refused;
 * - on PriorityClass create and update, only one class may be the global default;
 * - the system classes (`system-node-critical`, `system-cluster-critical`) cannot be deleted.
 *
 * The system classes are allowed in every namespace, as in Kubernetes since 1.17 (a ResourceQuota
 * with a PriorityClass scope may count and limit them).
 */
import type { KubeObject } from "../../shared/api/object.ts";
import {
  DEFAULT_PRIORITY,
  defaultPriorityClass,
  type PreemptionPolicy,
  type PriorityClass,
  systemPriorityClasses,
} from "../../shared/api/scheduling_v1.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import type { AdmissionPlugin } from "./admission.ts";

/** Where the plugin reads PriorityClasses from. */
export interface PriorityAdmissionDeps {
  /** Every PriorityClass (the server's cache). */
  priorityClasses(): readonly PriorityClass[];
  /** The PriorityClass of this name, if there is one. */
  priorityClass(name: string): PriorityClass | undefined;
}

interface PodShape {
  metadata: { name?: string };
  spec: { priorityClassName?: string; priority?: number; preemptionPolicy?: PreemptionPolicy };
}

/**
 * The mutating step run on every new pod (after the pod's name is known; `requestedName` is the
 * name a refusal gives, as for ServiceAccount admission).
 */
export function podPriorityAdmission(
  deps: PriorityAdmissionDeps,
): (pod: KubeObject, requestedName?: string) => void {
  return (obj, requestedName) => {
    const pod = obj as unknown as PodShape;
    const spec = pod.spec;
    const forbid = (detail: string) =>
      new ForbiddenError({ resource: "pods", name: requestedName ?? pod.metadata.name }, detail);
    let priority = DEFAULT_PRIORITY;
    let policy: PreemptionPolicy | undefined;
    if (!spec.priorityClassName) {
      const dflt = defaultPriorityClass(deps.priorityClasses());
      if (dflt) {
        spec.priorityClassName = dflt.metadata.name;
        priority = dflt.value;
        policy = dflt.preemptionPolicy;
      }
    } else {
      const name = spec.priorityClassName;
      const pc = deps.priorityClass(name);
      if (!pc) throw forbid(`no PriorityClass with name ${name} was found`);
      priority = pc.value;
      policy = pc.preemptionPolicy;
    }
    if (spec.priority !== undefined && spec.priority !== priority) {
      throw forbid(
        `the integer value of priority (${spec.priority}) must not be provided in pod spec; ` +
          `priority admission controller computed ${priority} from the given PriorityClass name`,
      );
    }
    spec.priority = priority;
    if (policy !== undefined) {
      if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== policy) {
        throw forbid(
          `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided ` +
            `in pod spec; priority admission controller computed ${policy} from the given ` +
            `PriorityClass name`,
        );
      }
      spec.preemptionPolicy = policy;
    }
    // As the pod defaults Kubernetes applies: a pod without a class may still preempt.
    spec.preemptionPolicy ??= "PreemptLowerPriority";
  };
}

/** The validating step on PriorityClass writes: at most one global default. */
export function priorityClassAdmission(
  deps: Pick<PriorityAdmissionDeps, "priorityClasses">,
): AdmissionPlugin {
  return (attrs) => {
    if (attrs.resource !== "priorityclasses" || attrs.group !== "scheduling.k8s.io") return;
    const pc = attrs.object as unknown as PriorityClass;
    if (!pc.globalDefault) return;
    const dflt = defaultPriorityClass(deps.priorityClasses());
    if (!dflt) return;
    if (attrs.operation === "CREATE" || dflt.metadata.name !== pc.metadata.name) {
      throw new ForbiddenError(
        { resource: "priorityclasses", group: "scheduling.k8s.io", name: pc.metadata.name },
        `PriorityClass ${dflt.metadata.name} is already marked as default. Only one default can exist`,
      );
    }
  };
}

/** Refuses to delete a system class, as kube-apiserver's PriorityClass storage does. */
export function refuseSystemPriorityClassDelete(name: string): void {
  if (systemPriorityClasses().some((c) => c.metadata.name === name)) {
    throw new ForbiddenError(
      { resource: "priorityclasses", group: "scheduling.k8s.io", name },
      "this is a system priority class and cannot be deleted",
    );
  }
}
