/**
 * apps/v1 kinds: Deployment, ReplicaSet, DaemonSet, StatefulSet and ControllerRevision (the
 * template history DaemonSets and StatefulSets keep). Defaults that depend on a strategy's type
 * (a Deployment's 25%/25%, a DaemonSet's maxUnavailable 1, a StatefulSet's partition 0) are
 * applied in defaults.ts.
 */
import { z } from "zod";
import {
  Condition,
  CONDITIONS_PATCH,
  Int32,
  Int64,
  IntOrString,
  LabelSelector,
  ObjectMeta,
  TypeMeta,
} from "./meta.ts";
import { PodTemplateSpec } from "./core_v1.ts";
import { PersistentVolumeClaim } from "./persistent_volume.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "apps", version: "v1", kind }],
});

/** spec.strategy of a Deployment. */
export const DeploymentStrategy = z.object({
  type: z.enum(["RollingUpdate", "Recreate"]).default("RollingUpdate"),
  rollingUpdate: z.object({
    maxUnavailable: IntOrString.optional(),
    maxSurge: IntOrString.optional(),
  }).optional(),
});
export type DeploymentStrategy = z.infer<typeof DeploymentStrategy>;

/** Deployment spec. */
export const DeploymentSpec = z.object({
  replicas: Int32.default(1),
  selector: LabelSelector,
  template: PodTemplateSpec.prefault({}),
  // retainKeys: kubectl apply then sends `$retainKeys`, so switching to Recreate drops the
  // defaulted rollingUpdate instead of failing validation.
  strategy: DeploymentStrategy.prefault({}).meta({ "x-kubernetes-patch-strategy": "retainKeys" }),
  minReadySeconds: Int32.default(0),
  revisionHistoryLimit: Int32.default(10),
  paused: z.boolean().optional(),
  progressDeadlineSeconds: Int32.default(600),
}).meta({
  id: "io.k8s.api.apps.v1.DeploymentSpec",
  description: "The desired state of a Deployment.",
});
export type DeploymentSpec = z.infer<typeof DeploymentSpec>;

/** Deployment status, written by the deployment controller. */
export const DeploymentStatus = z.object({
  observedGeneration: Int64.optional(),
  replicas: Int32.optional(),
  updatedReplicas: Int32.optional(),
  readyReplicas: Int32.optional(),
  availableReplicas: Int32.optional(),
  unavailableReplicas: Int32.optional(),
  terminatingReplicas: Int32.optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  collisionCount: Int32.optional(),
});
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

/** apps/v1 Deployment. */
export const Deployment = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: DeploymentSpec,
  status: DeploymentStatus.default({}),
}).meta({
  id: "io.k8s.api.apps.v1.Deployment",
  description:
    "Deployment declares the desired state of a set of pods and rolls changes out through ReplicaSets.",
  ...gvk("Deployment"),
});
export type Deployment = z.infer<typeof Deployment>;

/** ReplicaSet spec. */
export const ReplicaSetSpec = z.object({
  replicas: Int32.default(1),
  minReadySeconds: Int32.optional(),
  selector: LabelSelector,
  template: PodTemplateSpec.optional(),
}).meta({
  id: "io.k8s.api.apps.v1.ReplicaSetSpec",
  description: "The desired state of a ReplicaSet.",
});
export type ReplicaSetSpec = z.infer<typeof ReplicaSetSpec>;

/** ReplicaSet status, written by the replicaset controller. */
export const ReplicaSetStatus = z.object({
  replicas: Int32.default(0),
  fullyLabeledReplicas: Int32.optional(),
  readyReplicas: Int32.optional(),
  availableReplicas: Int32.optional(),
  terminatingReplicas: Int32.optional(),
  observedGeneration: Int64.optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
});
export type ReplicaSetStatus = z.infer<typeof ReplicaSetStatus>;

/** apps/v1 ReplicaSet. */
export const ReplicaSet = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: ReplicaSetSpec,
  status: ReplicaSetStatus.prefault({}),
}).meta({
  id: "io.k8s.api.apps.v1.ReplicaSet",
  description: "ReplicaSet keeps a number of copies of a pod template running.",
  ...gvk("ReplicaSet"),
});
export type ReplicaSet = z.infer<typeof ReplicaSet>;

/** ControllerRevision data is an arbitrary JSON object (for DaemonSets and StatefulSets: a patch). */
const RawExtension = z.record(z.string(), z.unknown());

/** apps/v1 ControllerRevision: one immutable snapshot of a DaemonSet's or StatefulSet's template. */
export const ControllerRevision = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  data: RawExtension.optional(),
  revision: Int64,
}).meta({
  id: "io.k8s.api.apps.v1.ControllerRevision",
  description:
    "ControllerRevision is an immutable snapshot of state data; DaemonSets and StatefulSets keep their template history in them.",
  ...gvk("ControllerRevision"),
});
export type ControllerRevision = z.infer<typeof ControllerRevision>;

