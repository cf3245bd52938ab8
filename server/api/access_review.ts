/**
 * The review endpoints, answered on the spot and never stored (kube-apiserver's behaviour):
 * - `SelfSubjectAccessReview` (`kubectl auth can-i`): may the caller do this? (token role OR RBAC);
 * - `SelfSubjectRulesReview` (`kubectl auth can-i --list`): what may the caller do in a namespace?
 * - `SubjectAccessReview` / `LocalSubjectAccessReview`: may that user (name, groups) do this?
 *   Answered by RBAC, plus the token role when the user names a Skiff token (`token:<id>`);
 * - `SelfSubjectReview` (`kubectl auth whoami`): who is the caller?
 * Creating a review is itself authorized like any request (`create selfsubjectaccessreviews`).
 */
import type { Hono } from "hono";
import type { PolicyRule } from "../../shared/api/rbac_v1.ts";
import { findResource } from "../../shared/api/resources.ts";
import { validateCreate } from "../../shared/api/validation.ts";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import { InvalidError } from "../../shared/errors.ts";
import { type Authorizer, decide, tokenRoleAllows, type User } from "../auth/authorizer.ts";
import type { AuthorizationAttributes } from "../auth/rbac/policy_rule.ts";
import type { RbacAuthorizer } from "../auth/rbac/rbac_authorizer.ts";
import type { Role } from "../auth/token_store.ts";
import { readBody } from "./body.ts";
import { jsonResponse } from "./responses.ts";
import { servedResources } from "../registry/served_resources.ts";

