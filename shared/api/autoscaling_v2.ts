/**
 * autoscaling/v2 HorizontalPodAutoscaler: scales a Deployment, ReplicaSet, StatefulSet or
 * ReplicationController through its `scale` subresource so that the average CPU or memory use of
 * its pods stays near a target. The horizontal-pod-autoscaler controller
 * (server/controllers/horizontal_pod_autoscaler.ts) writes its status. Skiff serves the metrics
 * API for `Resource` and `ContainerResource` metrics; `Pods`, `Object` and `External` metrics need
 * a custom/external metrics API Skiff does not have and are refused at validation.
 */
import { z } from "zod";
import { Condition, CONDITIONS_PATCH, Int32, Int64, ObjectMeta, Time, TypeMeta } from "./meta.ts";

/** The object to scale: `apiVersion`, `kind` and `name` in the autoscaler's namespace. */
export const CrossVersionObjectReference = z.object({
  apiVersion: z.string().optional(),
  kind: z.string(),
  name: z.string(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.CrossVersionObjectReference",
  description: "Names the object to scale.",
});
export type CrossVersionObjectReference = z.infer<typeof CrossVersionObjectReference>;

/** A target: `Utilization` (percent of the request), `AverageValue` or `Value`. */
export const MetricTarget = z.object({
  type: z.string(),
  value: z.union([z.string(), z.number()]).optional(),
  averageValue: z.union([z.string(), z.number()]).optional(),
  averageUtilization: Int32.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.MetricTarget",
  description: "The target value, average value, or average utilization of a metric.",
});

/** What a metric currently reads. */
export const MetricValueStatus = z.object({
  value: z.string().optional(),
  averageValue: z.string().optional(),
  averageUtilization: Int32.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.MetricValueStatus",
  description: "The current value of a metric.",
});

const ResourceMetricSource = z.object({ name: z.string(), target: MetricTarget }).meta({
  id: "io.k8s.api.autoscaling.v2.ResourceMetricSource",
  description: "A resource (cpu, memory) of the pods, as the metrics API reports it.",
});
const ContainerResourceMetricSource = z.object({
  name: z.string(),
  target: MetricTarget,
  container: z.string(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.ContainerResourceMetricSource",
  description: "A resource of one named container of each pod.",
});
// The sources Skiff refuses are kept loose so validation can name them.
const Loose = z.record(z.string(), z.unknown());

/** One metric the autoscaler follows. */
export const MetricSpec = z.object({
  type: z.string(),
  resource: ResourceMetricSource.optional(),
  containerResource: ContainerResourceMetricSource.optional(),
  pods: Loose.optional(),
  object: Loose.optional(),
  external: Loose.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.MetricSpec",
  description: "A metric to scale on.",
});
export type MetricSpec = z.infer<typeof MetricSpec>;

/** One scaling policy: at most `value` pods or percent per `periodSeconds`. */
export const HPAScalingPolicy = z.object({
  type: z.string(),
  value: Int32,
  periodSeconds: Int32,
}).meta({
  id: "io.k8s.api.autoscaling.v2.HPAScalingPolicy",
  description: "A single policy that must hold for a change of scale.",
});
export type HPAScalingPolicy = z.infer<typeof HPAScalingPolicy>;

/** Scaling rules in one direction. */
export const HPAScalingRules = z.object({
  stabilizationWindowSeconds: Int32.optional(),
  selectPolicy: z.string().optional(),
  policies: z.array(HPAScalingPolicy).optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.HPAScalingRules",
  description: "How fast the autoscaler may scale in one direction.",
});
export type HPAScalingRules = z.infer<typeof HPAScalingRules>;

/** Behaviour up and down. */
export const HorizontalPodAutoscalerBehavior = z.object({
  scaleUp: HPAScalingRules.optional(),
  scaleDown: HPAScalingRules.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior",
  description: "Scaling behaviour of the target in both directions.",
});
export type HorizontalPodAutoscalerBehavior = z.infer<typeof HorizontalPodAutoscalerBehavior>;

/** HorizontalPodAutoscaler spec. */
export const HorizontalPodAutoscalerSpec = z.object({
  scaleTargetRef: CrossVersionObjectReference,
  minReplicas: Int32.optional(),
  maxReplicas: Int32,
  metrics: z.array(MetricSpec).optional(),
  behavior: HorizontalPodAutoscalerBehavior.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
  description: "What to scale, between which bounds, on which metrics.",
});
export type HorizontalPodAutoscalerSpec = z.infer<typeof HorizontalPodAutoscalerSpec>;

/** One metric's current reading. */
export const MetricStatus = z.object({
  type: z.string(),
  resource: z.object({ name: z.string(), current: MetricValueStatus }).optional(),
  containerResource: z.object({
    name: z.string(),
    container: z.string(),
    current: MetricValueStatus,
  }).optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v2.MetricStatus",
  description: "The last read state of one metric.",
});
export type MetricStatus = z.infer<typeof MetricStatus>;

/** HorizontalPodAutoscaler status, written by the controller. */
export const HorizontalPodAutoscalerStatus = z.object({
  observedGeneration: Int64.optional(),
  lastScaleTime: Time.optional(),
  currentReplicas: Int32.optional(),
  desiredReplicas: Int32.default(0),
  currentMetrics: z.array(MetricStatus).optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
}).meta({
  id: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
  description: "The autoscaler's last observed state.",
});
export type HorizontalPodAutoscalerStatus = z.infer<typeof HorizontalPodAutoscalerStatus>;

/** autoscaling/v2 HorizontalPodAutoscaler. */
export const HorizontalPodAutoscaler = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: HorizontalPodAutoscalerSpec,
  status: HorizontalPodAutoscalerStatus.prefault({}),
}).meta({
  id: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
  description:
    "HorizontalPodAutoscaler automatically manages the replica count of any resource implementing the scale subresource based on the metrics specified.",
  "x-kubernetes-group-version-kind": [{
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
  }],
});
export type HorizontalPodAutoscaler = z.infer<typeof HorizontalPodAutoscaler>;
