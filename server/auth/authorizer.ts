/**
 * Who may do what, decided per resource request after authentication:
 * - `admin`: everything;
 * - `edit`: everything except changing nodes and namespaces (reading them is fine) — as
 *   Kubernetes' `edit` role, which may not relabel a namespace to relax its Pod Security level;
 * - `view`: get/list/watch of everything but Secrets, and no exec/attach/port-forward/proxy;
 * - `node`: a joined node's own credentials, narrowed by Kubernetes' NodeRestriction rules
 *   (server/auth/node_restriction.ts);
 * - `join`: nothing here — a join token only buys node credentials at `POST /skiff/v1/join`.
 * A refusal is a 403 Status with Kubernetes' message (`User "system:node:a" cannot get resource
 * "pods" in API group "" in the namespace "default"`).
 */
import { ForbiddenError } from "../../shared/errors.ts";
import type { RequestInfo } from "../api/request_info.ts";
import { nodeMayAccess, type NodeRestrictionDeps } from "./node_restriction.ts";
import type { Role } from "./token_store.ts";

/** The authenticated caller. */
export interface User {
  name: string;
  role: Role;
  nodeName?: string;
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
      return method.toLowerCase();
  }
}

/** The 403 for `user` doing `verb` on the request's resource. */
export function forbidden(user: User, verb: string, ri: RequestInfo): ForbiddenError {
  const resource = ri.subresource ? `${ri.resource}/${ri.subresource}` : ri.resource;
  const where = ri.namespace ? ` in the namespace "${ri.namespace}"` : " at the cluster scope";
  return new ForbiddenError(
    { resource: ri.resource, group: ri.group, name: ri.name },
    `User "${user.name}" cannot ${verb} resource "${resource}" in API group "${ri.group}"${where}`,
  );
}

/**
 * Role-based check for users (admin, edit, view); throws ForbiddenError. Node and join
 * credentials are always refused here: they need {@linkcode createAuthorizer}'s lookups.
 */
export function authorize(user: User, verb: string, ri: RequestInfo): void {
  if (!roleAllows(user.role, verb, ri)) throw forbidden(user, verb, ri);
}

/** The server's authorizer: roles for users, NodeRestriction for nodes. */
export function createAuthorizer(deps: NodeRestrictionDeps): Authorizer {
  return async function authorizeRequest(user, attrs) {
    if (user.role === "node") {
      if (user.nodeName && await nodeMayAccess(user.nodeName, attrs, deps)) return;
      throw forbidden(user, attrs.verb, attrs.ri);
    }
    authorize(user, attrs.verb, attrs.ri);
  };
}

function roleAllows(role: Role, verb: string, ri: RequestInfo): boolean {
  switch (role) {
    case "admin":
      return true;
    case "edit":
      // A namespace's labels decide its Pod Security level: changing them is an admin's call.
      return (ri.resource !== "nodes" && ri.resource !== "namespaces") || READ_VERBS.has(verb);
    case "view":
      return READ_VERBS.has(verb) && ri.resource !== "secrets" &&
        !STREAMING_SUBRESOURCES.has(ri.subresource ?? "");
    case "node":
    case "join":
      return false;
  }
}
