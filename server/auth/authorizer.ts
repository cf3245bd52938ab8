/**
 * Who may do what, decided per resource request after authentication:
 * - `admin`: everything;
 * - `edit`: everything except changing nodes and namespaces (reading them is fine) — as
 *   Kubernetes' `edit` role, which may not relabel a namespace to relax its Pod Security level —
 *   and `nodes/proxy` (the node agents' API);
 * - `view`: get/list/watch of everything but Secrets, and no exec/attach/port-forward/proxy;
 * - `node`: a joined node's own credentials, narrowed by Kubernetes' NodeRestriction rules
 *   (server/auth/node_restriction.ts);
 * - `join`: nothing here — a join token only buys node credentials at `POST /skiff/v1/join`;
 * - `serviceaccount`: nothing but its self-reviews (can-i, whoami); RBAC grants the rest.
 * Every role may create its own SelfSubjectAccessReview/RulesReview and SelfSubjectReview, and
 * no role but `admin` holds RBAC's `escalate` and `bind` verbs (else `edit` could bind itself to
 * cluster-admin) or `impersonate`, except that `edit` may impersonate ServiceAccounts, as
 * Kubernetes' `edit` role: it can already run pods as them and request their tokens.
 *
 * RBAC (server/auth/rbac/) is evaluated in addition for every user but nodes and join tokens: a
 * request is allowed when the token role OR an RBAC binding allows it.
 * A refusal is a 403 Status with Kubernetes' message (`User "system:node:a" cannot get resource
 * "pods" in API group "" in the namespace "default"`).
 */
import { ApiError, ForbiddenError } from "../../shared/errors.ts";
import type { RequestInfo } from "../api/request_info.ts";
import { nodeMayAccess, type NodeRestrictionDeps } from "./node_restriction.ts";
import type { Role } from "./token_store.ts";
import type { AuthorizationAttributes } from "./rbac/policy_rule.ts";
import type { Decision, RbacAuthorizer } from "./rbac/rbac_authorizer.ts";

/**
 * The authenticated caller, as Kubernetes' `user.Info`: `name` is the username
 * (`system:serviceaccount:<ns>:<sa>`, `system:node:<node>`, `token:<id>`), `groups` its groups
 * (always including `system:authenticated`), `uid` and `extra` what the authenticator knows
 * beyond that (a ServiceAccount's uid; the bound pod's name and uid in `extra`, under
 * Kubernetes' `authentication.kubernetes.io/…` keys). `role` is Skiff's token role.
 */
export interface User {
  name: string;
  role: Role;
  /** Kubernetes groups (`system:authenticated`, `system:masters`, ...), which RBAC matches. */
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  nodeName?: string;
}

/** The group of every authenticated user. */
export const AUTHENTICATED_GROUP = "system:authenticated";
/** The group that holds every permission (Skiff admin tokens and the in-process controllers). */
export const MASTERS_GROUP = "system:masters";

/** The groups of a token role's users, as Kubernetes would give them. */
export function groupsOf(role: Role): string[] {
  switch (role) {
    case "admin":
      return [MASTERS_GROUP, AUTHENTICATED_GROUP];
    case "node":
      return ["system:nodes", AUTHENTICATED_GROUP];
    case "join":
      return ["system:bootstrappers", AUTHENTICATED_GROUP];
    default:
      return [AUTHENTICATED_GROUP];
  }
}

/** What an authorizer looks at besides the user. */
export interface RequestAttributes {
  /** Kubernetes verb ({@linkcode verbOf}). */
  verb: string;
  ri: RequestInfo;
  /** The request itself, for its query (field selectors) and body (a node creating its Node). */
  request: Request;
}

/** Throws ForbiddenError when `user` may not make the request. */
export type Authorizer = (user: User, attrs: RequestAttributes) => void | Promise<void>;

const READ_VERBS = new Set(["get", "list", "watch"]);
/** RBAC verbs that would let their holder grant itself more: reserved to `admin`. */
const PRIVILEGE_VERBS = new Set(["escalate", "bind", "impersonate", "*"]);
/** The reviews every user may ask about itself (Kubernetes' system:basic-user). */
const SELF_REVIEWS = new Set([
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
  "authentication.k8s.io/selfsubjectreviews",
]);
/** Subresources that run code or open connections in pods: never "read-only". */
const STREAMING_SUBRESOURCES = new Set(["exec", "attach", "portforward", "proxy"]);

/** The Kubernetes verb of a resource request. */
export function verbOf(method: string, ri: RequestInfo, watch: boolean): string {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      if (ri.name === undefined) return watch ? "watch" : "list";
      return "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return ri.name === undefined ? "deletecollection" : "delete";
    default:
      // kube-apiserver's RequestInfoResolver: any other method (OPTIONS through a proxy
      // subresource) has the empty verb, which only a `*` rule matches.
      return "";
  }
}

