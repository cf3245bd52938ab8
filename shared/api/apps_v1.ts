/**
 * apps/v1 kinds: Deployment and ReplicaSet. The RollingUpdate 25%/25% default of a Deployment's
 * strategy depends on its type and is applied in defaults.ts.
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
