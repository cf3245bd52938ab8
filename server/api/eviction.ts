/**
 * The `pods/eviction` subresource (kube-apiserver's EvictionREST): deletes a pod unless that would
 * break its PodDisruptionBudget. A pod that is already finished, pending or being deleted goes
 * without a check; otherwise the one budget selecting it must allow a disruption — then, in one
 * status write, `disruptionsAllowed` is decremented and the pod is recorded in `disruptedPods`
 * (so two evictions never spend the same allowance) before the pod is deleted. A refusal is a 429
 * TooManyRequests, which `kubectl drain` retries every 5 s until the budget allows it.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import {
  ForbiddenError,
  InternalError,
  NotFoundError,
  TooManyRequestsError,
} from "../../shared/errors.ts";
import { selectorFromLabelSelector } from "../../shared/labels.ts";
import type { DeleteOptions, GenericRegistry } from "../registry/generic_registry.ts";
import { withDisruptionTarget } from "../../shared/api/disruption_target.ts";
import { rfc3339 } from "../../shared/time.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** Pods whose eviction no budget can refuse (Kubernetes' canIgnorePDB). */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !!pod.metadata.deletionTimestamp || phase === "Succeeded" || phase === "Failed" ||
    phase === "Pending";
}

/** The budgets in the pod's namespace whose selector selects it. */
function budgetsFor(pdbs: GenericRegistry, pod: KubeObject): KubeObject[] {
  return pdbs.store.list({ namespace: pod.metadata.namespace }).items.filter((pdb) => {
    if (!pdb.spec?.selector) return false;
    try {
      const s = selectorFromLabelSelector(pdb.spec.selector);
      return !s.empty && s.matches(pod.metadata.labels);
    } catch {
      return false;
    }
  });
}

/**
 * Evicts `namespace/name`: checks and spends its budget, then deletes it with `options`.
 * Throws TooManyRequestsError when the budget allows no disruption now.
 */
export async function evictPod(
  pods: GenericRegistry,
  pdbs: GenericRegistry | undefined,
  options: { namespace: string; name: string; deleteOptions: DeleteOptions },
): Promise<void> {
  const { namespace, name } = options;
  const pod = pods.store.find(namespace, name);
  if (!pod) throw new NotFoundError({ resource: "pods", name });
  if (pdbs && !canIgnoreBudget(pod)) {
    const budgets = budgetsFor(pdbs, pod);
    if (budgets.length > 1) {
      throw new InternalError(
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      );
    }
    if (budgets.length === 1) await spendBudget(pdbs, budgets[0], pod, options.deleteOptions);
  }
  // As kube-apiserver: a pod that is still running is told why it goes (DisruptionTarget).
  const phase = pod.status?.phase;
  if (!options.deleteOptions.dryRun && phase !== "Succeeded" && phase !== "Failed") {
    await pods.updateWith(namespace, name, (current) => ({
      ...current,
      status: {
        ...current.status,
        conditions: withDisruptionTarget(
          current.status?.conditions as Obj[] | undefined,
          "EvictionByEvictionAPI",
          "Eviction API: evicting",
          rfc3339(),
        ),
      },
    }), { subresource: "status" });
  }
  await pods.delete(namespace, name, {
    ...options.deleteOptions,
    preconditions: { uid: pod.metadata.uid, ...options.deleteOptions.preconditions },
  });
}

/** Kubernetes' checkAndDecrement, inside one guaranteed status update of the budget. */
async function spendBudget(
  pdbs: GenericRegistry,
  budget: KubeObject,
  pod: KubeObject,
  deleteOptions: DeleteOptions,
): Promise<void> {
  const pdbName = budget.metadata.name!;
  const refuse = (status: Obj) =>
    new TooManyRequestsError("Cannot evict pod as it would violate the pod's disruption budget.", {
      causes: [{
        reason: "DisruptionBudget",
        message: `The disruption budget ${pdbName} needs ${status.desiredHealthy ?? 0} healthy ` +
          `pods and has ${status.currentHealthy ?? 0} currently`,
      }],
    });
  const check = (current: KubeObject): Obj | undefined => {
    const status: Obj = current.status ?? {};
    if ((status.observedGeneration ?? 0) < (current.metadata.generation ?? 0)) {
      throw new TooManyRequestsError(
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {
          causes: [{
            reason: "DisruptionBudget",
            message: `The disruption budget ${pdbName} is still being processed by the server.`,
          }],
        },
      );
    }
    // An unhealthy pod does not count towards the budget: it may go when the budget is met.
    if (!isReady(pod)) {
      const policy = current.spec?.unhealthyPodEvictionPolicy ?? "IfHealthyBudget";
      if (policy === "AlwaysAllow") return undefined;
      if ((status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0)) return undefined;
      throw refuse(status);
    }
    const allowed = status.disruptionsAllowed ?? 0;
    if (allowed < 0) {
      throw new ForbiddenError(
        { resource: "poddisruptionbudgets", group: "policy", name: pdbName },
        "pdb disruptions allowed is negative",
      );
    }
    if (allowed === 0) throw refuse(status);
    return {
      ...status,
      disruptionsAllowed: allowed - 1,
      disruptedPods: { ...status.disruptedPods, [pod.metadata.name!]: rfc3339(new Date()) },
    };
  };
  if (deleteOptions.dryRun) {
    check(budget);
    return;
  }
  // Checked once outside the write too: a pod that needs no allowance writes nothing.
  if (check(budget) === undefined) return;
  await pdbs.updateWith(budget.metadata.namespace, pdbName, (current) => {
    const status = check(current);
    return status ? { ...current, status } : current;
  }, { subresource: "status" });
}