/** The 403 for `user` doing `verb` on the request's resource (`: reason` appended when given). */
export function forbidden(
  user: User,
  verb: string,
  ri: RequestInfo,
  reason = "",
): ForbiddenError {
  const resource = ri.subresource ? `${ri.resource}/${ri.subresource}` : ri.resource;
  const where = ri.namespace ? ` in the namespace "${ri.namespace}"` : " at the cluster scope";
  return new ForbiddenError(
    { resource: ri.resource, group: ri.group, name: ri.name },
    `User "${user.name}" cannot ${verb} resource "${resource}" in API group "${ri.group}"${where}` +
      (reason ? `: ${reason}` : ""),
  );
}

/** The authorization attributes of a resource request. */
export function resourceAttributes(verb: string, ri: RequestInfo): AuthorizationAttributes {
  return {
    verb,
    resourceRequest: true,
    namespace: ri.namespace,
    apiGroup: ri.group,
    apiVersion: ri.version,
    resource: ri.resource,
    subresource: ri.subresource,
    name: ri.name,
  };
}

/**
 * Token role OR RBAC, for users (never nodes or join tokens): the decision behind resource
 * requests, SelfSubjectAccessReviews and the `escalate`/`bind` checks.
 */
export function decide(
  user: User,
  attrs: AuthorizationAttributes,
  rbac: RbacAuthorizer | undefined,
): Decision {
  if (user.role === "node" || user.role === "join") return { allowed: false, reason: "" };
  if (tokenRoleAllows(user.role, attrs)) return { allowed: true, reason: "" };
  return rbac ? rbac.authorize(user, attrs) : { allowed: false, reason: "" };
}

/**
 * Throws kube-apiserver's 403 unless `user` may `verb` the non-resource URL `path` (`/metrics`,
 * the ServiceAccount issuer's discovery documents): token role OR RBAC, as {@linkcode decide}.
 */
export function authorizeNonResourceURL(
  user: User,
  request: { verb: string; path: string },
  rbac: RbacAuthorizer | undefined,
): void {
  const attrs = { verb: request.verb, resourceRequest: false, path: request.path };
  if (decide(user, attrs, rbac).allowed) return;
  throw new ApiError(
    403,
    "Forbidden",
    `forbidden: User "${user.name}" cannot ${request.verb} path "${request.path}"`,
  );
}

/** Whether a token role alone allows a request (resource or non-resource). */
export function tokenRoleAllows(role: Role, attrs: AuthorizationAttributes): boolean {
  if (attrs.resourceRequest) {
    return roleAllows(role, attrs.verb, {
      group: attrs.apiGroup ?? "",
      version: attrs.apiVersion ?? "",
      resource: attrs.resource ?? "",
      subresource: attrs.subresource,
      namespace: attrs.namespace,
      name: attrs.name,
    });
  }
  // Non-resource URLs (/metrics, /version, discovery): admins do anything, users read them.
  if (role === "admin") return true;
  return (role === "edit" || role === "view") && attrs.verb === "get";
}

/**
 * Role-based check for users (admin, edit, view); throws ForbiddenError. Node and join
 * credentials are always refused here: they need {@linkcode createAuthorizer}'s lookups.
 */
export function authorize(user: User, verb: string, ri: RequestInfo): void {
  if (!roleAllows(user.role, verb, ri)) throw forbidden(user, verb, ri);
}

/**
 * The server's authorizer: NodeRestriction for nodes, nothing for join tokens, the token role
 * OR RBAC (when given) for everyone else.
 */
export function createAuthorizer(
  deps: NodeRestrictionDeps & { rbac?: RbacAuthorizer },
): Authorizer {
  return async function authorizeRequest(user, attrs) {
    if (user.role === "node") {
      if (user.nodeName && await nodeMayAccess(user.nodeName, attrs, deps)) return;
      throw forbidden(user, attrs.verb, attrs.ri);
    }
    const decision = decide(user, resourceAttributes(attrs.verb, attrs.ri), deps.rbac);
    if (!decision.allowed) throw forbidden(user, attrs.verb, attrs.ri, decision.reason);
  };
}

function roleAllows(role: Role, verb: string, ri: RequestInfo): boolean {
  if (role === "node" || role === "join") return false;
  if (verb === "create" && !ri.subresource && SELF_REVIEWS.has(`${ri.group}/${ri.resource}`)) {
    return true;
  }
  switch (role) {
    case "admin":
      return true;
    case "edit":
      if (verb === "impersonate") {
        return ri.group === "" && ri.resource === "serviceaccounts" && !ri.subresource;
      }
      if (PRIVILEGE_VERBS.has(verb)) return false;
      if (ri.resource === "*" || ri.group === "*") return READ_VERBS.has(verb);
      // `nodes/proxy` reaches the node agent's API with the server's own credential (every
      // pod's logs and exec): Kubernetes' `edit` role does not hold it either.
      if (ri.resource === "nodes" && ri.subresource === "proxy") return false;
      // A namespace's labels decide its Pod Security level: changing them is an admin's call.
      return (ri.resource !== "nodes" && ri.resource !== "namespaces") || READ_VERBS.has(verb);
    case "view":
      return READ_VERBS.has(verb) && ri.resource !== "secrets" && ri.resource !== "*" &&
        !STREAMING_SUBRESOURCES.has(ri.subresource ?? "");
    case "serviceaccount":
      return false;
  }
}