/** What the review routes need. */
export interface AccessReviewDeps {
  authorizer: Authorizer;
  rbac: RbacAuthorizer;
  /** The token role of a user name (`token:<id>`), for SubjectAccessReviews about Skiff tokens. */
  roleOf?: (userName: string) => Role | undefined;
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Mounts the review routes on `app` (after authentication, before the resource routes). */
export function mountAccessReviews(
  app: Hono<{ Variables: { user: User } }>,
  deps: AccessReviewDeps,
): void {
  const route = (
    group: string,
    plural: string,
    answer: (user: User, review: Obj, namespace?: string) => Obj,
  ) => {
    const handler = async (c: {
      req: { raw: Request; param: (k: string) => string | undefined };
      get: (k: "user") => User;
    }) => {
      const user = c.get("user");
      const namespace = c.req.param("namespace");
      const ri = { group, version: "v1", resource: plural, namespace };
      await deps.authorizer(user, { verb: "create", ri, request: c.req.raw });
      const info = findResource(group, "v1", plural)!;
      const review = validateCreate(info, withName(await readBody(c.req.raw)));
      delete review.metadata.name;
      review.status = undefined;
      const status = answer(user, review, namespace);
      return jsonResponse({ ...review, metadata: review.metadata, status }, 201);
    };
    const base = `/apis/${group}/v1`;
    if (findResource(group, "v1", plural)!.namespaced) {
      app.post(`${base}/namespaces/:namespace/${plural}`, handler);
    } else {
      app.post(`${base}/${plural}`, handler);
    }
  };

  route("authorization.k8s.io", "selfsubjectaccessreviews", (user, review) => {
    const attrs = reviewAttributes(review, "SelfSubjectAccessReview");
    return decisionStatus(decide(user, attrs, deps.rbac));
  });
  route("authorization.k8s.io", "subjectaccessreviews", (_, review) => {
    return subjectDecision(review, reviewAttributes(review, "SubjectAccessReview"), deps);
  });
  route("authorization.k8s.io", "localsubjectaccessreviews", (_, review, namespace) => {
    const attrs = reviewAttributes(review, "LocalSubjectAccessReview", namespace);
    return subjectDecision(review, attrs, deps);
  });
  route("authorization.k8s.io", "selfsubjectrulesreviews", (user, review) => {
    return rulesReviewStatus(user, review.spec?.namespace ?? "", deps.rbac);
  });
  route("authentication.k8s.io", "selfsubjectreviews", (user) => ({
    userInfo: {
      username: user.name,
      ...(user.uid ? { uid: user.uid } : {}),
      groups: user.groups,
      ...(user.extra ? { extra: user.extra } : {}),
    },
  }));
}

/** Reviews have no name; the generic name rule must not refuse them. */
function withName(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const b = body as Obj;
  return { ...b, metadata: { ...(b.metadata ?? {}), name: "review" } };
}

function decisionStatus(d: { allowed: boolean; reason: string }): Obj {
  return { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
}

/** The authorization attributes a review asks about, validated as Kubernetes does. */
export function reviewAttributes(
  review: Obj,
  kind: string,
  urlNamespace?: string,
): AuthorizationAttributes {
  const spec: Obj = review.spec ?? {};
  const errs = new FieldErrors();
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if ((r === undefined) === (n === undefined)) {
    errs.invalid(
      "spec.resourceAttributes",
      r ?? null,
      "exactly one of nonResourceAttributes or resourceAttributes must be specified",
    );
  }
  if (kind === "SubjectAccessReview" || kind === "LocalSubjectAccessReview") {
    if (!spec.user && !(spec.groups ?? []).length) {
      errs.invalid("spec.user", spec.user ?? "", "at least one of user or group must be specified");
    }
  }
  if (kind === "LocalSubjectAccessReview") {
    if (n !== undefined) {
      errs.invalid("spec.nonResourceAttributes", n, "disallowed on this kind of request");
    }
    if (r && (r.namespace ?? "") !== urlNamespace) {
      errs.invalid(
        "spec.resourceAttributes.namespace",
        r.namespace ?? "",
        "must match metadata.namespace",
      );
    }
  }
  if (!errs.empty) {
    throw new InvalidError(
      { kind, resource: `${kind.toLowerCase()}s`, group: "authorization.k8s.io" },
      errs.causes,
    );
  }
  if (n) return { verb: n.verb ?? "", resourceRequest: false, path: n.path ?? "" };
  return {
    verb: r.verb ?? "",
    resourceRequest: true,
    namespace: r.namespace || undefined,
    apiGroup: r.group ?? "",
    apiVersion: r.version ?? "",
    resource: r.resource ?? "",
    subresource: r.subresource || undefined,
    name: r.name || undefined,
  };
}

function subjectDecision(review: Obj, attrs: AuthorizationAttributes, deps: AccessReviewDeps): Obj {
  const spec: Obj = review.spec;
  const name: string = spec.user ?? "";
  const role = deps.roleOf?.(name) ?? "serviceaccount";
  const user: User = { name, role, groups: spec.groups ?? [] };
  return decisionStatus(decide(user, attrs, deps.rbac));
}

/**
 * `kubectl auth can-i --list`: the caller's RBAC rules in the namespace plus what its token role
 * allows on the served resources, as resource and non-resource rules.
 */
export function rulesReviewStatus(user: User, namespace: string, rbac: RbacAuthorizer): Obj {
  const held = user.role === "node" || user.role === "join"
    ? { rules: [], errors: [] }
    : rbac.rulesFor(user, namespace || undefined);
  const rules = [...tokenRoleRules(user.role, namespace), ...held.rules];
  const resourceRules = rules.filter((r) => !r.nonResourceURLs?.length).map((r) => ({
    verbs: r.verbs,
    ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
    ...(r.resources ? { resources: r.resources } : {}),
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
  }));
  const nonResourceRules = rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({
    verbs: r.verbs,
    nonResourceURLs: r.nonResourceURLs,
  }));
  return {
    resourceRules,
    nonResourceRules,
    incomplete: held.errors.length > 0,
    ...(held.errors.length ? { evaluationError: held.errors.join(", ") } : {}),
  };
}

const CANDIDATE_VERBS = [
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
];

/** A token role written out as rules over the served resources (what it allows in `namespace`). */
export function tokenRoleRules(role: Role, namespace: string): PolicyRule[] {
  if (role === "admin") {
    return [
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["*"], nonResourceURLs: ["*"] },
    ];
  }
  const out: PolicyRule[] = [];
  const byVerbs = new Map<string, PolicyRule>();
  for (const r of servedResources()) {
    const names = [r.plural, ...r.subresources.map((s) => `${r.plural}/${s}`)];
    for (const resource of names) {
      const [plural, subresource] = resource.split("/");
      const verbs = CANDIDATE_VERBS.filter((verb) =>
        (subresource !== undefined || r.verbs.includes(verb)) &&
        tokenRoleAllows(role, {
          verb,
          resourceRequest: true,
          apiGroup: r.group,
          apiVersion: r.version,
          resource: plural,
          subresource,
          namespace: namespace || undefined,
        })
      );
      if (verbs.length === 0) continue;
      const key = `${r.group}\u0000${verbs.join(",")}`;
      const existing = byVerbs.get(key);
      if (existing) {
        if (!existing.resources!.includes(resource)) existing.resources!.push(resource);
      } else {
        const rule = { verbs, apiGroups: [r.group], resources: [resource] };
        byVerbs.set(key, rule);
        out.push(rule);
      }
    }
  }
  if (role === "edit" || role === "view") out.push({ verbs: ["get"], nonResourceURLs: ["*"] });
  return out;
}
