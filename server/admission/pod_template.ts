/**
 * Where a pod spec lives in each kind that carries one: the pod itself, or the pod template of a
 * workload (Kubernetes' `DefaultPodSpecExtractor` list: ReplicationController, PodTemplate,
 * ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob). Kinds Skiff does not serve yet
 * are listed too, so they are covered the day they are added.
 */
import type { KubeObject } from "../../shared/api/object.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** A pod's (or template's) metadata and spec, and the field path of the spec. */
export interface PodSpecView {
  metadata: Obj;
  spec: Obj;
  /** `spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`, `template.spec`. */
  specPath: string;
}

/** Path to the pod template of each workload resource, by plural name. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  replicationcontrollers: ["spec", "template"],
  podtemplates: ["template"],
  replicasets: ["spec", "template"],
  deployments: ["spec", "template"],
  statefulsets: ["spec", "template"],
  daemonsets: ["spec", "template"],
  jobs: ["spec", "template"],
  cronjobs: ["spec", "jobTemplate", "spec", "template"],
};

/** True for pods and for the kinds whose objects carry a pod template. */
export function hasPodSpec(resource: string): boolean {
  return resource === "pods" || resource in TEMPLATE_PATHS;
}

/** True for the workload kinds (not pods) that carry a pod template. */
export function isPodController(resource: string): boolean {
  return resource in TEMPLATE_PATHS;
}

/** The pod spec of a pod or of a workload's template; undefined when there is none. */
export function podSpecOf(resource: string, obj: KubeObject | undefined): PodSpecView | undefined {
  if (!obj) return undefined;
  if (resource === "pods") {
    return { metadata: obj.metadata ?? {}, spec: obj.spec ?? {}, specPath: "spec" };
  }
  const path = TEMPLATE_PATHS[resource];
  if (!path) return undefined;
  let template: Obj | undefined = obj;
  for (const key of path) template = template?.[key];
  if (!template || typeof template !== "object") return undefined;
  return {
    metadata: template.metadata ?? {},
    spec: template.spec ?? {},
    specPath: [...path, "spec"].join("."),
  };
}