/** spec.updateStrategy of a DaemonSet. */
export const DaemonSetUpdateStrategy = z.object({
  type: z.enum(["RollingUpdate", "OnDelete"]).default("RollingUpdate"),
  rollingUpdate: z.object({
    maxUnavailable: IntOrString.optional(),
    maxSurge: IntOrString.optional(),
  }).optional(),
});
export type DaemonSetUpdateStrategy = z.infer<typeof DaemonSetUpdateStrategy>;

/** DaemonSet spec. */
export const DaemonSetSpec = z.object({
  selector: LabelSelector,
  template: PodTemplateSpec.prefault({}),
  updateStrategy: DaemonSetUpdateStrategy.prefault({}).meta({
    "x-kubernetes-patch-strategy": "retainKeys",
  }),
  minReadySeconds: Int32.default(0),
  revisionHistoryLimit: Int32.default(10),
}).meta({
  id: "io.k8s.api.apps.v1.DaemonSetSpec",
  description: "The desired state of a DaemonSet.",
});
export type DaemonSetSpec = z.infer<typeof DaemonSetSpec>;

/** DaemonSet status, written by the daemon set controller. */
export const DaemonSetStatus = z.object({
  currentNumberScheduled: Int32.default(0),
  numberMisscheduled: Int32.default(0),
  desiredNumberScheduled: Int32.default(0),
  numberReady: Int32.default(0),
  observedGeneration: Int64.optional(),
  updatedNumberScheduled: Int32.optional(),
  numberAvailable: Int32.optional(),
  numberUnavailable: Int32.optional(),
  collisionCount: Int32.optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
});
export type DaemonSetStatus = z.infer<typeof DaemonSetStatus>;

/** apps/v1 DaemonSet. */
export const DaemonSet = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: DaemonSetSpec,
  status: DaemonSetStatus.prefault({}),
}).meta({
  id: "io.k8s.api.apps.v1.DaemonSet",
  description: "DaemonSet runs one copy of a pod on every eligible node.",
  ...gvk("DaemonSet"),
});
export type DaemonSet = z.infer<typeof DaemonSet>;

/** spec.updateStrategy of a StatefulSet. */
export const StatefulSetUpdateStrategy = z.object({
  type: z.enum(["RollingUpdate", "OnDelete"]).default("RollingUpdate"),
  rollingUpdate: z.object({
    partition: Int32.optional(),
    maxUnavailable: IntOrString.optional(),
  }).optional(),
});
export type StatefulSetUpdateStrategy = z.infer<typeof StatefulSetUpdateStrategy>;

/** StatefulSet spec. */
export const StatefulSetSpec = z.object({
  replicas: Int32.default(1),
  selector: LabelSelector,
  template: PodTemplateSpec.prefault({}),
  volumeClaimTemplates: z.array(PersistentVolumeClaim).optional(),
  serviceName: z.string().optional(),
  podManagementPolicy: z.enum(["OrderedReady", "Parallel"]).default("OrderedReady"),
  updateStrategy: StatefulSetUpdateStrategy.prefault({}).meta({
    "x-kubernetes-patch-strategy": "retainKeys",
  }),
  revisionHistoryLimit: Int32.default(10),
  minReadySeconds: Int32.default(0),
  persistentVolumeClaimRetentionPolicy: z.object({
    whenDeleted: z.enum(["Retain", "Delete"]).default("Retain"),
    whenScaled: z.enum(["Retain", "Delete"]).default("Retain"),
  }).prefault({}),
  ordinals: z.object({ start: Int32.default(0) }).optional(),
}).meta({
  id: "io.k8s.api.apps.v1.StatefulSetSpec",
  description: "The desired state of a StatefulSet.",
});
export type StatefulSetSpec = z.infer<typeof StatefulSetSpec>;

/** StatefulSet status, written by the stateful set controller. */
export const StatefulSetStatus = z.object({
  observedGeneration: Int64.optional(),
  replicas: Int32.default(0),
  readyReplicas: Int32.optional(),
  currentReplicas: Int32.optional(),
  updatedReplicas: Int32.optional(),
  currentRevision: z.string().optional(),
  updateRevision: z.string().optional(),
  collisionCount: Int32.optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  availableReplicas: Int32.default(0),
});
export type StatefulSetStatus = z.infer<typeof StatefulSetStatus>;

/** apps/v1 StatefulSet. */
export const StatefulSet = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: StatefulSetSpec,
  status: StatefulSetStatus.prefault({}),
}).meta({
  id: "io.k8s.api.apps.v1.StatefulSet",
  description:
    "StatefulSet runs pods with stable names, stable storage and ordered deployment and scaling.",
  ...gvk("StatefulSet"),
});
export type StatefulSet = z.infer<typeof StatefulSet>;
