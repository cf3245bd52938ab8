/**
 * Validation of scheduling.k8s.io/v1 PriorityClasses, as kube-apiserver's ValidatePriorityClass
 * and ValidatePriorityClassUpdate: `system-` names are reserved for the known system classes
 * (with their exact value and globalDefault), user classes stay at or below one billion, and
 * `value` and `preemptionPolicy` never change.
 */
import type { FieldErrors } from "./field_errors.ts";
import {
  HIGHEST_USER_DEFINABLE_PRIORITY,
  SYSTEM_PRIORITY_CLASS_PREFIX,
  systemPriorityClasses,
} from "./scheduling_v1.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Why `name` may not carry the system prefix with these fields, or undefined when it may. */
function systemClassError(name: string, value: number, globalDefault: boolean): string | undefined {
  const known = systemPriorityClasses().find((c) => c.metadata.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if ((known.globalDefault ?? false) !== globalDefault) {
    return `globalDefault of ${name} PriorityClass must be ${known.globalDefault ?? false}`;
  }
  return undefined;
}

/** A PriorityClass (create and update). */
export function validatePriorityClass(pc: Obj, errs: FieldErrors): void {
  const name = String(pc.metadata?.name ?? "");
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const why = systemClassError(name, pc.value, pc.globalDefault ?? false);
    if (why) {
      errs.forbidden(
        "metadata.name",
        `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}`,
      );
    }
  } else if (pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.forbidden(
      "value",
      `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
    );
  }
}

/** What may change in a PriorityClass update: neither its value nor its preemptionPolicy. */
export function validatePriorityClassUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  if (next.value !== old.value) errs.forbidden("value", "may not be changed in an update.");
  if (next.preemptionPolicy !== old.preemptionPolicy) {
    errs.invalid("preemptionPolicy", next.preemptionPolicy, "field is immutable");
  }
}
