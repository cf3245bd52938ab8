/**
 * `ResourceRef`s of the kinds that controllers, the agent and the proxy use most, so callers write
 * `client.list(PODS)` instead of spelling out group/version/plural. (The full table of served
 * kinds is `RESOURCES` in shared/api/resources.ts; these stay small and dependency-free.)
 */
import type { ResourceRef } from "../api/resource_info.ts";

function ref(group: string, version: string, kind: string, plural: string, namespaced: boolean) {
  return Object.freeze({ group, version, kind, plural, namespaced }) satisfies ResourceRef;
}

/** core/v1 Pod. */
export const PODS: ResourceRef = ref("", "v1", "Pod", "pods", true);
/** core/v1 Node (cluster-scoped). */
export const NODES: ResourceRef = ref("", "v1", "Node", "nodes", false);
/** core/v1 Service. */
export const SERVICES: ResourceRef = ref("", "v1", "Service", "services", true);
/** core/v1 Endpoints. */
export const ENDPOINTS: ResourceRef = ref("", "v1", "Endpoints", "endpoints", true);
/** core/v1 ReplicationController. */
export const REPLICATION_CONTROLLERS: ResourceRef = ref(
  "",
  "v1",
  "ReplicationController",
  "replicationcontrollers",
  true,
);
/** core/v1 Event. */
export const EVENTS: ResourceRef = ref("", "v1", "Event", "events", true);
/** core/v1 Namespace (cluster-scoped). */
export const NAMESPACES: ResourceRef = ref("", "v1", "Namespace", "namespaces", false);
/** core/v1 ConfigMap. */
export const CONFIGMAPS: ResourceRef = ref("", "v1", "ConfigMap", "configmaps", true);
/** core/v1 Secret. */
export const SECRETS: ResourceRef = ref("", "v1", "Secret", "secrets", true);
/** core/v1 ServiceAccount. */
export const SERVICEACCOUNTS: ResourceRef = ref(
  "",
  "v1",
  "ServiceAccount",
  "serviceaccounts",
  true,
);
/** apps/v1 Deployment. */
export const DEPLOYMENTS: ResourceRef = ref("apps", "v1", "Deployment", "deployments", true);
/** apps/v1 ReplicaSet. */
export const REPLICASETS: ResourceRef = ref("apps", "v1", "ReplicaSet", "replicasets", true);
/** apps/v1 DaemonSet. */
export const DAEMONSETS: ResourceRef = ref("apps", "v1", "DaemonSet", "daemonsets", true);
/** apps/v1 StatefulSet. */
export const STATEFULSETS: ResourceRef = ref("apps", "v1", "StatefulSet", "statefulsets", true);
/** apps/v1 ControllerRevision. */
export const CONTROLLERREVISIONS: ResourceRef = ref(
  "apps",
  "v1",
  "ControllerRevision",
  "controllerrevisions",
  true,
);
/** coordination.k8s.io/v1 Lease. */
export const LEASES: ResourceRef = ref("coordination.k8s.io", "v1", "Lease", "leases", true);
/** discovery.k8s.io/v1 EndpointSlice. */
export const ENDPOINTSLICES: ResourceRef = ref(
  "discovery.k8s.io",
  "v1",
  "EndpointSlice",
  "endpointslices",
  true,
);
/** core/v1 PersistentVolume (cluster-scoped). */
export const PERSISTENT_VOLUMES: ResourceRef = ref(
  "",
  "v1",
  "PersistentVolume",
  "persistentvolumes",
  false,
);
/** core/v1 PersistentVolumeClaim. */
export const PERSISTENT_VOLUME_CLAIMS: ResourceRef = ref(
  "",
  "v1",
  "PersistentVolumeClaim",
  "persistentvolumeclaims",
  true,
);
/** storage.k8s.io/v1 StorageClass (cluster-scoped). */
export const STORAGE_CLASSES: ResourceRef = ref(
  "storage.k8s.io",
  "v1",
  "StorageClass",
  "storageclasses",
  false,
);
/** networking.k8s.io/v1 Ingress. */
export const INGRESSES: ResourceRef = ref("networking.k8s.io", "v1", "Ingress", "ingresses", true);
/** networking.k8s.io/v1 IngressClass (cluster-scoped). */
export const INGRESS_CLASSES: ResourceRef = ref(
  "networking.k8s.io",
  "v1",
  "IngressClass",
  "ingressclasses",
  false,
);
/** scheduling.k8s.io/v1 PriorityClass (cluster-scoped). */
export const PRIORITY_CLASSES: ResourceRef = ref(
  "scheduling.k8s.io",
  "v1",
  "PriorityClass",
  "priorityclasses",
  false,
);
/** core/v1 LimitRange. */
export const LIMIT_RANGES: ResourceRef = ref("", "v1", "LimitRange", "limitranges", true);
/** core/v1 ResourceQuota. */
export const RESOURCE_QUOTAS: ResourceRef = ref(
  "",
  "v1",
  "ResourceQuota",
  "resourcequotas",
  true,
);
/** networking.k8s.io/v1 NetworkPolicy. */
export const NETWORK_POLICIES: ResourceRef = ref(
  "networking.k8s.io",
  "v1",
  "NetworkPolicy",
  "networkpolicies",
  true,
);
/** batch/v1 Job. */
export const JOBS: ResourceRef = ref("batch", "v1", "Job", "jobs", true);
/** batch/v1 CronJob. */
export const CRONJOBS: ResourceRef = ref("batch", "v1", "CronJob", "cronjobs", true);
/** autoscaling/v2 HorizontalPodAutoscaler. */
export const HORIZONTAL_POD_AUTOSCALERS: ResourceRef = ref(
  "autoscaling",
  "v2",
  "HorizontalPodAutoscaler",
  "horizontalpodautoscalers",
  true,
);
/** policy/v1 PodDisruptionBudget. */
export const PODDISRUPTIONBUDGETS: ResourceRef = ref(
  "policy",
  "v1",
  "PodDisruptionBudget",
  "poddisruptionbudgets",
  true,
);
/** rbac.authorization.k8s.io/v1 Role. */
export const ROLES: ResourceRef = ref("rbac.authorization.k8s.io", "v1", "Role", "roles", true);
/** rbac.authorization.k8s.io/v1 ClusterRole. */
export const CLUSTER_ROLES: ResourceRef = ref(
  "rbac.authorization.k8s.io",
  "v1",
  "ClusterRole",
  "clusterroles",
  false,
);
/** rbac.authorization.k8s.io/v1 RoleBinding. */
export const ROLE_BINDINGS: ResourceRef = ref(
  "rbac.authorization.k8s.io",
  "v1",
  "RoleBinding",
  "rolebindings",
  true,
);
/** rbac.authorization.k8s.io/v1 ClusterRoleBinding. */
export const CLUSTER_ROLE_BINDINGS: ResourceRef = ref(
  "rbac.authorization.k8s.io",
  "v1",
  "ClusterRoleBinding",
  "clusterrolebindings",
  false,
);
