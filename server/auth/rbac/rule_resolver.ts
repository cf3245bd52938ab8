/**
 * Which rules apply to a user, as Kubernetes' DefaultRuleResolver: the rules of every
 * ClusterRole bound to the user by a ClusterRoleBinding, then — for a namespace — of every Role
 * or ClusterRole bound by a RoleBinding in that namespace. Bindings are found through a
 * subject index on the listers (no scan of every binding, no store read per request).
 */
import type { KubeObject } from "../../../shared/api/object.ts";
import type { PolicyRule, RoleRef, Subject } from "../../../shared/api/rbac_v1.ts";
import type { Lister } from "../../../shared/lister.ts";

/** The identity RBAC sees: a name and groups. */
export interface Subjectlike {
  name: string;
  groups: readonly string[];
}

/** The RBAC listers the resolver reads. */
export interface RbacListers {
  roles: Lister<KubeObject>;
  clusterRoles: Lister<KubeObject>;
  roleBindings: Lister<KubeObject>;
  clusterRoleBindings: Lister<KubeObject>;
}

/**
 * The index of bindings by the subjects they name (`User:alice`, `ServiceAccount:ns:sa`); a
 * RoleBinding's values are prefixed with its namespace (`team/Group:dev`), so a request reads
 * only the bindings of its own namespace.
 */
export const SUBJECT_INDEX = "rbac-subject";

const SA_PREFIX = "system:serviceaccount:";

/** The index keys of one binding's subjects; ServiceAccounts default to the binding's namespace. */
export function subjectKeys(binding: KubeObject): string[] {
  const keys: string[] = [];
  const bindingNs: string | undefined = binding.metadata.namespace;
  const prefix = bindingNs ? `${bindingNs}/` : "";
  for (const s of (binding.subjects ?? []) as Subject[]) {
    if (s.kind === "ServiceAccount") {
      const ns = s.namespace || bindingNs;
      if (ns) keys.push(`${prefix}ServiceAccount:${ns}:${s.name}`);
    } else if (s.kind === "User" || s.kind === "Group") {
      keys.push(`${prefix}${s.kind}:${s.name}`);
    }
  }
  return keys;
}

/** The index keys under which bindings that apply to `user` are found. */
export function userKeys(user: Subjectlike): string[] {
  const keys = [`User:${user.name}`, ...user.groups.map((g) => `Group:${g}`)];
  if (user.name.startsWith(SA_PREFIX)) {
    const [ns, name] = user.name.slice(SA_PREFIX.length).split(":");
    if (ns && name) keys.push(`ServiceAccount:${ns}:${name}`);
  }
  return keys;
}

/** One binding's role and its rules (or why they could not be read). */
export interface BindingRules {
  binding: KubeObject;
  rules: PolicyRule[];
  error?: string;
}

/** Resolves users' rules over RBAC listers; see the module comment. */
export class RuleResolver {
  readonly #listers: RbacListers;

  constructor(listers: RbacListers) {
    this.#listers = listers;
    listers.roleBindings.addIndexer(SUBJECT_INDEX, subjectKeys);
    listers.clusterRoleBindings.addIndexer(SUBJECT_INDEX, subjectKeys);
  }

  /** The rules of the role a binding in `namespace` ("" for a ClusterRoleBinding) refers to. */
  roleRefRules(ref: RoleRef, namespace: string): { rules: PolicyRule[]; error?: string } {
    if (ref.kind === "Role" && namespace) {
      const role = this.#listers.roles.get(`${namespace}/${ref.name}`);
      if (!role) {
        return { rules: [], error: `role.rbac.authorization.k8s.io "${ref.name}" not found` };
      }
      return { rules: role.rules ?? [] };
    }
    if (ref.kind === "ClusterRole") {
      const role = this.#listers.clusterRoles.get(ref.name);
      if (!role) {
        return {
          rules: [],
          error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`,
        };
      }
      return { rules: role.rules ?? [] };
    }
    return { rules: [], error: `unsupported role reference kind: "${ref.kind}"` };
  }

  /**
   * The bindings that apply to `user` with their rules: cluster-wide ones first, then those of
   * `namespace` when given. Stops early when `visit` returns false.
   */
  visitRules(
    user: Subjectlike,
    namespace: string | undefined,
    visit: (b: BindingRules) => boolean | void,
  ): void {
    const keys = userKeys(user);
    const seen = new Set<KubeObject>();
    const walk = (lister: Lister<KubeObject>, ns: string): boolean => {
      const prefix = ns ? `${ns}/` : "";
      for (const key of keys) {
        for (const binding of lister.byIndex(SUBJECT_INDEX, prefix + key)) {
          if (seen.has(binding)) continue;
          seen.add(binding);
          const { rules, error } = this.roleRefRules(binding.roleRef, ns);
          if (visit({ binding, rules, error }) === false) return false;
        }
      }
      return true;
    };
    if (!walk(this.#listers.clusterRoleBindings, "")) return;
    if (namespace) walk(this.#listers.roleBindings, namespace);
  }

  /** Every rule that applies to `user` in `namespace` (cluster-wide only when absent), with errors. */
  rulesFor(user: Subjectlike, namespace?: string): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.visitRules(user, namespace, (b) => {
      rules.push(...b.rules);
      if (b.error) errors.push(b.error);
    });
    return { rules, errors };
  }
}
