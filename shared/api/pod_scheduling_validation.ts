/**
 * kube-apiserver's validation of a pod spec's scheduling constraints between pods: pod affinity
 * and anti-affinity terms (`spec.affinity.podAffinity`, `podAntiAffinity`) and
 * `topologySpreadConstraints`, with Kubernetes' field paths and messages.
 */
import { labelKeyErrors, labelValueErrors } from "../labels.ts";
import { dns1123LabelErrors, type FieldErrors } from "./field_errors.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Kubernetes' `isNotPositiveErrorMsg`. */
const NOT_POSITIVE = "must be greater than zero";

/** A label key (`ValidateLabelName`). */
function validateLabelName(key: string, field: string, errs: FieldErrors): void {
  for (const e of labelKeyErrors(key)) errs.invalid(field, key, e);
}

/**
 * The values rule of the set operators of selectors (label and node selectors alike): `In` and
 * `NotIn` need values, `Exists` and `DoesNotExist` take none. False for any other operator.
 */
export function validateSetOperatorValues(
  operator: string,
  values: readonly string[],
  field: string,
  errs: FieldErrors,
): boolean {
  switch (operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) {
        errs.required(`${field}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
      }
      return true;
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0) {
        errs.forbidden(
          `${field}.values`,
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        );
      }
      return true;
    default:
      return false;
  }
}

/** A metav1 LabelSelector (`ValidateLabelSelector`); nothing to check when unset. */
export function validateLabelSelector(
  selector: Obj | undefined | null,
  field: string,
  errs: FieldErrors,
): void {
  if (!selector) return;
  for (const [k, v] of Object.entries((selector.matchLabels ?? {}) as Record<string, string>)) {
    validateLabelName(k, `${field}.matchLabels`, errs);
    for (const e of labelValueErrors(v)) errs.invalid(`${field}.matchLabels`, v, e);
  }
  (selector.matchExpressions as Obj[] | undefined)?.forEach((req, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const values: string[] = req.values ?? [];
    if (!validateSetOperatorValues(req.operator, values, f, errs)) {
      errs.invalid(`${f}.operator`, req.operator, "not a valid selector operator");
    }
    validateLabelName(req.key ?? "", `${f}.key`, errs);
    values.forEach((v, j) => {
      for (const e of labelValueErrors(v)) errs.invalid(`${f}.values[${j}]`, v, e);
    });
  });
}

/** `matchLabelKeys`/`mismatchLabelKeys` of a pod affinity term. */
function validateLabelKeys(
  keys: string[] | undefined,
  selector: Obj | undefined | null,
  field: string,
  errs: FieldErrors,
): void {
  if (!keys || keys.length === 0) return;
  if (!selector) {
    errs.forbidden(field, "must not be specified when labelSelector is not set");
    return;
  }
  keys.forEach((k, i) => validateLabelName(k, `${field}[${i}]`, errs));
}

/** One pod affinity term (`validatePodAffinityTerm`). */
function validatePodAffinityTerm(term: Obj, field: string, errs: FieldErrors): void {
  validateLabelSelector(term.labelSelector, `${field}.labelSelector`, errs);
  validateLabelSelector(term.namespaceSelector, `${field}.namespaceSelector`, errs);
  for (const name of (term.namespaces ?? []) as string[]) {
    // Kubernetes reports these under `namespace`, singular.
    for (const e of dns1123LabelErrors(name)) errs.invalid(`${field}.namespace`, name, e);
  }
  validateLabelKeys(term.matchLabelKeys, term.labelSelector, `${field}.matchLabelKeys`, errs);
  validateLabelKeys(term.mismatchLabelKeys, term.labelSelector, `${field}.mismatchLabelKeys`, errs);
  const mismatch = new Set<string>(term.mismatchLabelKeys ?? []);
  ((term.matchLabelKeys ?? []) as string[]).forEach((k, i) => {
    if (mismatch.has(k)) {
      errs.invalid(
        `${field}.matchLabelKeys[${i}]`,
        k,
        "exists in both matchLabelKeys and mismatchLabelKeys",
      );
    }
  });
  const key: string = term.topologyKey ?? "";
  if (key.length === 0) errs.required(`${field}.topologyKey`, "can not be empty");
  validateLabelName(key, `${field}.topologyKey`, errs);
}

/** `podAffinity` or `podAntiAffinity` under `field`. */
function validatePodAffinity(affinity: Obj | undefined, field: string, errs: FieldErrors): void {
  if (!affinity) return;
  const rf = `${field}.requiredDuringSchedulingIgnoredDuringExecution`;
  (affinity.requiredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined)?.forEach(
    (t, i) => validatePodAffinityTerm(t, `${rf}[${i}]`, errs),
  );
  const pf = `${field}.preferredDuringSchedulingIgnoredDuringExecution`;
  (affinity.preferredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined)?.forEach(
    (w, i) => {
      if (!(w.weight >= 1 && w.weight <= 100)) {
        errs.invalid(`${pf}[${i}].weight`, w.weight, "must be in the range 1-100");
      }
      validatePodAffinityTerm(w.podAffinityTerm ?? {}, `${pf}[${i}].podAffinityTerm`, errs);
    },
  );
}

/** `spec.affinity.podAffinity` and `podAntiAffinity`; `field` is the pod spec's path. */
export function validatePodAffinities(spec: Obj, field: string, errs: FieldErrors): void {
  validatePodAffinity(spec.affinity?.podAffinity, `${field}.affinity.podAffinity`, errs);
  validatePodAffinity(spec.affinity?.podAntiAffinity, `${field}.affinity.podAntiAffinity`, errs);
}

const WHEN_UNSATISFIABLE = ["DoNotSchedule", "ScheduleAnyway"];
const NODE_INCLUSION_POLICIES = ["Honor", "Ignore"];

/** `spec.topologySpreadConstraints` (`validateTopologySpreadConstraints`). */
export function validateTopologySpreadConstraints(
  spec: Obj,
  field: string,
  errs: FieldErrors,
): void {
  const constraints = (spec.topologySpreadConstraints ?? []) as Obj[];
  constraints.forEach((c, i) => {
    const f = `${field}.topologySpreadConstraints[${i}]`;
    if (!(c.maxSkew > 0)) errs.invalid(`${f}.maxSkew`, c.maxSkew, NOT_POSITIVE);
    if (!c.topologyKey) errs.required(`${f}.topologyKey`, "can not be empty");
    if (!WHEN_UNSATISFIABLE.includes(c.whenUnsatisfiable)) {
      errs.notSupported(`${f}.whenUnsatisfiable`, c.whenUnsatisfiable, WHEN_UNSATISFIABLE);
    }
    // {topologyKey, whenUnsatisfiable} names one kind of constraint: no repeats.
    const repeated = constraints.slice(i + 1).some((o) =>
      o.topologyKey === c.topologyKey && o.whenUnsatisfiable === c.whenUnsatisfiable
    );
    if (repeated) {
      errs.duplicate(
        `${f}.{topologyKey, whenUnsatisfiable}`,
        `{${c.topologyKey}, ${c.whenUnsatisfiable}}`,
      );
    }
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (!(c.minDomains > 0)) errs.invalid(`${f}.minDomains`, c.minDomains, NOT_POSITIVE);
      if (c.whenUnsatisfiable !== "DoNotSchedule") {
        errs.invalid(
          `${f}.minDomains`,
          c.minDomains,
          `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${c.whenUnsatisfiable}`,
        );
      }
    }
    for (const policy of ["nodeAffinityPolicy", "nodeTaintsPolicy"]) {
      const v = c[policy];
      if (v !== undefined && v !== null && !NODE_INCLUSION_POLICIES.includes(v)) {
        errs.notSupported(`${f}.${policy}`, v, NODE_INCLUSION_POLICIES);
      }
    }
    const keys = (c.matchLabelKeys ?? []) as string[];
    if (keys.length > 0) {
      const selectorKeys = new Set<string>([
        ...Object.keys(c.labelSelector?.matchLabels ?? {}),
        ...((c.labelSelector?.matchExpressions ?? []) as Obj[]).map((e) => e.key),
      ]);
      if (!c.labelSelector) {
        errs.forbidden(
          `${f}.matchLabelKeys`,
          "must not be specified when labelSelector is not set",
        );
      }
      keys.forEach((k, j) => {
        validateLabelName(k, `${f}.matchLabelKeys[${j}]`, errs);
        if (selectorKeys.has(k)) {
          errs.invalid(
            `${f}.matchLabelKeys[${j}]`,
            k,
            "exists in both matchLabelKeys and labelSelector",
          );
        }
      });
    }
    validateLabelSelector(c.labelSelector, `${f}.labelSelector`, errs);
  });
}
