/**
 * metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics: CPU and memory usage served read-only for
 * `kubectl top` from what the agents read from Docker.
 */
import { z } from "zod";
import { ObjectMeta, Time, TypeMeta } from "./meta.ts";
import { ResourceList } from "./quantity.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "metrics.k8s.io", version: "v1beta1", kind }],
});

/** metrics.k8s.io/v1beta1 NodeMetrics. */
export const NodeMetrics = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  timestamp: Time,
  window: z.string(),
  usage: ResourceList,
}).meta({
  id: "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics",
  description: "NodeMetrics is the current CPU and memory usage of a node.",
  ...gvk("NodeMetrics"),
});
export type NodeMetrics = z.infer<typeof NodeMetrics>;

/** metrics.k8s.io/v1beta1 PodMetrics. */
export const PodMetrics = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  timestamp: Time,
  window: z.string(),
  containers: z.array(z.object({ name: z.string(), usage: ResourceList })),
}).meta({
  id: "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics",
  description: "PodMetrics is the current CPU and memory usage of a pod's containers.",
  ...gvk("PodMetrics"),
});
export type PodMetrics = z.infer<typeof PodMetrics>;
