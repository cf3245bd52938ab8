/**
 * The table of every resource kind Skiff serves: how it is addressed (ResourceInfo, as discovery
 * advertises it), the zod schema of its objects and the kind name of its lists. The router,
 * discovery, OpenAPI, validation and the client all read this one table.
 */
import type { z } from "zod";
import type { ResourceInfo } from "./resource_info.ts";
import { apiVersionOf } from "./resource_info.ts";
import {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
} from "./core_v1.ts";
import { TokenReview } from "./authentication_v1.ts";
import { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from "./apps_v1.ts";
import { CronJob, Job } from "./batch_v1.ts";
import { PodDisruptionBudget } from "./policy_v1.ts";
import { LimitRange } from "./limit_range.ts";
import { ResourceQuota } from "./resource_quota.ts";
import { HorizontalPodAutoscaler } from "./autoscaling_v2.ts";
import { HorizontalPodAutoscalerV1 } from "./autoscaling_v1.ts";
import { Lease } from "./coordination_v1.ts";
import { EndpointSlice } from "./discovery_v1.ts";
import { NodeMetrics, PodMetrics } from "./metrics_v1beta1.ts";
import { PersistentVolume, PersistentVolumeClaim } from "./persistent_volume.ts";
import { StorageClass } from "./storage_v1.ts";
import { CustomResourceDefinition } from "./apiextensions_v1.ts";
import { ClusterRole, ClusterRoleBinding, RBAC_GROUP, Role, RoleBinding } from "./rbac_v1.ts";
import {
  LocalSubjectAccessReview,
  SelfSubjectAccessReview,
  SelfSubjectReview,
  SelfSubjectRulesReview,
  SubjectAccessReview,
} from "./authorization_v1.ts";
import { Ingress, IngressClass } from "./networking_v1.ts";
import { PriorityClass } from "./scheduling_v1.ts";
import { NetworkPolicy } from "./network_policy.ts";

/** One served resource: its addressing facts, object schema and list kind. */
export interface ResourceEntry extends ResourceInfo {
  /** Parses (and defaults) one object of this kind; unknown fields are stripped. */
  schema: z.ZodType;
  /** `PodList`, `DeploymentList`, ... */
  listKind: string;
}

/** Every served resource, in discovery order (which is also `kubectl get all`'s order). */
export type ResourceTable = readonly ResourceEntry[];

/** The verbs of an ordinary read-write resource. */
export const ALL_VERBS: readonly string[] = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

interface EntryOptions {
  group?: string;
  version?: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: readonly string[];
  subresources?: string[];
}

function entry(
  kind: string,
  schema: z.ZodType,
  options: EntryOptions & { plural: string },
): ResourceEntry {
  return {
    group: options.group ?? "",
    version: options.version ?? "v1",
    kind,
    plural: options.plural,
    singular: kind.toLowerCase(),
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    verbs: [...(options.verbs ?? ALL_VERBS)],
    subresources: options.subresources ?? [],
    schema,
    listKind: `${kind}List`,
  };
}

/** The resource table. */
export const RESOURCES: ResourceTable = [
  entry("Pod", Pod, {
    plural: "pods",
    shortNames: ["po"],
    categories: ["all"],
    subresources: [
      "status",
      "binding",
      "log",
      "exec",
      "attach",
      "portforward",
      "proxy",
      "eviction",
      "ephemeralcontainers",
    ],
  }),
  entry("Service", Service, {
    plural: "services",
    shortNames: ["svc"],
    categories: ["all"],
    subresources: ["status", "proxy"],
  }),
  entry("ReplicationController", ReplicationController, {
    plural: "replicationcontrollers",
    shortNames: ["rc"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  entry("Namespace", Namespace, {
    plural: "namespaces",
    namespaced: false,
    shortNames: ["ns"],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    subresources: ["status", "finalize"],
  }),
  entry("Node", Node, {
    plural: "nodes",
    namespaced: false,
    shortNames: ["no"],
    subresources: ["status", "proxy"],
  }),
  entry("Endpoints", Endpoints, { plural: "endpoints", shortNames: ["ep"] }),
  entry("ConfigMap", ConfigMap, { plural: "configmaps", shortNames: ["cm"] }),
  entry("Secret", Secret, { plural: "secrets" }),
  entry("ServiceAccount", ServiceAccount, {
    plural: "serviceaccounts",
    shortNames: ["sa"],
    subresources: ["token"],
  }),
  entry("Event", Event, { plural: "events", shortNames: ["ev"] }),
  entry("PersistentVolume", PersistentVolume, {
    plural: "persistentvolumes",
    namespaced: false,
    shortNames: ["pv"],
    subresources: ["status"],
  }),
  entry("PersistentVolumeClaim", PersistentVolumeClaim, {
    plural: "persistentvolumeclaims",
    shortNames: ["pvc"],
    subresources: ["status"],
  }),
  entry("ControllerRevision", ControllerRevision, {
    group: "apps",
    plural: "controllerrevisions",
  }),
  entry("DaemonSet", DaemonSet, {
    group: "apps",
    plural: "daemonsets",
    shortNames: ["ds"],
    categories: ["all"],
    subresources: ["status"],
  }),
  entry("Deployment", Deployment, {
    group: "apps",
    plural: "deployments",
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  entry("ReplicaSet", ReplicaSet, {
    group: "apps",
    plural: "replicasets",
    shortNames: ["rs"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  entry("StatefulSet", StatefulSet, {
    group: "apps",
    plural: "statefulsets",
    shortNames: ["sts"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  entry("Job", Job, {
    group: "batch",
    plural: "jobs",
    categories: ["all"],
    subresources: ["status"],
  }),
  entry("CronJob", CronJob, {
    group: "batch",
    plural: "cronjobs",
    shortNames: ["cj"],
    categories: ["all"],
    subresources: ["status"],
  }),
  entry("LimitRange", LimitRange, { plural: "limitranges", shortNames: ["limits"] }),
  entry("ResourceQuota", ResourceQuota, {
    plural: "resourcequotas",
    shortNames: ["quota"],
    subresources: ["status"],
  }),
  entry("PodDisruptionBudget", PodDisruptionBudget, {
    group: "policy",
    plural: "poddisruptionbudgets",
    shortNames: ["pdb"],
    subresources: ["status"],
  }),
  entry("HorizontalPodAutoscaler", HorizontalPodAutoscaler, {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: ["status"],
  }),
  // Served beside v2 (the storage version, first) for `kubectl autoscale`: conversion in
  // server/registry/version_conversions.ts.
  entry("HorizontalPodAutoscaler", HorizontalPodAutoscalerV1, {
    group: "autoscaling",
    version: "v1",
    plural: "horizontalpodautoscalers",
    shortNames: ["hpa"],
    subresources: ["status"],
  }),
  entry("Lease", Lease, { group: "coordination.k8s.io", plural: "leases" }),
  entry("EndpointSlice", EndpointSlice, { group: "discovery.k8s.io", plural: "endpointslices" }),
  entry("Ingress", Ingress, {
    group: "networking.k8s.io",
    plural: "ingresses",
    shortNames: ["ing"],
    subresources: ["status"],
  }),
  entry("IngressClass", IngressClass, {
    group: "networking.k8s.io",
    plural: "ingressclasses",
    namespaced: false,
  }),
  entry("PriorityClass", PriorityClass, {
    group: "scheduling.k8s.io",
    plural: "priorityclasses",
    namespaced: false,
    shortNames: ["pc"],
  }),
  entry("NetworkPolicy", NetworkPolicy, {
    group: "networking.k8s.io",
    plural: "networkpolicies",
    shortNames: ["netpol"],
  }),
  entry("StorageClass", StorageClass, {
    group: "storage.k8s.io",
    plural: "storageclasses",
    namespaced: false,
    shortNames: ["sc"],
  }),
  entry("CustomResourceDefinition", CustomResourceDefinition, {
    group: "apiextensions.k8s.io",
    plural: "customresourcedefinitions",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    subresources: ["status"],
  }),
  entry("TokenReview", TokenReview, {
    group: "authentication.k8s.io",
    plural: "tokenreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  entry("ClusterRoleBinding", ClusterRoleBinding, {
    group: RBAC_GROUP,
    plural: "clusterrolebindings",
    namespaced: false,
  }),
  entry("ClusterRole", ClusterRole, {
    group: RBAC_GROUP,
    plural: "clusterroles",
    namespaced: false,
  }),
  entry("RoleBinding", RoleBinding, { group: RBAC_GROUP, plural: "rolebindings" }),
  entry("Role", Role, { group: RBAC_GROUP, plural: "roles" }),
  // Create-only reviews, answered on the spot and never stored (server/api/access_review.ts).
  entry("SelfSubjectReview", SelfSubjectReview, {
    group: "authentication.k8s.io",
    plural: "selfsubjectreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  entry("LocalSubjectAccessReview", LocalSubjectAccessReview, {
    group: "authorization.k8s.io",
    plural: "localsubjectaccessreviews",
    verbs: ["create"],
  }),
  entry("SelfSubjectAccessReview", SelfSubjectAccessReview, {
    group: "authorization.k8s.io",
    plural: "selfsubjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  entry("SelfSubjectRulesReview", SelfSubjectRulesReview, {
    group: "authorization.k8s.io",
    plural: "selfsubjectrulesreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  entry("SubjectAccessReview", SubjectAccessReview, {
    group: "authorization.k8s.io",
    plural: "subjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  entry("NodeMetrics", NodeMetrics, {
    group: "metrics.k8s.io",
    version: "v1beta1",
    plural: "nodes",
    namespaced: false,
    verbs: ["get", "list"],
  }),
  entry("PodMetrics", PodMetrics, {
    group: "metrics.k8s.io",
    version: "v1beta1",
    plural: "pods",
    verbs: ["get", "list"],
  }),
];

/** The resource served at `group/version/plural`, if any (`findResource("apps", "v1", "deployments")`). */
export function findResource(
  group: string,
  version: string,
  plural: string,
): ResourceEntry | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** The resource of a kind in an apiVersion (`resourceForKind("apps/v1", "Deployment")`). */
export function resourceForKind(apiVersion: string, kind: string): ResourceEntry | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
