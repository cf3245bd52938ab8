/**
 * Validation and defaulting of the RBAC kinds as kube-apiserver's `rbac/validation`: names are
 * path segments, every rule has verbs and either resources (with API groups) or — in
 * ClusterRoles only — non-resource URLs, bindings refer to a Role/ClusterRole of the RBAC group
 * and name User, Group or ServiceAccount subjects; a binding's roleRef never changes.
 */
import { ApiError } from "../errors.ts";
import { selectorFromLabelSelector } from "../labels.ts";
import { dns1123SubdomainErrors, type FieldErrors } from "./field_errors.ts";
import { RBAC_GROUP } from "./rbac_v1.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Kubernetes' IsValidPathSegmentName: the name rule of RBAC objects. */
export function pathSegmentNameErrors(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const c of ["/", "%"]) if (name.includes(c)) errs.push(`may not contain '${c}'`);
  return errs;
}

/**
 * Kubernetes' RBAC defaulting of a binding: an empty or missing roleRef.apiGroup, and a subject's
 * empty or missing apiGroup for User and Group, become the RBAC group. A ServiceAccount's group is
 * the core group, "", which Kubernetes never writes out (`apiGroup,omitempty`): storing it would
 * make the live subjects differ from an applied manifest, and kubectl apply would then report an
 * unchanged binding as "configured".
 */
export function defaultRbacBinding(obj: Obj): void {
  if (obj.roleRef && !obj.roleRef.apiGroup) obj.roleRef.apiGroup = RBAC_GROUP;
  for (const s of (obj.subjects ?? []) as Obj[]) {
    if (s.apiGroup) continue;
    if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC_GROUP;
    else delete s.apiGroup;
  }
}

function validateRules(obj: Obj, errs: FieldErrors, namespaced: boolean): void {
  ((obj.rules ?? []) as Obj[]).forEach((rule, i) => {
    const f = `rules[${i}]`;
    if (!rule.verbs?.length) {
      errs.required(`${f}.verbs`, "verbs must contain at least one value");
    }
    if (rule.nonResourceURLs?.length) {
      if (namespaced) {
        errs.invalid(
          `${f}.nonResourceURLs`,
          rule.nonResourceURLs,
          "namespaced rules cannot apply to non-resource URLs",
        );
      }
      if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) {
        errs.invalid(
          `${f}.nonResourceURLs`,
          rule.nonResourceURLs,
          "rules cannot apply to both regular resources and non-resource URLs",
        );
      }
      return;
    }
    if (!rule.apiGroups?.length) {
      errs.required(`${f}.apiGroups`, "resource rules must supply at least one api group");
    }
    if (!rule.resources?.length) {
      errs.required(`${f}.resources`, "resource rules must supply at least one resource");
    }
  });
}

/** A Role's rules. */
export function validateRole(obj: Obj, errs: FieldErrors): void {
  validateRules(obj, errs, true);
}

/** A ClusterRole's rules and aggregationRule. */
export function validateClusterRole(obj: Obj, errs: FieldErrors): void {
  validateRules(obj, errs, false);
  const agg = obj.aggregationRule;
  if (agg === undefined) return;
  const selectors = (agg.clusterRoleSelectors ?? []) as Obj[];
  if (selectors.length === 0) {
    errs.required(
      "aggregationRule.clusterRoleSelectors",
      "at least one clusterRoleSelector required if aggregationRule is non-nil",
    );
  }
  selectors.forEach((s, i) => {
    try {
      selectorFromLabelSelector(s);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      errs.invalid(`aggregationRule.clusterRoleSelectors[${i}]`, s, e.message);
    }
  });
}

/** A RoleBinding (`namespaced`) or ClusterRoleBinding: its roleRef and subjects. */
export function validateRoleBinding(obj: Obj, errs: FieldErrors, namespaced: boolean): void {
  const ref: Obj = obj.roleRef ?? {};
  if (ref.apiGroup !== RBAC_GROUP) {
    errs.notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]);
  }
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind)) errs.notSupported("roleRef.kind", ref.kind ?? "", kinds);
  if (!ref.name) errs.required("roleRef.name");
  else {
    for (const e of pathSegmentNameErrors(ref.name)) errs.invalid("roleRef.name", ref.name, e);
  }
  ((obj.subjects ?? []) as Obj[]).forEach((s, i) =>
    validateSubject(s, `subjects[${i}]`, errs, namespaced)
  );
}

function validateSubject(s: Obj, f: string, errs: FieldErrors, namespaced: boolean): void {
  if (!s.name) errs.required(`${f}.name`);
  switch (s.kind) {
    case "ServiceAccount":
      if (s.name) {
        for (const e of dns1123SubdomainErrors(s.name)) errs.invalid(`${f}.name`, s.name, e);
      }
      if (s.apiGroup) errs.notSupported(`${f}.apiGroup`, s.apiGroup, [""]);
      if (!namespaced && !s.namespace) errs.required(`${f}.namespace`);
      break;
    case "User":
    case "Group":
      if (s.apiGroup !== RBAC_GROUP) errs.notSupported(`${f}.apiGroup`, s.apiGroup, [RBAC_GROUP]);
      break;
    default:
      errs.notSupported(`${f}.kind`, s.kind, ["ServiceAccount", "User", "Group"]);
  }
}

/** A binding's roleRef is fixed once created (kube-apiserver: "cannot change roleRef"). */
export function validateRoleBindingUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  const a = next.roleRef ?? {};
  const b = old.roleRef ?? {};
  if (a.apiGroup !== b.apiGroup || a.kind !== b.kind || a.name !== b.name) {
    errs.invalid("roleRef", a, "cannot change roleRef");
  }
}
