/**
 * core/v1 PersistentVolume and PersistentVolumeClaim: a piece of storage and a request for one.
 * Skiff runs `hostPath` and `local` volumes (a directory on one node); the other volume sources of
 * Kubernetes are in the schema so that manifests decode, and validation refuses them with a 422.
 */
import { z } from "zod";
import {
  Condition,
  CONDITIONS_PATCH,
  LabelSelector,
  ObjectMeta,
  StringMap,
  Time,
  TypeMeta,
} from "./meta.ts";
import { ResourceList } from "./quantity.ts";
import { NodeSelectorTerm, ObjectReference } from "./core_v1.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind }],
});

/** The access modes of a volume (`kubectl get` prints them as RWO, ROX, RWX, RWOP). */
export const PersistentVolumeAccessMode = z.enum([
  "ReadWriteOnce",
  "ReadOnlyMany",
  "ReadWriteMany",
  "ReadWriteOncePod",
]);
export type PersistentVolumeAccessMode = z.infer<typeof PersistentVolumeAccessMode>;

/** What happens to a volume released by its claim. */
export const PersistentVolumeReclaimPolicy = z.enum(["Retain", "Delete", "Recycle"]);
export type PersistentVolumeReclaimPolicy = z.infer<typeof PersistentVolumeReclaimPolicy>;

/** Whether a volume is a filesystem or a raw block device. */
export const PersistentVolumeMode = z.enum(["Filesystem", "Block"]);

/** The phases of a PersistentVolume. */
export const PersistentVolumePhase = z.enum([
  "Pending",
  "Available",
  "Bound",
  "Released",
  "Failed",
]);
export type PersistentVolumePhase = z.infer<typeof PersistentVolumePhase>;

/**
 * Volume sources of a PersistentVolume Skiff does not run: decoded (loose) so that validation can
 * name them in its refusal instead of dropping them as unknown fields.
 */
export const UNSUPPORTED_PV_SOURCES = [
  "nfs",
  "csi",
  "iscsi",
  "fc",
  "rbd",
  "cephfs",
  "cinder",
  "glusterfs",
  "flexVolume",
  "awsElasticBlockStore",
  "gcePersistentDisk",
  "azureDisk",
  "azureFile",
  "vsphereVolume",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "quobyte",
  "photonPersistentDisk",
  "flocker",
] as const;

const unsupportedSources = Object.fromEntries(
  UNSUPPORTED_PV_SOURCES.map((s) => [s, z.looseObject({}).optional()]),
) as Record<(typeof UNSUPPORTED_PV_SOURCES)[number], z.ZodOptional<z.ZodObject>>;

/** spec.nodeAffinity of a PersistentVolume: the nodes the volume can be reached from. */
export const VolumeNodeAffinity = z.object({
  required: z.object({ nodeSelectorTerms: z.array(NodeSelectorTerm) }).optional(),
});
export type VolumeNodeAffinity = z.infer<typeof VolumeNodeAffinity>;

/** PersistentVolume spec. */
export const PersistentVolumeSpec = z.object({
  capacity: ResourceList.optional(),
  accessModes: z.array(PersistentVolumeAccessMode).optional(),
  claimRef: ObjectReference.optional(),
  // Kubernetes defaults a manually created volume to Retain; provisioned ones take the class's.
  persistentVolumeReclaimPolicy: PersistentVolumeReclaimPolicy.default("Retain"),
  storageClassName: z.string().optional(),
  mountOptions: z.array(z.string()).optional(),
  volumeMode: PersistentVolumeMode.default("Filesystem"),
  nodeAffinity: VolumeNodeAffinity.optional(),
  volumeAttributesClassName: z.string().optional(),
  hostPath: z.object({ path: z.string(), type: z.string().default("") }).optional(),
  local: z.object({ path: z.string(), fsType: z.string().optional() }).optional(),
  ...unsupportedSources,
}).meta({
  id: "io.k8s.api.core.v1.PersistentVolumeSpec",
  description: "The storage a PersistentVolume offers: capacity, access modes, source, nodes.",
});
export type PersistentVolumeSpec = z.infer<typeof PersistentVolumeSpec>;

/** PersistentVolume status (written by the PV controller). */
export const PersistentVolumeStatus = z.object({
  phase: PersistentVolumePhase.default("Pending"),
  message: z.string().optional(),
  reason: z.string().optional(),
  lastPhaseTransitionTime: Time.optional(),
});
export type PersistentVolumeStatus = z.infer<typeof PersistentVolumeStatus>;

/** core/v1 PersistentVolume (cluster-scoped). */
export const PersistentVolume = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: PersistentVolumeSpec.prefault({}),
  status: PersistentVolumeStatus.prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.PersistentVolume",
  description: "PersistentVolume is a piece of storage in the cluster that a claim can bind to.",
  ...gvk("PersistentVolume"),
});
export type PersistentVolume = z.infer<typeof PersistentVolume>;

/** The phases of a PersistentVolumeClaim. */
export const PersistentVolumeClaimPhase = z.enum(["Pending", "Bound", "Lost"]);
export type PersistentVolumeClaimPhase = z.infer<typeof PersistentVolumeClaimPhase>;

const TypedObjectReference = z.object({
  apiGroup: z.string().optional(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

/** PersistentVolumeClaim spec. */
export const PersistentVolumeClaimSpec = z.object({
  accessModes: z.array(PersistentVolumeAccessMode).optional(),
  selector: LabelSelector.optional(),
  resources: z.object({
    limits: ResourceList.optional(),
    requests: ResourceList.optional(),
  }).default({}),
  volumeName: z.string().optional(),
  storageClassName: z.string().optional(),
  volumeMode: PersistentVolumeMode.default("Filesystem"),
  dataSource: TypedObjectReference.optional(),
  dataSourceRef: TypedObjectReference.optional(),
  volumeAttributesClassName: z.string().optional(),
}).meta({
  id: "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
  description: "What a claim asks for: access modes, size, class, selector or a named volume.",
});
export type PersistentVolumeClaimSpec = z.infer<typeof PersistentVolumeClaimSpec>;

/** PersistentVolumeClaim status (written by the PV controller). */
export const PersistentVolumeClaimStatus = z.object({
  phase: PersistentVolumeClaimPhase.default("Pending"),
  accessModes: z.array(PersistentVolumeAccessMode).optional(),
  capacity: ResourceList.optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  allocatedResources: ResourceList.optional(),
  allocatedResourceStatuses: StringMap.optional(),
  currentVolumeAttributesClassName: z.string().optional(),
  modifyVolumeStatus: z.looseObject({}).optional(),
});
export type PersistentVolumeClaimStatus = z.infer<typeof PersistentVolumeClaimStatus>;

/** core/v1 PersistentVolumeClaim. */
export const PersistentVolumeClaim = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: PersistentVolumeClaimSpec.prefault({}),
  status: PersistentVolumeClaimStatus.prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.PersistentVolumeClaim",
  description: "PersistentVolumeClaim is a user's request for a PersistentVolume.",
  ...gvk("PersistentVolumeClaim"),
});
export type PersistentVolumeClaim = z.infer<typeof PersistentVolumeClaim>;
