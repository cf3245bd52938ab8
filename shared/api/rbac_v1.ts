/**
 * rbac.authorization.k8s.io/v1: Role and ClusterRole (sets of PolicyRules), RoleBinding and
 * ClusterRoleBinding (who holds a role). The server's RBAC authorizer (server/auth/rbac/) reads
 * them; an `aggregationRule` ClusterRole has its rules filled in by the aggregation controller.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta, TypeMeta } from "./meta.ts";

/** The API group of RBAC objects (and of User/Group subjects). */
export const RBAC_GROUP = "rbac.authorization.k8s.io";

const stringList = z.array(z.string());

/** One rule: verbs on resources (of API groups, optionally by name) or on non-resource URLs. */
export const PolicyRule = z.object({
  verbs: stringList,
  apiGroups: stringList.optional(),
  resources: stringList.optional(),
  resourceNames: stringList.optional(),
  nonResourceURLs: stringList.optional(),
}).meta({
  id: "io.k8s.api.rbac.v1.PolicyRule",
  description: "PolicyRule holds information that describes a policy rule.",
});
export type PolicyRule = z.infer<typeof PolicyRule>;

/** How a ClusterRole's rules are gathered from the ClusterRoles its selectors match. */
export const AggregationRule = z.object({
  clusterRoleSelectors: z.array(LabelSelector).optional(),
}).meta({ id: "io.k8s.api.rbac.v1.AggregationRule" });
export type AggregationRule = z.infer<typeof AggregationRule>;

/** Who a binding grants its role to. */
export const Subject = z.object({
  kind: z.string(),
  apiGroup: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
}).meta({ id: "io.k8s.api.rbac.v1.Subject" });
export type Subject = z.infer<typeof Subject>;

/** The role a binding grants. */
export const RoleRef = z.object({
  apiGroup: z.string().default(RBAC_GROUP),
  kind: z.string(),
  name: z.string(),
}).meta({ id: "io.k8s.api.rbac.v1.RoleRef" });
export type RoleRef = z.infer<typeof RoleRef>;

function gvk(kind: string) {
  return { "x-kubernetes-group-version-kind": [{ group: RBAC_GROUP, version: "v1", kind }] };
}

/** A namespaced set of rules. */
export const Role = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  rules: z.array(PolicyRule).optional(),
}).meta({
  id: "io.k8s.api.rbac.v1.Role",
  description: "Role is a namespaced, logical grouping of PolicyRules.",
  ...gvk("Role"),
});
export type Role = z.infer<typeof Role>;

/** A cluster-wide set of rules, possibly aggregated from other ClusterRoles. */
export const ClusterRole = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  rules: z.array(PolicyRule).optional(),
  aggregationRule: AggregationRule.optional(),
}).meta({
  id: "io.k8s.api.rbac.v1.ClusterRole",
  description: "ClusterRole is a cluster level, logical grouping of PolicyRules.",
  ...gvk("ClusterRole"),
});
export type ClusterRole = z.infer<typeof ClusterRole>;

/** A binding of `kind`: subjects and the role they are granted. */
function binding(kind: string, description: string) {
  return z.object({
    ...TypeMeta,
    metadata: ObjectMeta.default({}),
    subjects: z.array(Subject).optional(),
    roleRef: RoleRef,
  }).meta({ id: `io.k8s.api.rbac.v1.${kind}`, description, ...gvk(kind) });
}

/** Grants a Role or ClusterRole to subjects within one namespace. */
export const RoleBinding = binding(
  "RoleBinding",
  "RoleBinding grants the permissions of a role to subjects in a namespace.",
);
export type RoleBinding = z.infer<typeof RoleBinding>;

/** Grants a ClusterRole to subjects across the cluster. */
export const ClusterRoleBinding = binding(
  "ClusterRoleBinding",
  "ClusterRoleBinding grants the permissions of a ClusterRole cluster-wide.",
);
export type ClusterRoleBinding = z.infer<typeof ClusterRoleBinding>;
