/**
 * storage.k8s.io/v1 StorageClass: how claims of a class get their volumes (which provisioner,
 * what reclaim policy, whether binding waits for the first pod). Skiff's own provisioner is
 * `skiff.io/local-path`; its default class `local-path` is created at server start.
 */
import { z } from "zod";
import { ObjectMeta, StringMap, TypeMeta } from "./meta.ts";

/** When a claim of the class is bound: at once, or once a pod using it is scheduled. */
export const VolumeBindingMode = z.enum(["Immediate", "WaitForFirstConsumer"]);
export type VolumeBindingMode = z.infer<typeof VolumeBindingMode>;

/** The annotation that marks a StorageClass as the default of claims without a class. */
export const DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

/** allowedTopologies[]: label requirements a provisioned volume's node must meet. */
export const TopologySelectorTerm = z.object({
  matchLabelExpressions: z.array(z.object({
    key: z.string(),
    values: z.array(z.string()),
  })).optional(),
});
export type TopologySelectorTerm = z.infer<typeof TopologySelectorTerm>;

/** storage.k8s.io/v1 StorageClass (cluster-scoped; no spec/status split, as upstream). */
export const StorageClass = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  provisioner: z.string(),
  parameters: StringMap.optional(),
  reclaimPolicy: z.enum(["Delete", "Retain", "Recycle"]).default("Delete"),
  mountOptions: z.array(z.string()).optional(),
  allowVolumeExpansion: z.boolean().optional(),
  volumeBindingMode: VolumeBindingMode.default("Immediate"),
  allowedTopologies: z.array(TopologySelectorTerm).optional(),
}).meta({
  id: "io.k8s.api.storage.v1.StorageClass",
  description: "StorageClass describes how volumes of a class are provisioned and reclaimed.",
  "x-kubernetes-group-version-kind": [
    { group: "storage.k8s.io", version: "v1", kind: "StorageClass" },
  ],
});
export type StorageClass = z.infer<typeof StorageClass>;

/** True when a StorageClass is annotated as the cluster's default. */
export function isDefaultStorageClass(sc: { metadata?: { annotations?: StringMap } }): boolean {
  return sc.metadata?.annotations?.[DEFAULT_STORAGE_CLASS_ANNOTATION] === "true";
}
