/**
 * PolicyRule semantics as Kubernetes' RBAC: whether a rule allows a request (verbs, API groups,
 * resources incl. `resource/subresource`, `*` and `*` + `/subresource`, resourceNames, non-resource
 * URLs with a trailing `*` prefix match), and whether a set of rules covers another (the
 * escalation check), by breaking rules down into one-verb/one-resource atoms.
 */
import type { PolicyRule } from "../../../shared/api/rbac_v1.ts";

/** What an authorizer decides on: one request by one user. */
export interface AuthorizationAttributes {
  verb: string;
  /** True for `/api/...` and `/apis/...` resource requests; false for a URL path. */
  resourceRequest: boolean;
  namespace?: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  /** The URL path of a non-resource request. */
  path?: string;
}

const ALL = "*";

function has(list: readonly string[] | undefined, value: string): boolean {
  return !!list && (list.includes(ALL) || list.includes(value));
}

/** Whether `rule` allows the request (Kubernetes' RuleAllows). */
export function ruleAllows(attrs: AuthorizationAttributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource!;
    return has(rule.verbs, attrs.verb) &&
      has(rule.apiGroups, attrs.apiGroup ?? "") &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name ?? "");
  }
  return has(rule.verbs, attrs.verb) && nonResourceURLMatches(rule, attrs.path ?? "");
}

function resourceMatches(rule: PolicyRule, combined: string, subresource?: string): boolean {
  return (rule.resources ?? []).some((r) =>
    r === ALL || r === combined || (!!subresource && r === `${ALL}/${subresource}`)
  );
}

function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** Whether a rule's non-resource URLs match `path` (`*`, exact, or `prefix*`). */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) =>
    u === ALL || u === path || (u.endsWith(ALL) && path.startsWith(u.slice(0, -1)))
  );
}

/** Whether any of `rules` allows the request. */
export function rulesAllow(attrs: AuthorizationAttributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(attrs, r));
}

/**
 * Splits a rule into atoms of one verb and one group/resource/name (or one URL), as
 * Kubernetes' BreakdownRule, so that a missing permission can be named precisely.
 */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
        for (const name of names) {
          out.push({
            apiGroups: [group],
            resources: [resource],
            resourceNames: [name],
            verbs: [verb],
          });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function coversAll(owner: readonly string[] | undefined, requested: readonly string[] | undefined) {
  const have = owner ?? [];
  return have.includes(ALL) || (requested ?? []).every((r) => have.includes(r));
}

function coversResources(owner: readonly string[] | undefined, requested: readonly string[]) {
  const have = owner ?? [];
  if (have.includes(ALL)) return true;
  return requested.every((r) => {
    if (have.includes(r)) return true;
    // `*/scale` covers `deployments/scale`.
    const slash = r.indexOf("/");
    return slash > 0 && have.includes(`${ALL}${r.slice(slash)}`);
  });
}

function coversURLs(owner: readonly string[] | undefined, requested: readonly string[]) {
  const have = owner ?? [];
  if (have.includes(ALL)) return true;
  return requested.every((u) =>
    have.some((o) => o === u || (o.endsWith(ALL) && u.startsWith(o.replace(/\*+$/, ""))))
  );
}

/** Whether `owner` grants everything `requested` (Kubernetes' ruleCovers). */
export function ruleCovers(owner: PolicyRule, requested: PolicyRule): boolean {
  const ownerNames = owner.resourceNames ?? [];
  const requestedNames = requested.resourceNames ?? [];
  // An owner limited to names covers only requests limited to some of those names.
  const namesMatch = ownerNames.length === 0 ||
    (requestedNames.length > 0 && coversAll(ownerNames, requestedNames));
  return coversAll(owner.verbs, requested.verbs) &&
    coversAll(owner.apiGroups, requested.apiGroups) &&
    coversResources(owner.resources, requested.resources ?? []) &&
    coversURLs(owner.nonResourceURLs, requested.nonResourceURLs ?? []) &&
    namesMatch;
}

/**
 * Whether `owner` rules cover `requested` ones; returns the atoms that are not covered, in
 * order (Kubernetes' Covers). `extraCover` may cover an atom the rules do not (token roles).
 */
export function uncoveredRules(
  owner: readonly PolicyRule[],
  requested: readonly PolicyRule[],
  extraCover?: (atom: PolicyRule) => boolean,
): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of requested) {
    for (const atom of breakdownRule(rule)) {
      if (owner.some((o) => ruleCovers(o, atom))) continue;
      if (extraCover?.(atom)) continue;
      missing.push(atom);
    }
  }
  return missing;
}

function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/** A rule as Kubernetes' CompactString prints it: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  if (rule.apiGroups?.length) parts.push(`APIGroups:${goQuoted(rule.apiGroups)}`);
  if (rule.resources?.length) parts.push(`Resources:${goQuoted(rule.resources)}`);
  if (rule.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoted(rule.nonResourceURLs)}`);
  if (rule.resourceNames?.length) parts.push(`ResourceNames:${goQuoted(rule.resourceNames)}`);
  if (rule.verbs.length) parts.push(`Verbs:${goQuoted(rule.verbs)}`);
  return `{${parts.join(", ")}}`;
}

export { goQuoted };
