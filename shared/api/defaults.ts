/**
 * Kubernetes defaults that depend on other fields, applied after a schema parse (the
 * unconditional ones are `.default()`s in the schemas): a container's imagePullPolicy from its
 * image tag, a pod's requests from its limits and its QoS class, a Service port's targetPort and
 * traffic policies, a Deployment's rolling-update percentages, a ReplicationController's selector
 * and labels from its template, a Secret's `stringData` folded into base64 `data`, a Job's
 * completions, parallelism, backoffLimit and podReplacementPolicy, and a NetworkPolicy's
 * policyTypes.
 */
import { defaultHorizontalPodAutoscaler } from "./autoscaling_validation.ts";
import { defaultRbacBinding } from "./rbac_validation.ts";
import { defaultNetworkPolicy } from "./network_policy.ts";
import type { KubeObject } from "./object.ts";
import { qosClass } from "./qos_class.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/**
 * `Always` for `:latest` or an untagged image, else `IfNotPresent` (a digest counts as a tag).
 * Exported for the agent, which applies the same rule.
 */
export function defaultPullPolicy(image: string | undefined): "Always" | "IfNotPresent" {
  if (!image) return "Always";
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return "Always";
  return image.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

function defaultContainer(c: Obj): void {
  if (c.imagePullPolicy === undefined) c.imagePullPolicy = defaultPullPolicy(c.image);
}

/** Defaults of a pod spec (also the spec of workload templates). */
export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  if (spec.serviceAccount !== undefined && spec.serviceAccountName === undefined) {
    spec.serviceAccountName = spec.serviceAccount;
  }
}

function defaultPod(pod: Obj): void {
  defaultPodSpec(pod.spec);
  // As in Kubernetes: a container that sets limits but not requests requests its limits.
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
    const limits: Obj | undefined = c.resources?.limits;
    if (!limits) continue;
    c.resources.requests ??= {};
    for (const [r, q] of Object.entries(limits)) c.resources.requests[r] ??= q;
  }
  pod.status ??= {};
  if (pod.status.qosClass === undefined) pod.status.qosClass = qosClass(pod.spec);
}

function defaultService(svc: Obj): void {
  const spec = svc.spec;
  for (const p of spec.ports ?? []) {
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") {
      p.targetPort = p.port;
    }
  }
  if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
    spec.externalTrafficPolicy ??= "Cluster";
  }
  if (spec.sessionAffinity === "ClientIP") {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
}

function defaultDeployment(d: Obj): void {
  const strategy = d.spec.strategy;
  if (strategy.type === "RollingUpdate") {
    strategy.rollingUpdate ??= {};
    strategy.rollingUpdate.maxUnavailable ??= "25%";
    strategy.rollingUpdate.maxSurge ??= "25%";
  }
  defaultPodSpec(d.spec.template?.spec);
}

function defaultDaemonSet(ds: Obj): void {
  const strategy = ds.spec.updateStrategy;
  if (strategy.type === "RollingUpdate") {
    strategy.rollingUpdate ??= {};
    strategy.rollingUpdate.maxUnavailable ??= 1;
    strategy.rollingUpdate.maxSurge ??= 0;
  }
  defaultPodSpec(ds.spec.template?.spec);
}

function defaultStatefulSet(sts: Obj): void {
  const strategy = sts.spec.updateStrategy;
  if (strategy.type === "RollingUpdate") {
    strategy.rollingUpdate ??= {};
    strategy.rollingUpdate.partition ??= 0;
  }
  defaultPodSpec(sts.spec.template?.spec);
}

function defaultReplicationController(rc: Obj): void {
  const template = rc.spec.template;
  const labels = template?.metadata?.labels;
  if (labels && Object.keys(labels).length > 0) {
    if (!rc.spec.selector || Object.keys(rc.spec.selector).length === 0) {
      rc.spec.selector = { ...labels };
    }
    if (!rc.metadata.labels || Object.keys(rc.metadata.labels).length === 0) {
      rc.metadata.labels = { ...labels };
    }
  }
  defaultPodSpec(template?.spec);
}

/** batch/v1 Job defaults (Kubernetes' SetDefaults_Job). */
function defaultJob(job: Obj): void {
  const spec = job.spec;
  // A non-parallel Job may leave both unset: one pod, one completion.
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  for (const rule of (spec.podFailurePolicy?.rules ?? []) as Obj[]) {
    for (const p of (rule.onPodConditions ?? []) as Obj[]) p.status ??= "True";
  }
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
  const templateLabels = spec.template?.metadata?.labels;
  if (templateLabels && Object.keys(job.metadata.labels ?? {}).length === 0) {
    job.metadata.labels = { ...templateLabels };
  }
  defaultPodSpec(spec.template?.spec);
}

function defaultCronJob(cj: Obj): void {
  // As Kubernetes: the Job defaults belong to Jobs; the template only gets its pod defaults.
  defaultPodSpec(cj.spec.jobTemplate?.spec?.template?.spec);
}

function defaultSecret(secret: Obj): void {
  if (!secret.stringData) return;
  secret.data ??= {};
  for (const [k, v] of Object.entries(secret.stringData as Record<string, string>)) {
    secret.data[k] = base64(v);
  }
  delete secret.stringData;
}

/** Base64 of a string's UTF-8 bytes. */
export function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Applies the field-dependent defaults of `kind` to a parsed object, in place, and returns it.
 * Kinds without such defaults are returned unchanged.
 */
/**
 * LimitRange defaults (Kubernetes' SetDefaults_LimitRangeItem), for `type: Container`: a missing
 * default limit is the max, a missing default request the default limit, else the min.
 */
function defaultLimitRange(lr: Obj): void {
  for (const item of (lr.spec?.limits ?? []) as Obj[]) {
    if (item.type !== "Container") continue;
    item.default ??= {};
    item.defaultRequest ??= {};
    for (const [k, v] of Object.entries(item.max ?? {})) item.default[k] ??= v;
    for (const [k, v] of Object.entries(item.default)) item.defaultRequest[k] ??= v;
    for (const [k, v] of Object.entries(item.min ?? {})) item.defaultRequest[k] ??= v;
  }
}

export function applyDefaults<T extends KubeObject>(kind: string, obj: T): T {
  switch (kind) {
    case "LimitRange":
      defaultLimitRange(obj);
      break;
    case "Pod":
      defaultPod(obj);
      break;
    case "Service":
      defaultService(obj);
      break;
    case "Deployment":
      defaultDeployment(obj);
      break;
    case "ReplicaSet":
      defaultPodSpec(obj.spec?.template?.spec);
      break;
    case "DaemonSet":
      defaultDaemonSet(obj);
      break;
    case "StatefulSet":
      defaultStatefulSet(obj);
      break;
    case "ReplicationController":
      defaultReplicationController(obj);
      break;
    case "Secret":
      defaultSecret(obj);
      break;
    case "RoleBinding":
    case "ClusterRoleBinding":
      defaultRbacBinding(obj);
      break;
    case "Job":
      defaultJob(obj);
      break;
    case "CronJob":
      defaultCronJob(obj);
      break;
    case "NetworkPolicy":
      defaultNetworkPolicy(obj as Obj);
      break;
    case "HorizontalPodAutoscaler":
      defaultHorizontalPodAutoscaler(obj);
      break;
  }
  return obj;
}
