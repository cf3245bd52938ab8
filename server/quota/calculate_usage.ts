/**
 * What a quota's objects use now, measured from the objects themselves (Kubernetes'
 * quota.CalculateUsage, as the quota controller runs it): for every evaluator that measures one
 * of the quota's hard resources, the sum over the namespace's objects that are in the quota's
 * scopes. Resources no watched kind measures keep their last observed value.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import {
  type Evaluator,
  evaluatorsFor,
  matchesSelectors,
  podChargeEnd,
  podEvaluator,
  quotaSelectors,
} from "./evaluators.ts";
import { add, mask, parseUsage, units, type Usage } from "./resource_list.ts";

/** Where the objects are read from. */
export interface UsageSource {
  /** The objects of the evaluator's kind in `namespace`; undefined while the kind is not known. */
  objects(evaluator: Evaluator, namespace: string): readonly KubeObject[] | undefined;
}

/** A quota's measured usage. */
export interface QuotaUsage {
  /** `status.used` to write: one value per hard resource that has been measured. */
  used: Usage;
  /** The next time a counted pod stops counting on its own (its deletion grace ends). */
  nextChange?: Date;
}

/** Measures `quota` at `now`. */
export function calculateUsage(
  quota: ResourceQuota,
  source: UsageSource,
  now: Date,
): QuotaUsage {
  const namespace = quota.metadata.namespace ?? "";
  const hardNames = Object.keys(quota.spec?.hard ?? {});
  const selectors = quotaSelectors(quota);
  let fresh: Usage = new Map();
  let nextChange: Date | undefined;
  for (const evaluator of evaluatorsFor(hardNames)) {
    const names = evaluator.matchingResources(hardNames);
    if (names.length === 0) continue;
    const objects = source.objects(evaluator, namespace);
    if (!objects) continue;
    // Every measured resource is written, zero when nothing counts toward it.
    let sum: Usage = new Map(names.map((n) => [n, units(0)]));
    for (const obj of objects) {
      if (!matchesSelectors(evaluator, selectors, obj)) continue;
      sum = add(sum, evaluator.usage(obj, now));
      const end = evaluator === podEvaluator ? podChargeEnd(obj) : undefined;
      if (end && end > now && (!nextChange || end < nextChange)) nextChange = end;
    }
    fresh = add(fresh, mask(sum, names));
  }
  const used = parseUsage(quota.status?.used);
  for (const [name, amount] of fresh) used.set(name, amount);
  return { used: mask(used, hardNames), nextChange };
}
