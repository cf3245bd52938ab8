/**
 * RBAC escalation prevention, as kube-apiserver's RBAC storage: a Role or ClusterRole may be
 * written only with rules its writer already holds (unless it may `escalate` that role), a
 * binding only to a role whose rules the writer holds (unless it may `bind` that role), and an
 * `aggregationRule` only by a writer holding everything. "Held" means granted by the writer's
 * token role or by its RBAC bindings; `system:masters` and the server's own writes skip the check.
 */
import type { KubeObject } from "../../../shared/api/object.ts";
import { type PolicyRule, RBAC_GROUP, type RoleRef } from "../../../shared/api/rbac_v1.ts";
import { ForbiddenError, NotFoundError } from "../../../shared/errors.ts";
import { jsonEqual } from "../../../shared/api/validation.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../../admission/admission.ts";
import { decide, MASTERS_GROUP, tokenRoleAllows, type User } from "../authorizer.ts";
import {
  type AuthorizationAttributes,
  compactString,
  goQuoted,
  uncoveredRules,
} from "./policy_rule.ts";
import type { RbacAuthorizer } from "./rbac_authorizer.ts";

/** Everything (`*` on `*.*` and on every URL): what an aggregationRule needs. */
export const FULL_AUTHORITY: PolicyRule[] = [
  { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
  { nonResourceURLs: ["*"], verbs: ["*"] },
];

/** The admission plugin that refuses escalating RBAC writes; see the module comment. */
export function rbacEscalationAdmission(rbac: RbacAuthorizer): AdmissionPlugin {
  return function rbacEscalation(attrs) {
    if (attrs.group !== RBAC_GROUP || !attrs.user) return;
    const user = attrs.user;
    if (user.groups.includes(MASTERS_GROUP)) return;
    if (attrs.oldObject && onlyGcFieldsChange(attrs.object, attrs.oldObject)) return;
    switch (attrs.resource) {
      case "roles":
      case "clusterroles":
        return checkRole(attrs, user, rbac);
      case "rolebindings":
      case "clusterrolebindings":
        return checkBinding(attrs, user, rbac);
    }
  };
}

function checkRole(attrs: AdmissionAttributes, user: User, rbac: RbacAuthorizer): void {
  const namespace = attrs.resource === "roles" ? attrs.namespace : undefined;
  if (rbacVerbAllowed(user, "escalate", attrs.resource, attrs.name, namespace, rbac)) return;
  const forbid = (message: string) =>
    new ForbiddenError({ resource: attrs.resource, group: RBAC_GROUP, name: attrs.name }, message);
  const missing = confirmNoEscalation(user, attrs.object.rules ?? [], namespace, rbac);
  if (missing) throw forbid(missing);
  const aggregated = attrs.object.aggregationRule !== undefined ||
    attrs.oldObject?.aggregationRule !== undefined;
  if (aggregated && confirmNoEscalation(user, FULL_AUTHORITY, undefined, rbac)) {
    throw forbid("must have cluster-admin privileges to use the aggregationRule");
  }
}

function checkBinding(attrs: AdmissionAttributes, user: User, rbac: RbacAuthorizer): void {
  const ref = attrs.object.roleRef as RoleRef;
  const namespace = attrs.resource === "rolebindings" ? attrs.namespace : undefined;
  const roleResource = ref.kind === "Role" ? "roles" : "clusterroles";
  if (rbacVerbAllowed(user, "bind", roleResource, ref.name, namespace, rbac)) return;
  const { rules, error } = rbac.resolver.roleRefRules(ref, namespace ?? "");
  if (error) {
    throw new NotFoundError({ resource: roleResource, group: RBAC_GROUP, name: ref.name });
  }
  const missing = confirmNoEscalation(user, rules, namespace, rbac);
  if (missing) {
    throw new ForbiddenError(
      { resource: attrs.resource, group: RBAC_GROUP, name: attrs.name },
      missing,
    );
  }
}

function rbacVerbAllowed(
  user: User,
  verb: string,
  resource: string,
  name: string,
  namespace: string | undefined,
  rbac: RbacAuthorizer,
): boolean {
  return decide(user, {
    verb,
    resourceRequest: true,
    apiGroup: RBAC_GROUP,
    apiVersion: "v1",
    resource,
    name,
    namespace,
  }, rbac).allowed;
}

/**
 * Kubernetes' ConfirmNoEscalation: undefined when `user` holds every rule of `rules` in
 * `namespace`, else the message naming what it lacks.
 */
export function confirmNoEscalation(
  user: User,
  rules: readonly PolicyRule[],
  namespace: string | undefined,
  rbac: RbacAuthorizer,
): string | undefined {
  const held = rbac.rulesFor(user, namespace);
  const missing = uncoveredRules(
    held.rules,
    rules,
    (atom: PolicyRule) => tokenRoleAllows(user.role, atomAttributes(atom, namespace)),
  );
  if (missing.length === 0) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg = `user "${user.name}" (groups=${goQuoted(user.groups)}) is attempting to grant RBAC ` +
    `permissions not currently held:\n${lines.join("\n")}`;
  if (held.errors.length > 0) msg += `; resolution errors: [${held.errors.join(" ")}]`;
  return msg;
}

/** The request an atom of one verb and one resource (or URL) stands for. */
function atomAttributes(atom: PolicyRule, namespace: string | undefined): AuthorizationAttributes {
  const verb = atom.verbs[0];
  if (atom.nonResourceURLs?.length) {
    return { verb, resourceRequest: false, path: atom.nonResourceURLs[0] };
  }
  const [resource, subresource] = (atom.resources?.[0] ?? "").split("/", 2);
  return {
    verb,
    resourceRequest: true,
    namespace,
    apiGroup: atom.apiGroups?.[0] ?? "",
    resource,
    subresource,
    name: atom.resourceNames?.[0],
  };
}

/**
 * Kubernetes' CompactRules: atoms of one group and one resource (no names, no URLs) that differ
 * only by verb become one rule with all their verbs.
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    const simple = r.apiGroups?.length === 1 && r.resources?.length === 1 &&
      !r.resourceNames?.length && !r.nonResourceURLs?.length;
    if (!simple) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups![0]}\u0000${r.resources![0]}`;
    const existing = byKey.get(key);
    if (existing) {
      for (const v of r.verbs) if (!existing.verbs.includes(v)) existing.verbs.push(v);
    } else {
      const copy = {
        apiGroups: [...r.apiGroups!],
        resources: [...r.resources!],
        verbs: [...r.verbs],
      };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** Kubernetes' IsOnlyMutatingGCFields: only ownerReferences/finalizers differ. */
export function onlyGcFieldsChange(next: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const copy = structuredClone(o);
    for (
      const f of [
        "ownerReferences",
        "finalizers",
        "resourceVersion",
        "managedFields",
        "generation",
        "uid",
        "creationTimestamp",
      ]
    ) delete (copy.metadata as Record<string, unknown>)[f];
    return copy;
  };
  return jsonEqual(strip(next), strip(old));
}
