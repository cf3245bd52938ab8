/** A small fixed RBAC policy for the authorizer and escalation tests. */
import type { KubeObject } from "../../../shared/api/object.ts";
import { FakeLister } from "../../../shared/testing/fake_lister.ts";
import { RbacAuthorizer } from "./rbac_authorizer.ts";
import { RuleResolver } from "./rule_resolver.ts";

const G = "rbac.authorization.k8s.io";

/** An RBAC object (`Role`, `ClusterRoleBinding`, ...) with `body`'s rules, roleRef or subjects. */
export function obj(
  kind: string,
  name: string,
  namespace: string | undefined,
  body: object,
): KubeObject {
  return { apiVersion: `${G}/v1`, kind, metadata: { name, namespace }, ...body } as KubeObject;
}

/** An authorizer over the given RBAC objects. */
export function authorizerOver(policy: {
  roles?: KubeObject[];
  clusterRoles?: KubeObject[];
  roleBindings?: KubeObject[];
  clusterRoleBindings?: KubeObject[];
}): RbacAuthorizer {
  return new RbacAuthorizer(
    new RuleResolver({
      roles: new FakeLister(policy.roles ?? []),
      clusterRoles: new FakeLister(policy.clusterRoles ?? []),
      roleBindings: new FakeLister(policy.roleBindings ?? []),
      clusterRoleBindings: new FakeLister(policy.clusterRoleBindings ?? []),
    }),
  );
}

/** An authorizer over a small fixed policy. */
export function fixture(): RbacAuthorizer {
  return authorizerOver({
    roles: [
      obj("Role", "cm-writer", "a", {
        rules: [{ verbs: ["create"], apiGroups: [""], resources: ["configmaps"] }],
      }),
    ],
    clusterRoles: [
      obj("ClusterRole", "pod-reader", undefined, {
        rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }],
      }),
      obj("ClusterRole", "metrics", undefined, {
        rules: [{ verbs: ["get"], nonResourceURLs: ["/metrics"] }],
      }),
    ],
    roleBindings: [
      obj("RoleBinding", "cm-writer", "a", {
        roleRef: { apiGroup: G, kind: "Role", name: "cm-writer" },
        subjects: [{ kind: "User", apiGroup: G, name: "alice" }],
      }),
      obj("RoleBinding", "sa-pods", "a", {
        roleRef: { apiGroup: G, kind: "ClusterRole", name: "pod-reader" },
        // No namespace: the binding's own.
        subjects: [{ kind: "ServiceAccount", name: "app" }],
      }),
      obj("RoleBinding", "dangling", "b", {
        roleRef: { apiGroup: G, kind: "ClusterRole", name: "gone" },
        subjects: [{ kind: "User", apiGroup: G, name: "alice" }],
      }),
    ],
    clusterRoleBindings: [
      obj("ClusterRoleBinding", "monitoring", undefined, {
        roleRef: { apiGroup: G, kind: "ClusterRole", name: "metrics" },
        subjects: [{ kind: "Group", apiGroup: G, name: "system:monitoring" }],
      }),
    ],
  });
}
