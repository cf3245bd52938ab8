/**
 * The kind-specific strategies Skiff registers: which kinds have a status subresource, what a new
 * Pod, Namespace or workload starts with (a pod's affinity label keys merged into its selectors),
 * and the admission steps that run on create (default tolerations for pods, address allocation
 * for services).
 */
import { qosClass } from "../../shared/api/qos_class.ts";
import { InvalidError } from "../../shared/errors.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { rfc3339 } from "../../shared/time.ts";
import { prepareJobForCreate } from "./batch_strategy.ts";
import { applyMatchLabelKeys } from "./pod_affinity_label_keys.ts";
import { StrategyTable } from "./strategy.ts";
import { refuseSystemPriorityClassDelete } from "../admission/priority.ts";
import { labelWithName, refuseSystemNamespaceDelete } from "./system_namespaces.ts";
import type { StrategyContext } from "./strategy.ts";

/** Service address allocation, provided by the controllers package. */
export interface ServiceAddressAllocator {
  /** Fills clusterIP / nodePorts; throws InvalidError on conflicts. */
  allocate(svc: KubeObject, options: { dryRun: boolean }): void | Promise<void>;
  /** Keeps the allocation of an updated service consistent (type changes, new ports). */
  reallocate?(svc: KubeObject, old: KubeObject, options: { dryRun: boolean }): void | Promise<void>;
  release(svc: KubeObject): void | Promise<void>;
}

/** Hooks the server wires in from other packages. */
export interface StrategyDeps {
  services?: ServiceAddressAllocator;
  /**
   * Mutating admission of a new pod: DefaultTolerationSeconds tolerations, the ServiceAccount
   * (default name, existence, token volume), the priority of its PriorityClass.
   */
  podAdmission?: (pod: KubeObject, ctx: StrategyContext) => void | Promise<void>;
  /** The name of the default StorageClass (DefaultStorageClass admission), if there is one. */
  defaultStorageClass?: () => string | undefined;
  /** The name of the default IngressClass (DefaultIngressClass admission), if there is one. */
  defaultIngressClass?: () => string | undefined;
}

/** The finalizer that keeps a claim while a pod uses it (StorageObjectInUseProtection). */
export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
/** The finalizer that keeps a volume while it is bound to a claim. */
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";

function addFinalizer(obj: KubeObject, finalizer: string): void {
  const list: string[] = obj.metadata.finalizers ?? [];
  if (!list.includes(finalizer)) obj.metadata.finalizers = [...list, finalizer];
}

const WITH_STATUS = [
  "pods",
  "nodes",
  "services",
  "namespaces",
  "replicationcontrollers",
  "deployments",
  "replicasets",
  "daemonsets",
  "statefulsets",
  "persistentvolumes",
  "persistentvolumeclaims",
  "jobs",
  "cronjobs",
  "poddisruptionbudgets",
  "horizontalpodautoscalers",
  "customresourcedefinitions",
  "ingresses",
  "resourcequotas",
];

