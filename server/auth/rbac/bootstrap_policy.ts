/**
 * The built-in ClusterRoles and ClusterRoleBindings kube-apiserver creates at start
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy), the part that applies to Skiff: the
 * user-facing `cluster-admin`, `admin`, `edit`, `view` (the last three aggregated from the
 * `system:aggregate-to-*` roles by label), discovery and self-review for every authenticated
 * user, `system:auth-delegator`, `system:monitoring` and service-account issuer discovery.
 * Skiff's own components do not use RBAC (they hold node credentials or run in-process), so the
 * controller and node roles are not created.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from "../../../shared/api/rbac_v1.ts";
import { RBAC_GROUP } from "../../../shared/api/rbac_v1.ts";
import { ALL_VERBS } from "../../../shared/api/resources.ts";

/** The label of every bootstrap object. */
export const BOOTSTRAP_LABEL = { "kubernetes.io/bootstrapping": "rbac-defaults" };
/** The annotation that lets the server reconcile a bootstrap object at start (`"false"` opts out). */
export const AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate";
/** The aggregation labels of the user-facing roles. */
export const AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin";
export const AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit";
export const AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE = [...ALL_VERBS];

function rule(verbs: string[], apiGroups: string[], resources: string[]): PolicyRule {
  return { verbs, apiGroups, resources };
}

function urls(verbs: string[], nonResourceURLs: string[]): PolicyRule {
  return { verbs, nonResourceURLs };
}

function clusterRole(
  name: string,
  rules: PolicyRule[],
  options: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): ClusterRole {
  const role: ClusterRole = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABEL, ...options.labels },
      annotations: { [AUTOUPDATE_ANNOTATION]: "true" },
    },
    rules,
  };
  if (options.aggregateFrom) {
    role.aggregationRule = {
      clusterRoleSelectors: [{ matchLabels: { [options.aggregateFrom]: "true" } }],
    };
  }
  return role;
}

function binding(name: string, role: string, groups: string[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABEL },
      annotations: { [AUTOUPDATE_ANNOTATION]: "true" },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
    subjects: groups.map((g) => ({ kind: "Group", apiGroup: RBAC_GROUP, name: g })),
  };
}

const PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"];

/** The bootstrap ClusterRoles. */
export function bootstrapClusterRoles(): ClusterRole[] {
  return [
    clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
    clusterRole("system:discovery", [
      urls(["get"], [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/openapi",
        "/openapi/*",
        ...PUBLIC_INFO,
      ]),
    ]),
    clusterRole("system:basic-user", [
      rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
      rule(["create"], ["authorization.k8s.io"], [
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
      ]),
    ]),
    clusterRole("system:public-info-viewer", [urls(["get"], PUBLIC_INFO)]),
    clusterRole("admin", [], { aggregateFrom: AGGREGATE_TO_ADMIN }),
    clusterRole("edit", [], {
      aggregateFrom: AGGREGATE_TO_EDIT,
      labels: { [AGGREGATE_TO_ADMIN]: "true" },
    }),
    clusterRole("view", [], {
      aggregateFrom: AGGREGATE_TO_VIEW,
      labels: { [AGGREGATE_TO_EDIT]: "true" },
    }),
    clusterRole("system:aggregate-to-admin", [
      rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
      rule(READ_WRITE, [RBAC_GROUP], ["rolebindings", "roles"]),
    ], { labels: { [AGGREGATE_TO_ADMIN]: "true" } }),
    clusterRole("system:aggregate-to-edit", [
      rule(READ, [""], [
        "pods/attach",
        "pods/exec",
        "pods/portforward",
        "pods/proxy",
        "secrets",
        "services/proxy",
      ]),
      rule(["impersonate"], [""], ["serviceaccounts"]),
      rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
      rule(["create"], [""], ["pods/eviction"]),
      rule(WRITE, [""], [
        "configmaps",
        "events",
        "persistentvolumeclaims",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "secrets",
        "serviceaccounts",
        "services",
        "services/proxy",
      ]),
      rule(["create"], [""], ["serviceaccounts/token"]),
      rule(WRITE, ["apps"], [
        "daemonsets",
        "deployments",
        "deployments/rollback",
        "deployments/scale",
        "replicasets",
        "replicasets/scale",
        "statefulsets",
        "statefulsets/scale",
      ]),
      rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
      rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
      rule(WRITE, ["extensions"], [
        "daemonsets",
        "deployments",
        "deployments/rollback",
        "deployments/scale",
        "ingresses",
        "networkpolicies",
        "replicasets",
        "replicasets/scale",
        "replicationcontrollers/scale",
      ]),
      rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
      rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
      rule(READ_WRITE, ["coordination.k8s.io"], ["leases"]),
    ], { labels: { [AGGREGATE_TO_EDIT]: "true" } }),
    clusterRole("system:aggregate-to-view", [
      rule(READ, [""], [
        "configmaps",
        "endpoints",
        "persistentvolumeclaims",
        "persistentvolumeclaims/status",
        "pods",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "serviceaccounts",
        "services",
        "services/status",
      ]),
      rule(READ, [""], [
        "bindings",
        "events",
        "limitranges",
        "namespaces/status",
        "pods/log",
        "pods/status",
        "replicationcontrollers/status",
        "resourcequotas",
        "resourcequotas/status",
      ]),
      rule(READ, [""], ["namespaces"]),
      rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
      rule(READ, ["apps"], [
        "controllerrevisions",
        "daemonsets",
        "daemonsets/status",
        "deployments",
        "deployments/scale",
        "deployments/status",
        "replicasets",
        "replicasets/scale",
        "replicasets/status",
        "statefulsets",
        "statefulsets/scale",
        "statefulsets/status",
      ]),
      rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
      rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
      rule(READ, ["extensions"], [
        "daemonsets",
        "daemonsets/status",
        "deployments",
        "deployments/scale",
        "deployments/status",
        "ingresses",
        "ingresses/status",
        "networkpolicies",
        "replicasets",
        "replicasets/scale",
        "replicasets/status",
        "replicationcontrollers/scale",
      ]),
      rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
      rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    ], { labels: { [AGGREGATE_TO_VIEW]: "true" } }),
    clusterRole("system:auth-delegator", [
      rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
      rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    ]),
    clusterRole("system:monitoring", [
      urls(["get"], [
        "/healthz",
        "/healthz/*",
        "/livez",
        "/livez/*",
        "/metrics",
        "/metrics/slis",
        "/readyz",
        "/readyz/*",
      ]),
    ]),
    clusterRole("system:service-account-issuer-discovery", [
      urls(["get"], [
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/openid/v1/jwks",
        "/openid/v1/jwks/",
      ]),
    ]),
  ];
}

/** The bootstrap ClusterRoleBindings. */
export function bootstrapClusterRoleBindings(): ClusterRoleBinding[] {
  return [
    binding("cluster-admin", "cluster-admin", ["system:masters"]),
    binding("system:discovery", "system:discovery", ["system:authenticated"]),
    binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
    binding("system:public-info-viewer", "system:public-info-viewer", [
      "system:authenticated",
      "system:unauthenticated",
    ]),
    binding("system:monitoring", "system:monitoring", ["system:monitoring"]),
    binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", [
      "system:serviceaccounts",
    ]),
  ];
}
