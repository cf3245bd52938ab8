/**
 * core/v1 ResourceQuota: per-namespace limits on what objects may consume (`spec.hard`), narrowed
 * by `scopes` and a `scopeSelector`; `status.hard` and `status.used` are the system's (the quota
 * controller and ResourceQuota admission, server/quota/). Validation follows kube-apiserver's
 * ValidateResourceQuota, with its messages.
 */
import { z } from "zod";
import { labelKeyErrors } from "../labels.ts";
import type { FieldErrors } from "./field_errors.ts";
import { ObjectMeta, TypeMeta } from "./meta.ts";
import { exactMillis, ResourceList } from "./quantity.ts";

/** A scope a quota may be narrowed to (core/v1 ResourceQuotaScope). */
export const QUOTA_SCOPES = [
  "Terminating",
  "NotTerminating",
  "BestEffort",
  "NotBestEffort",
  "PriorityClass",
  "CrossNamespacePodAffinity",
] as const;
export type QuotaScope = (typeof QUOTA_SCOPES)[number];

/** One requirement of a scope selector: a scope, an operator and, for In/NotIn, values. */
export const ScopedResourceSelectorRequirement = z.object({
  scopeName: z.string(),
  operator: z.string(),
  values: z.array(z.string()).optional(),
}).meta({
  id: "io.k8s.api.core.v1.ScopedResourceSelectorRequirement",
  description: "A scope, an operator (In, NotIn, Exists, DoesNotExist) and the values In and " +
    "NotIn compare with.",
});
export type ScopedResourceSelectorRequirement = z.infer<typeof ScopedResourceSelectorRequirement>;

/** The requirements a scope selector ANDs. */
export const ScopeSelector = z.object({
  matchExpressions: z.array(ScopedResourceSelectorRequirement).optional(),
}).meta({
  id: "io.k8s.api.core.v1.ScopeSelector",
  description: "The AND of the scoped-resource selector requirements.",
});
export type ScopeSelector = z.infer<typeof ScopeSelector>;

/** core/v1 ResourceQuota. */
export const ResourceQuota = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    hard: ResourceList.optional(),
    scopes: z.array(z.string()).optional(),
    scopeSelector: ScopeSelector.optional(),
  }).meta({
    id: "io.k8s.api.core.v1.ResourceQuotaSpec",
    description: "The hard limits to enforce, and the scopes the tracked objects must match.",
  }).optional(),
  status: z.object({
    hard: ResourceList.optional(),
    used: ResourceList.optional(),
  }).meta({
    id: "io.k8s.api.core.v1.ResourceQuotaStatus",
    description: "The enforced hard limits and the observed use.",
  }).optional(),
}).meta({
  id: "io.k8s.api.core.v1.ResourceQuota",
  description: "ResourceQuota sets aggregate quota restrictions enforced per namespace",
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "ResourceQuota" }],
});
export type ResourceQuota = z.infer<typeof ResourceQuota>;

/** The quota resources without a `/` that kube-apiserver knows (its standardQuotaResources). */
const STANDARD_QUOTA_RESOURCES = new Set([
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.storage",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "pods",
  "resourcequotas",
  "services",
  "replicationcontrollers",
  "secrets",
  "persistentvolumeclaims",
  "configmaps",
  "services.nodeports",
  "services.loadbalancers",
]);

/** The resource names without a `/` kube-apiserver knows at all (its standardResources). */
const STANDARD_RESOURCES = new Set([...STANDARD_QUOTA_RESOURCES, "storage"]);

/** Resources counted in whole objects (kube-apiserver's integerResources). */
const INTEGER_RESOURCES = new Set([
  "pods",
  "resourcequotas",
  "services",
  "replicationcontrollers",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "services.nodeports",
  "services.loadbalancers",
]);

/** The pod resources a pod scope may limit (the `pods` count and cpu/memory). */
const POD_COUNT = new Set(["pods"]);
const POD_COMPUTE = new Set([
  "cpu",
  "memory",
  "limits.cpu",
  "limits.memory",
  "requests.cpu",
  "requests.memory",
]);

function isQuotaHugePages(name: string): boolean {
  return name.startsWith("hugepages-") || name.startsWith("requests.hugepages-");
}

