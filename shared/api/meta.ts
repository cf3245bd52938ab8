/**
 * meta/v1 building blocks shared by every API group: ObjectMeta, OwnerReference, LabelSelector,
 * IntOrString, Condition-like shapes and the list metadata. Each is a zod schema and the type of
 * the same name (`z.infer`).
 *
 * `z.object` strips unknown keys (Kubernetes drops unknown fields); fields marked "loose" keep
 * whatever they are given because Skiff does not interpret them.
 */
import { z } from "zod";

/** An integer or a string (`targetPort: 8080` or `targetPort: http`, `maxSurge: "25%"`). */
export const IntOrString = z.union([z.number().int(), z.string()]).meta({
  id: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
});
export type IntOrString = z.infer<typeof IntOrString>;

/** A string-to-string map (labels, annotations, selectors, ConfigMap data). */
export const StringMap = z.record(z.string(), z.string());
export type StringMap = z.infer<typeof StringMap>;

/** An RFC 3339 timestamp (`2026-01-02T03:04:05Z`); kept as the string the client sent. */
export const Time = z.string();
export type Time = z.infer<typeof Time>;

/** A 32-bit integer field. */
export const Int32 = z.number().int().min(-2147483648).max(2147483647);
/** A 64-bit integer field (JavaScript numbers: safe integers only). */
export const Int64 = z.number().int();

/** metadata.ownerReferences[] — who owns this object (garbage collection, controllers). */
export const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
}).meta({ id: "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference" });
export type OwnerReference = z.infer<typeof OwnerReference>;

/** One metadata.managedFields[] entry (server-side apply bookkeeping). */
export const ManagedFieldsEntry = z.object({
  manager: z.string().optional(),
  operation: z.string().optional(),
  apiVersion: z.string().optional(),
  time: Time.optional(),
  fieldsType: z.string().optional(),
  fieldsV1: z.looseObject({}).optional(),
  subresource: z.string().optional(),
}).meta({ id: "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry" });
export type ManagedFieldsEntry = z.infer<typeof ManagedFieldsEntry>;

/** meta/v1 ObjectMeta: identity, labels, ownership and lifecycle of every object. */
export const ObjectMeta = z.object({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: Int64.optional(),
  creationTimestamp: Time.optional(),
  deletionTimestamp: Time.optional(),
  deletionGracePeriodSeconds: Int64.optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  ownerReferences: z.array(OwnerReference).optional().meta({
    "x-kubernetes-patch-merge-key": "uid",
    "x-kubernetes-patch-strategy": "merge",
  }),
  finalizers: z.array(z.string()).optional().meta({ "x-kubernetes-patch-strategy": "merge" }),
  managedFields: z.array(ManagedFieldsEntry).optional(),
  /** Deprecated and never set by Skiff; accepted so that old manifests decode strictly. */
  selfLink: z.string().optional(),
}).meta({
  id: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
  description:
    "Metadata every persisted object has: name, namespace, labels, annotations, ownership and lifecycle.",
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** metadata of a list response. */
export const ListMeta = z.object({
  resourceVersion: z.string().optional(),
  continue: z.string().optional(),
  remainingItemCount: Int64.optional(),
}).meta({ id: "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta" });
export type ListMeta = z.infer<typeof ListMeta>;

/** One `matchExpressions` term of a LabelSelector. */
export const LabelSelectorRequirement = z.object({
  key: z.string(),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(z.string()).optional(),
});
export type LabelSelectorRequirement = z.infer<typeof LabelSelectorRequirement>;

/** Structured label selector of workload specs (`matchLabels` AND `matchExpressions`). */
export const LabelSelector = z.object({
  matchLabels: StringMap.optional(),
  matchExpressions: z.array(LabelSelectorRequirement).optional(),
}).meta({
  id: "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
  description: "Selects objects by label: matchLabels and matchExpressions are ANDed.",
});
export type LabelSelector = z.infer<typeof LabelSelector>;

/** meta/v1 Condition and the per-kind conditions with the same core fields. */
export const Condition = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: Int64.optional(),
  lastTransitionTime: Time.optional(),
  lastUpdateTime: Time.optional(),
  lastProbeTime: Time.optional(),
  lastHeartbeatTime: Time.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type Condition = z.infer<typeof Condition>;

/** Merge metadata for `conditions` lists (merged by `type` in strategic merge patch). */
export const CONDITIONS_PATCH = {
  "x-kubernetes-patch-merge-key": "type",
  "x-kubernetes-patch-strategy": "merge",
} as const;

/** Patch metadata for lists of objects merged by `name` (containers, env, volumes, ...). */
export const MERGE_BY_NAME = {
  "x-kubernetes-patch-merge-key": "name",
  "x-kubernetes-patch-strategy": "merge",
} as const;

/**
 * The type-meta pair every top-level object carries. Any string parses; validation.ts checks
 * that they name the endpoint's kind (a 400 BadRequest, as the apiserver answers).
 */
export const TypeMeta = {
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
};
