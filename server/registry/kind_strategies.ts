/**
 * The kind-specific strategies Skiff registers: which kinds have a status subresource, what a new
 * Pod, Namespace or workload starts with, and the admission steps that run on create (default
 * tolerations for pods, address allocation for services).
 */
import { qosClass } from "../../shared/api/defaults.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { prepareJobForCreate } from "./batch_strategy.ts";
import { StrategyTable } from "./strategy.ts";
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
  /** Adds Kubernetes' DefaultTolerationSeconds tolerations to a new pod. */
  podAdmission?: (pod: KubeObject) => void;
}

const WITH_STATUS = [
  "pods",
  "nodes",
  "services",
  "namespaces",
  "replicationcontrollers",
  "deployments",
  "replicasets",
  "jobs",
  "cronjobs",
  "poddisruptionbudgets",
];

/** Builds the strategy table. */
export function buildStrategies(deps: StrategyDeps = {}): StrategyTable {
  const table = new StrategyTable();
  for (const r of WITH_STATUS) table.set(r, { statusSubresource: true });

  table.set("pods", {
    prepareForCreate(pod) {
      // A new pod's status is the system's to fill in.
      pod.status = { phase: "Pending", qosClass: qosClass(pod.spec ?? {}) };
      deps.podAdmission?.(pod);
    },
  });

  table.set("namespaces", {
    prepareForCreate(ns) {
      ns.spec = { finalizers: ["kubernetes"], ...ns.spec };
      ns.status = { phase: "Active" };
    },
  });

  // A workload's status is its controller's to write.
  table.set("jobs", { prepareForCreate: prepareJobForCreate });
  for (
    const r of [
      "deployments",
      "replicasets",
      "replicationcontrollers",
      "cronjobs",
      "poddisruptionbudgets",
    ]
  ) {
    table.set(r, {
      prepareForCreate(obj) {
        obj.status = {};
      },
    });
  }

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
