/**
 * Kubernetes' ResourceQuota admission plugin: a create (or an update that changes what the object
 * costs: a Service's type, a claim's storage) in a namespace with ResourceQuotas is refused with a
 * 403 in kube-apiserver's words when it would take a quota over its hard limit, when a pod leaves
 * out cpu/memory a quota tracks, or while a quota has not been measured; otherwise the cost is
 * added to each covering quota's `status.used` before the object is stored.
 *
 * Consistency: the decision and the charge are one compare-and-swap write of the quota's status,
 * re-decided against the stored quota when another write got there first (another server
 * included), so two writes can never both take the last unit. Writes to one namespace are also
 * decided one at a time in this process. A charge whose object is then not stored (the name is
 * taken, the update lost a race) is taken back through the registry's undo steps; the quota
 * controller measures usage from the objects and corrects whatever is left over.
 */
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { isNotFound } from "../../shared/errors.ts";
import { KeyedLock } from "../../shared/keyed_lock.ts";
import {
  checkRequest,
  equalUsage,
  evaluatorFor,
  formatUsage,
  parseUsage,
  type QuotaRequest,
  subtractNonNegative,
  type Usage,
} from "../quota/mod.ts";
import type { AdmissionPlugin } from "./admission.ts";

/** Where the plugin reads and charges quotas. */
export interface ResourceQuotaAdmissionDeps {
  /** The ResourceQuotas of a namespace (the server's cache, which has this server's writes). */
  quotas(namespace: string): readonly ResourceQuota[];
  /**
   * Writes a quota's status by compare-and-swap: `update` maps the stored quota (read again after
   * a conflicting write) to the new one, or to null to leave it; what it throws fails the write.
   * Throws a NotFound error when the quota is gone.
   */
  updateStatus(
    namespace: string,
    name: string,
    update: (current: ResourceQuota) => ResourceQuota | null,
  ): Promise<void>;
  /** The time pods are measured at (default: now). */
  now?: () => Date;
}

/** The ResourceQuota validating admission plugin (run last, as kube-apiserver orders it). */
export function resourceQuotaAdmission(deps: ResourceQuotaAdmissionDeps): AdmissionPlugin {
  const lock = new KeyedLock();
  const now = deps.now ?? (() => new Date());
  return async (attrs) => {
    const namespace = attrs.namespace;
    // Cluster-scoped kinds and a namespace's own creation are not in any namespace's quota.
    if (!namespace || (attrs.group === "" && attrs.resource === "namespaces")) return;
    const evaluator = evaluatorFor(attrs.group, attrs.resource);
    if (!evaluator?.handles(attrs.operation)) return;
    if (deps.quotas(namespace).length === 0) return;
    // The attributes carry everything the decision reads.
    const request: QuotaRequest = attrs;
    await lock.run(namespace, async () => {
      const quotas = byName(deps.quotas(namespace));
      const decided = checkRequest(quotas, request, evaluator, now());
      // A dry run is decided as a real one, and charges nothing.
      if (attrs.dryRun) return;
      const charged: { name: string; delta: Usage }[] = [];
      try {
        for (let i = 0; i < quotas.length; i++) {
          if (decided[i] === quotas[i]) continue;
          const name = quotas[i].metadata.name!;
          const delta = await charge(
            deps,
            namespace,
            name,
            (current) => checkRequest([current], request, evaluator, now())[0],
          );
          if (delta) charged.push({ name, delta });
        }
      } catch (e) {
        await release(deps, namespace, charged);
        throw e;
      }
      if (charged.length > 0) {
        attrs.undo?.push(() => lock.run(namespace, () => release(deps, namespace, charged)));
      }
    });
  };
}

function byName(quotas: readonly ResourceQuota[]): ResourceQuota[] {
  return [...quotas].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
}

/**
 * Adds the write's cost to one quota, deciding again on the stored quota; returns what was added
 * (undefined when the quota is gone or no longer covers the write).
 */
async function charge(
  deps: ResourceQuotaAdmissionDeps,
  namespace: string,
  name: string,
  decide: (current: ResourceQuota) => ResourceQuota,
): Promise<Usage | undefined> {
  let delta: Usage | undefined;
  try {
    await deps.updateStatus(namespace, name, (current) => {
      const next = decide(current);
      if (next === current) {
        delta = undefined;
        return null;
      }
      const before = parseUsage(current.status?.used);
      delta = subtractNonNegative(parseUsage(next.status?.used), before);
      return next;
    });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  return delta;
}

/** Takes charges back (best effort: the quota controller corrects what this misses). */
async function release(
  deps: ResourceQuotaAdmissionDeps,
  namespace: string,
  charged: readonly { name: string; delta: Usage }[],
): Promise<void> {
  for (const { name, delta } of charged) {
    await deps.updateStatus(namespace, name, (current) => {
      const used = parseUsage(current.status?.used);
      const next = subtractNonNegative(used, delta);
      // Only the names the quota still tracks: subtracting adds the delta's names at zero.
      for (const n of [...next.keys()]) if (!used.has(n)) next.delete(n);
      if (equalUsage(next, used)) return null;
      return { ...current, status: { ...current.status, used: formatUsage(next) } };
    }).catch(() => {});
  }
}
