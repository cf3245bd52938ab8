/**
 * The RBAC authorizer, as Kubernetes': a request is allowed when a rule of a role bound to the
 * user (by name, group or ServiceAccount identity) allows it; otherwise RBAC has no opinion and
 * names the bindings it could not resolve (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not
 * found`). Also answers "which rules do I hold here" for SelfSubjectRulesReview and the
 * escalation check.
 */
import type { KubeObject } from "../../../shared/api/object.ts";
import type { PolicyRule, Subject } from "../../../shared/api/rbac_v1.ts";
import { type AuthorizationAttributes, ruleAllows } from "./policy_rule.ts";
import { type RuleResolver, type Subjectlike, userKeys } from "./rule_resolver.ts";
import { aggregateMessage } from "../../../shared/errors.ts";

/** An authorizer's answer. */
export interface Decision {
  allowed: boolean;
  /** Why (`RBAC: allowed by ...`) or what went wrong; empty when there is nothing to say. */
  reason: string;
}

/** Evaluates RBAC over a {@linkcode RuleResolver}. */
export class RbacAuthorizer {
  readonly resolver: RuleResolver;

  constructor(resolver: RuleResolver) {
    this.resolver = resolver;
  }

  /** Whether RBAC allows `attrs` for `user`. */
  authorize(user: Subjectlike, attrs: AuthorizationAttributes): Decision {
    let reason = "";
    const errors: string[] = [];
    this.resolver.visitRules(user, attrs.namespace, ({ binding, rules, error }) => {
      if (error) errors.push(error);
      if (!rules.some((r) => ruleAllows(attrs, r))) return true;
      reason = `RBAC: allowed by ${describeBinding(binding, user)}`;
      return false;
    });
    if (reason) return { allowed: true, reason };
    const why = errors.length === 0 ? "" : `RBAC: ${aggregateMessage(errors)}`;
    return { allowed: false, reason: why };
  }

  /** The rules `user` holds in `namespace` (cluster-wide only when absent), and resolution errors. */
  rulesFor(user: Subjectlike, namespace?: string): { rules: PolicyRule[]; errors: string[] } {
    return this.resolver.rulesFor(user, namespace);
  }
}

/** `ClusterRoleBinding "b" of ClusterRole "r" to User "u"`, as Kubernetes words it. */
function describeBinding(binding: KubeObject, user: Subjectlike): string {
  const ns = binding.metadata.namespace as string | undefined;
  const keys = new Set(userKeys(user));
  const subject = ((binding.subjects ?? []) as Subject[]).find((s) => {
    if (s.kind === "ServiceAccount") {
      return keys.has(`ServiceAccount:${s.namespace || ns}:${s.name}`);
    }
    return keys.has(`${s.kind}:${s.name}`);
  });
  const who = !subject
    ? ""
    : subject.kind === "ServiceAccount"
    ? ` to ServiceAccount "${subject.name}/${subject.namespace || ns}"`
    : ` to ${subject.kind} "${subject.name}"`;
  const ref = binding.roleRef;
  const what = ns
    ? `RoleBinding "${binding.metadata.name}/${ns}"`
    : `ClusterRoleBinding "${binding.metadata.name}"`;
  return `${what} of ${ref.kind} "${ref.name}"${who}`;
}
