/**
 * policy/v1 PodDisruptionBudget: how many pods of a set must stay healthy (minAvailable) or may
 * be down (maxUnavailable) during voluntary disruptions — evictions through `pods/eviction`, which
 * `kubectl drain` uses. The disruption controller keeps its status; the eviction subresource
 * honours it.
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
  StringMap,
  TypeMeta,
} from "./meta.ts";

/** PodDisruptionBudget spec. */
export const PodDisruptionBudgetSpec = z.object({
  minAvailable: IntOrString.optional(),
  selector: LabelSelector.optional(),
  maxUnavailable: IntOrString.optional(),
  unhealthyPodEvictionPolicy: z.enum(["IfHealthyBudget", "AlwaysAllow"]).optional(),
}).meta({
  id: "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
  description: "Which pods a budget covers and how many of them must stay available.",
});
export type PodDisruptionBudgetSpec = z.infer<typeof PodDisruptionBudgetSpec>;

/** PodDisruptionBudget status, written by the disruption controller and by evictions. */
export const PodDisruptionBudgetStatus = z.object({
  observedGeneration: Int64.optional(),
  /** Pods evicted but not yet seen deleted, with the eviction time. */
  disruptedPods: StringMap.optional(),
  disruptionsAllowed: Int32.default(0),
  currentHealthy: Int32.default(0),
  desiredHealthy: Int32.default(0),
  expectedPods: Int32.default(0),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
});
export type PodDisruptionBudgetStatus = z.infer<typeof PodDisruptionBudgetStatus>;

/** policy/v1 PodDisruptionBudget. */
export const PodDisruptionBudget = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: PodDisruptionBudgetSpec.prefault({}),
  status: PodDisruptionBudgetStatus.prefault({}),
}).meta({
  id: "io.k8s.api.policy.v1.PodDisruptionBudget",
  description:
    "PodDisruptionBudget limits how many pods of a set voluntary disruptions may take down.",
  "x-kubernetes-group-version-kind": [{
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
  }],
});
export type PodDisruptionBudget = z.infer<typeof PodDisruptionBudget>;
