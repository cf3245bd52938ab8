/**
 * Who may do what. Roles: `admin` everything; `edit` everything but nodes and tokens; `view`
 * read-only; `node`/`join` are the agents' credentials (Kubernetes' NodeRestriction narrows them
 * in server/auth/node_restriction.ts when that lands). Answers 403 with Kubernetes' message.
 */
import { ForbiddenError } from "../../shared/errors.ts";
import type { RequestInfo } from "../api/request_info.ts";
import type { Role } from "./token_store.ts";

/** The authenticated caller. */
export interface User {
  name: string;
  role: Role;
  nodeName?: string;
}

const READ_VERBS = new Set(["get", "list", "watch"]);

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

/** Throws ForbiddenError unless `user` may do `verb` on the request's resource. */
export function authorize(user: User, verb: string, ri: RequestInfo): void {
  if (allowed(user, verb, ri)) return;
  const resource = ri.subresource ? `${ri.resource}/${ri.subresource}` : ri.resource;
  const where = ri.namespace ? ` in the namespace "${ri.namespace}"` : "";
  const scope = ri.namespace ? "" : " at the cluster scope";
  throw new ForbiddenError(
    { resource: ri.resource, group: ri.group, name: ri.name },
    `User "${user.name}" cannot ${verb} resource "${resource}" in API group "${ri.group}"${where}${scope}`,
  );
}

function allowed(user: User, verb: string, ri: RequestInfo): boolean {
  switch (user.role) {
    case "admin":
    case "node":
    case "join":
      return true;
    case "view":
      return READ_VERBS.has(verb) && ri.resource !== "secrets";
    case "edit":
      return ri.resource !== "nodes" || READ_VERBS.has(verb);
  }
}
