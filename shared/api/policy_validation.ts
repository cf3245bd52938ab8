/**
 * Validation of policy/v1 PodDisruptionBudgets (kube-apiserver's
 * ValidatePodDisruptionBudgetSpec): one of minAvailable and maxUnavailable, each a non-negative
 * integer or a percentage up to 100%, and a valid selector.
 */
import { ApiError } from "../errors.ts";
import { selectorFromLabelSelector } from "../labels.ts";
import type { FieldErrors } from "./field_errors.ts";
import { validateLabels } from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function validateIntOrPercent(v: unknown, field: string, errs: FieldErrors): void {
  if (v === undefined) return;
  if (typeof v === "number") {
    if (v < 0) errs.invalid(field, v, "must be greater than or equal to 0");
    return;
  }
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) {
    errs.invalid(
      field,
      v,
      "a valid percent string must be a numeric string followed by an ending '%'",
    );
  } else if (Number(m[1]) > 100) {
    errs.invalid(field, v, "must not be greater than 100%");
  }
}

/** A PodDisruptionBudget's rules. */
export function validatePodDisruptionBudget(pdb: Obj, errs: FieldErrors): void {
  const spec = pdb.spec ?? {};
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    errs.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set");
  }
  validateIntOrPercent(spec.minAvailable, "spec.minAvailable", errs);
  validateIntOrPercent(spec.maxUnavailable, "spec.maxUnavailable", errs);
  if (spec.selector) {
    validateLabels(spec.selector.matchLabels, "spec.selector.matchLabels", errs);
    try {
      selectorFromLabelSelector(spec.selector);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      errs.invalid("spec.selector", spec.selector, e.message);
    }
  }
}