/** Builds the strategy table. */
export function buildStrategies(deps: StrategyDeps = {}): StrategyTable {
  const table = new StrategyTable();
  for (const r of WITH_STATUS) table.set(r, { statusSubresource: true });

  table.set("pods", {
    async prepareForCreate(pod, ctx) {
      // A new pod's status is the system's to fill in.
      pod.status = { phase: "Pending" };
      if ((pod.spec?.schedulingGates ?? []).length > 0) {
        // As kube-apiserver: a gated pod says why it is not scheduled.
        pod.status.conditions = [{
          type: "PodScheduled",
          status: "False",
          reason: "SchedulingGated",
          message: "Scheduling is blocked due to non-empty scheduling gates",
          lastProbeTime: null,
          lastTransitionTime: rfc3339(new Date()),
        }];
      }
      applyMatchLabelKeys(pod);
      await deps.podAdmission?.(pod, ctx);
      // After admission: LimitRanger may have given containers requests and limits.
      pod.status.qosClass = qosClass(pod.spec ?? {});
    },
  });

  table.set("nodes", {
    prepareForUpdate(node, old) {
      // As Kubernetes' ValidateNodeUpdate: a podCIDR is set once (by the node IPAM controller)
      // and never changed, since the node's pods and the other nodes' routes are built on it.
      const causes = [];
      const was = old.spec?.podCIDR ?? "";
      if (was && (node.spec?.podCIDR ?? "") !== was) {
        causes.push({
          reason: "FieldValueForbidden",
          field: "spec.podCIDR",
          message: `Forbidden: node updates may not change podCIDR except from "" to valid`,
        });
      }
      const wasList = JSON.stringify(old.spec?.podCIDRs ?? []);
      if (wasList !== "[]" && JSON.stringify(node.spec?.podCIDRs ?? []) !== wasList) {
        causes.push({
          reason: "FieldValueForbidden",
          field: "spec.podCIDRs",
          message: `Forbidden: node updates may not change podCIDR except from "" to valid`,
        });
      }
      if (causes.length) {
        throw new InvalidError(
          { kind: "Node", resource: "nodes", name: node.metadata.name },
          causes,
        );
      }
    },
  });

  table.set("namespaces", {
    prepareForCreate(ns) {
      ns.spec = { finalizers: ["kubernetes"], ...ns.spec };
      ns.status = { phase: "Active" };
      labelWithName(ns);
    },
    prepareForUpdate: labelWithName,
    beforeDelete: refuseSystemNamespaceDelete,
  });

  // A workload's status is its controller's to write.
  table.set("jobs", { prepareForCreate: prepareJobForCreate });
  for (
    const r of [
      "deployments",
      "replicasets",
      "replicationcontrollers",
      "daemonsets",
      "statefulsets",
      "cronjobs",
      "poddisruptionbudgets",
      "horizontalpodautoscalers",
      // A quota's status is the quota controller's and ResourceQuota admission's.
      "resourcequotas",
    ]
  ) {
    table.set(r, {
      prepareForCreate(obj) {
        obj.status = {};
      },
    });
  }

  // A volume's and a claim's status is the PV controller's to write; both start Pending.
  // Both get their protection finalizer as the StorageObjectInUseProtection admission plugin
  // adds it; a claim without storageClassName gets the default class (DefaultStorageClass).
  table.set("persistentvolumes", {
    prepareForCreate(pv, ctx: StrategyContext) {
      pv.status = { phase: "Pending", lastPhaseTransitionTime: rfc3339(ctx.now) };
      addFinalizer(pv, PV_PROTECTION_FINALIZER);
    },
  });
  table.set("persistentvolumeclaims", {
    prepareForCreate(pvc) {
      pvc.status = { phase: "Pending" };
      addFinalizer(pvc, PVC_PROTECTION_FINALIZER);
      if (pvc.spec.storageClassName === undefined) {
        const name = deps.defaultStorageClass?.();
        if (name !== undefined) pvc.spec.storageClassName = name;
      }
    },
  });

  // An Ingress's status is its controller's to write. An Ingress naming no class (neither
  // ingressClassName nor the deprecated annotation) gets the default class, as Kubernetes'
  // DefaultIngressClass admission plugin does.
  table.set("ingresses", {
    prepareForCreate(ing) {
      ing.status = { loadBalancer: {} };
      const annotated = ing.metadata.annotations?.["kubernetes.io/ingress.class"];
      if (ing.spec.ingressClassName === undefined && annotated === undefined) {
        const name = deps.defaultIngressClass?.();
        if (name !== undefined) ing.spec.ingressClassName = name;
      }
    },
  });

  // The system PriorityClasses stay (their value and globalDefault are validation's to keep).
  table.set("priorityclasses", { beforeDelete: refuseSystemPriorityClassDelete });

  table.set("services", {
    async prepareForCreate(svc, ctx: StrategyContext) {
      svc.status = { loadBalancer: {} };
      await deps.services?.allocate(svc, { dryRun: ctx.dryRun });
    },
    async prepareForUpdate(svc, old, ctx: StrategyContext) {
      await deps.services?.reallocate?.(svc, old, { dryRun: ctx.dryRun });
    },
    async afterDelete(svc) {
      await deps.services?.release(svc);
    },
  });
  return table;
}
