/**
 * The decision of the ResourceQuota admission plugin for one write (Kubernetes' CheckRequest):
 * given the namespace's quotas, either the quotas with the write's cost added to `status.used`
 * or a 403 in kube-apiserver's words. Pure: the plugin (server/admission/resource_quota.ts)
 * stores the result.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import { type Evaluator, type Operation, quotaMatches } from "./evaluators.ts";
import {
  add,
  exceeded,
  formatUsage,
  mask,
  negatives,
  parseUsage,
  prettyPrint,
  removeZeros,
  subtractNonNegative,
  type Usage,
} from "./resource_list.ts";

/** The write being admitted. */
export interface QuotaRequest {
  operation: Operation;
  /** Plural resource and group, for the refusal's subject (`pods`, `deployments.apps`). */
  resource: string;
  group: string;
  /** The object's name, for the refusal (`pods "web" is forbidden: ...`). */
  name: string;
  object: KubeObject;
  /** The stored object, on UPDATE. */
  oldObject?: KubeObject;
}

/**
 * The quotas after `request` (a quota the write does not touch is returned as it was, the same
 * object), or a ForbiddenError: a quota needs something the object does not say (`failed quota`),
 * has not been measured yet (`status unknown for quota`), or would go over its hard limit
 * (`exceeded quota`).
 */
export function checkRequest(
  quotas: readonly ResourceQuota[],
  request: QuotaRequest,
  evaluator: Evaluator,
  now: Date,
): ResourceQuota[] {
  if (!evaluator.handles(request.operation)) return [...quotas];
  const forbid = (detail: string) =>
    new ForbiddenError(
      { resource: request.resource, group: request.group, name: request.name },
      detail,
    );
  const input = request.object;
  const interesting: number[] = [];
  quotas.forEach((quota, i) => {
    if (!quotaMatches(evaluator, quota, input)) return;
    const restricted = evaluator.matchingResources(Object.keys(quota.status?.hard ?? {}));
    const unmet = evaluator.constraints(restricted, input);
    if (unmet) throw forbid(`failed quota: ${quota.metadata.name}: ${unmet}`);
    const used = quota.status?.used ?? {};
    if (restricted.some((r) => used[r] === undefined)) {
      throw forbid(
        `status unknown for quota: ${quota.metadata.name}, resources: ${
          [...restricted].sort().join(",")
        }`,
      );
    }
    interesting.push(i);
  });
  if (interesting.length === 0) return [...quotas];

  const inputUsage = evaluator.usage(input, now);
  const negative = negatives(inputUsage);
  if (negative.length > 0) {
    throw forbid(`quota usage is negative for resource(s): ${negative.join(",")}`);
  }
  // On update, a quota that already held the old object is charged the growth only.
  const deltas = new Map<number, Usage>(interesting.map((i) => [i, inputUsage]));
  const old = request.operation === "UPDATE" ? request.oldObject : undefined;
  if (old) {
    const growth = subtractNonNegative(inputUsage, evaluator.usage(old, now));
    for (const i of interesting) {
      if (quotaMatches(evaluator, quotas[i], old)) deltas.set(i, growth);
    }
  }

  const out = [...quotas];
  for (const i of interesting) {
    const delta = removeZeros(deltas.get(i)!);
    if (delta.size === 0) continue;
    const quota = quotas[i];
    const hard = parseUsage(quota.status?.hard);
    const used = parseUsage(quota.status?.used);
    const requested = mask(delta, hard.keys());
    const next = add(used, requested);
    const over = exceeded(mask(next, requested.keys()), hard);
    if (over.length > 0) {
      throw forbid(
        `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrint(mask(requested, over))}` +
          `, used: ${prettyPrint(mask(used, over))}, limited: ${prettyPrint(mask(hard, over))}`,
      );
    }
    out[i] = { ...quota, status: { ...quota.status, used: formatUsage(next) } };
  }
  return out;
}