/** True for a quota resource name kube-apiserver knows without a domain (IsStandardQuotaResourceName). */
export function isStandardQuotaResourceName(name: string): boolean {
  return STANDARD_QUOTA_RESOURCES.has(name) || isQuotaHugePages(name);
}

/** An extended resource (`example.com/gpu`), counted in whole units (IsExtendedResourceName). */
function isExtendedResourceName(name: string): boolean {
  const native = !name.includes("/") || name.includes("kubernetes.io/");
  if (native || name.startsWith("requests.")) return false;
  return labelKeyErrors(`requests.${name}`).length === 0;
}

/** Whether a scope may narrow a quota on `resource` (IsResourceQuotaScopeValidForResource). */
function scopeValidForResource(scope: string, resource: string): boolean {
  switch (scope) {
    case "Terminating":
    case "NotTerminating":
    case "NotBestEffort":
    case "PriorityClass":
    case "CrossNamespacePodAffinity":
      return POD_COUNT.has(resource) || POD_COMPUTE.has(resource);
    case "BestEffort":
      return POD_COUNT.has(resource);
    default:
      return true;
  }
}

/** kube-apiserver's ValidateResourceQuotaResourceName. */
function validateQuotaResourceName(name: string, field: string, errs: FieldErrors): void {
  const qualified = labelKeyErrors(name);
  for (const e of qualified) errs.invalid(field, name, e);
  if (name.includes("/")) return;
  if (qualified.length === 0 && !STANDARD_RESOURCES.has(name) && !isQuotaHugePages(name)) {
    errs.invalid(field, name, "must be a standard resource type or fully qualified");
  }
  if (!isStandardQuotaResourceName(name)) {
    errs.invalid(field, name, "must be a standard resource for quota");
  }
}

/** kube-apiserver's ValidateResourceQuantityValue: not negative; whole for counted resources. */
function validateQuantityValue(name: string, value: string, field: string, errs: FieldErrors) {
  const millis = exactMillis(value);
  if (millis < 0n) errs.invalid(field, value, "must be greater than or equal to 0");
  if ((INTEGER_RESOURCES.has(name) || isExtendedResourceName(name)) && millis % 1000n !== 0n) {
    errs.invalid(field, value, "must be an integer");
  }
}

function validateResourceList(
  list: Record<string, string> | undefined,
  field: string,
  errs: FieldErrors,
): void {
  for (const name of Object.keys(list ?? {}).sort()) {
    validateQuotaResourceName(name, `${field}[${name}]`, errs);
    validateQuantityValue(name, list![name], `${field}[${name}]`, errs);
  }
}

/**
 * A Go `%#v` of a scope list, as kube-apiserver prints the bad value of its scope errors
 * (`[]core.ResourceQuotaScope{"BestEffort"}`).
 */
function goScopes(scopes: readonly string[] | undefined): string {
  if (!scopes) return "[]core.ResourceQuotaScope(nil)";
  return `[]core.ResourceQuotaScope{${scopes.map((s) => JSON.stringify(s)).join(", ")}}`;
}

/** A Go `%#v` of a scope selector (the bad value of `unsupported scope applied to resource`). */
function goScopeSelector(selector: ScopeSelector): string {
  const exprs = selector.matchExpressions;
  const list = exprs
    ? `[]core.ScopedResourceSelectorRequirement{${
      exprs.map((e) =>
        `core.ScopedResourceSelectorRequirement{ScopeName:${JSON.stringify(e.scopeName)}, ` +
        `Operator:${JSON.stringify(e.operator)}, Values:${
          e.values
            ? `[]string{${e.values.map((v) => JSON.stringify(v)).join(", ")}}`
            : "[]string(nil)"
        }}`
      ).join(", ")
    }}`
    : "[]core.ScopedResourceSelectorRequirement(nil)";
  return `core.ScopeSelector{MatchExpressions:${list}}`;
}

/** Adds `{field, message}` once (kube-apiserver's aggregate message lists each error once). */
function invalidOnce(errs: FieldErrors, field: string, value: string, detail: string): void {
  const message = `Invalid value: ${value}: ${detail}`;
  if (errs.causes.some((c) => c.field === field && c.message === message)) return;
  errs.causes.push({ reason: "FieldValueInvalid", message, field });
}

const CONFLICTING = [["BestEffort", "NotBestEffort"], ["Terminating", "NotTerminating"]];

/** kube-apiserver's validateResourceQuotaScopes. */
function validateScopes(spec: NonNullable<ResourceQuota["spec"]>, errs: FieldErrors): void {
  const scopes = spec.scopes ?? [];
  if (scopes.length === 0) return;
  const hard = Object.keys(spec.hard ?? {}).sort();
  const value = goScopes(spec.scopes);
  for (const scope of scopes) {
    if (!(QUOTA_SCOPES as readonly string[]).includes(scope)) {
      invalidOnce(errs, "spec.scopes", value, "unsupported scope");
    }
    for (const r of hard) {
      if (isStandardQuotaResourceName(r) && !scopeValidForResource(scope, r)) {
        invalidOnce(errs, "spec.scopes", value, "unsupported scope applied to resource");
      }
    }
  }
  for (const pair of CONFLICTING) {
    if (pair.every((s) => scopes.includes(s))) {
      invalidOnce(errs, "spec.scopes", value, "conflicting scopes");
    }
  }
}

const POD_STATE_SCOPES = [
  "BestEffort",
  "NotBestEffort",
  "Terminating",
  "NotTerminating",
  "CrossNamespacePodAffinity",
];

/** kube-apiserver's validateScopedResourceSelectorRequirement (its field paths carry no index). */
function validateScopeSelector(spec: NonNullable<ResourceQuota["spec"]>, errs: FieldErrors): void {
  if (!spec.scopeSelector) return;
  const field = "spec.scopeSelector.matchExpressions";
  const hard = Object.keys(spec.hard ?? {}).sort();
  const seen = new Set<string>();
  for (const req of spec.scopeSelector.matchExpressions ?? []) {
    if (!(QUOTA_SCOPES as readonly string[]).includes(req.scopeName)) {
      invalidOnce(errs, `${field}.scopeName`, JSON.stringify(req.scopeName), "unsupported scope");
    }
    for (const r of hard) {
      if (isStandardQuotaResourceName(r) && !scopeValidForResource(req.scopeName, r)) {
        invalidOnce(
          errs,
          field,
          goScopeSelector(spec.scopeSelector),
          "unsupported scope applied to resource",
        );
      }
    }
    if (POD_STATE_SCOPES.includes(req.scopeName) && req.operator !== "Exists") {
      invalidOnce(
        errs,
        `${field}.operator`,
        JSON.stringify(req.operator),
        "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, " +
          "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, " +
          "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
      );
    }
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          errs.required(
            `${field}.values`,
            "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
          );
        }
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length !== 0) {
          invalidOnce(
            errs,
            `${field}.values`,
            `[]string{${values.map((v) => JSON.stringify(v)).join(", ")}}`,
            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
          );
        }
        break;
      default:
        invalidOnce(
          errs,
          `${field}.operator`,
          JSON.stringify(req.operator),
          "not a valid selector operator",
        );
    }
    seen.add(req.scopeName);
  }
  for (const pair of CONFLICTING) {
    // kube-apiserver prints the quota's `scopes` here, not the selector.
    if (pair.every((s) => seen.has(s))) {
      invalidOnce(errs, field, goScopes(spec.scopes), "conflicting scopes");
    }
  }
}

type Obj = Record<string, unknown>;

/** kube-apiserver's ValidateResourceQuota on a parsed object (spec and status). */
export function validateResourceQuota(obj: Obj, errs: FieldErrors): void {
  const quota = obj as ResourceQuota;
  const spec = quota.spec ?? {};
  validateResourceList(spec.hard, "spec.hard", errs);
  validateScopes(spec, errs);
  validateScopeSelector(spec, errs);
  validateResourceList(quota.status?.hard, "status.hard", errs);
  validateResourceList(quota.status?.used, "status.used", errs);
}

/** kube-apiserver's ValidateResourceQuotaUpdate: the scopes are fixed at create. */
export function validateResourceQuotaUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  const scopes = new Set((next as ResourceQuota).spec?.scopes ?? []);
  const oldScopes = new Set((old as ResourceQuota).spec?.scopes ?? []);
  const same = scopes.size === oldScopes.size && [...scopes].every((s) => oldScopes.has(s));
  if (!same) {
    invalidOnce(
      errs,
      "spec.scopes",
      goScopes((next as ResourceQuota).spec?.scopes),
      "field is immutable",
    );
  }
}
