/**
 * User impersonation (`kubectl --as`, `--as-group`, `--as-uid`, a kubeconfig's
 * `as-user-extra`), as kube-apiserver's WithImpersonation filter: the `Impersonate-User`,
 * `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>` headers each name one thing
 * to act as, and the authenticated caller must be allowed the verb `impersonate` on every one of them — `users`,
 * `groups` (core group, cluster scope), `serviceaccounts` (core group, in the ServiceAccount's
 * namespace) for a `system:serviceaccount:<ns>:<name>` user, `uids` and `userextras/<key>`
 * (`authentication.k8s.io`). The request then proceeds as the impersonated user alone: its name,
 * the groups asked for (a ServiceAccount's own groups when none are), `system:authenticated`
 * added unless `system:authenticated` or `system:unauthenticated` was asked for, its uid and
 * extras. Nothing of the caller's identity remains.
 *
 * The decision is the token role OR RBAC, as for any request ({@linkcode decide}): `admin`
 * tokens and RBAC's cluster-admin may impersonate anyone, an `edit` token (as Kubernetes' `edit`
 * role) ServiceAccounts; nodes and join tokens never impersonate. An impersonated `token:<id>`
 * user keeps that token's role, as SubjectAccessReview answers for it.
 */
import { BadRequestError } from "../../shared/errors.ts";
import type { RequestInfo } from "../api/request_info.ts";
import {
  AUTHENTICATED_GROUP,
  decide,
  forbidden,
  resourceAttributes,
  type User,
} from "./authorizer.ts";
import type { RbacAuthorizer } from "./rbac/rbac_authorizer.ts";
import { serviceAccountGroups, splitServiceAccountUsername } from "./service_account_auth.ts";
import { serviceAccountUsername } from "./service_account_token.ts";
import type { Role } from "./token_store.ts";

/** The headers kubectl and client-go send (Fetch's `Headers` lower-cases names). */
export const IMPERSONATE_USER_HEADER = "impersonate-user";
export const IMPERSONATE_GROUP_HEADER = "impersonate-group";
export const IMPERSONATE_UID_HEADER = "impersonate-uid";
export const IMPERSONATE_EXTRA_HEADER_PREFIX = "impersonate-extra-";

/** The username of the anonymous user and the groups impersonation adds. */
const ANONYMOUS_USER = "system:anonymous";
const UNAUTHENTICATED_GROUP = "system:unauthenticated";
const AUTHENTICATION_GROUP = "authentication.k8s.io";

/**
 * One thing a request asks to act as, authorized on its own — Kubernetes' ObjectReference per
 * item: `name` is the user, ServiceAccount, group, extra value or uid.
 */
export interface ImpersonationRequest {
  kind: "User" | "ServiceAccount" | "Group" | "UserExtra" | "UID";
  name: string;
  /** A ServiceAccount's namespace. */
  namespace?: string;
  /** A UserExtra's key. */
  extraKey?: string;
}

/** What deciding an impersonation reads. */
export interface ImpersonationDeps {
  rbac?: RbacAuthorizer;
  /** The token role of a user name (`token:<id>`); any other impersonated user has RBAC only. */
  roleOf?: (userName: string) => Role | undefined;
}

/**
 * The things `headers` ask to impersonate, in Kubernetes' order (user, groups, extras, uid);
 * empty when they ask for nothing. Throws a 400 when groups, extras or a uid come without a user.
 */
export function impersonationRequests(headers: Headers): ImpersonationRequest[] {
  const requests: ImpersonationRequest[] = [];
  const userName = headers.get(IMPERSONATE_USER_HEADER) ?? "";
  if (userName) {
    const sa = splitServiceAccountUsername(userName);
    requests.push(
      sa ? { kind: "ServiceAccount", ...sa } : { kind: "User", name: userName },
    );
  }
  const groups = headerValues(headers, IMPERSONATE_GROUP_HEADER);
  for (const group of groups) requests.push({ kind: "Group", name: group });
  let hasExtra = false;
  for (const [header, value] of headers) {
    if (!header.startsWith(IMPERSONATE_EXTRA_HEADER_PREFIX)) continue;
    hasExtra = true;
    const extraKey = unescapeExtraKey(header.slice(IMPERSONATE_EXTRA_HEADER_PREFIX.length));
    for (const v of splitCombined(value)) requests.push({ kind: "UserExtra", name: v, extraKey });
  }
  const uid = headers.get(IMPERSONATE_UID_HEADER) ?? "";
  if (uid) requests.push({ kind: "UID", name: uid });
  if ((groups.length > 0 || hasExtra || uid) && !userName) {
    throw new BadRequestError(
      `requested [${requests.map(goObjectReference).join(" ")}] without impersonating a user`,
    );
  }
  return requests;
}

/**
 * The user a request acts as: `caller` itself when it asks to impersonate nobody, else the
 * impersonated user once `caller` may impersonate every part of it. Throws a 400 for groups,
 * extras or a uid without a user, and a 403 naming the first part refused
 * (`users "jane" is forbidden: User "token:v" cannot impersonate resource "users" in API group
 * "" at the cluster scope`).
 */
export function impersonate(caller: User, headers: Headers, deps: ImpersonationDeps): User {
  const requests = impersonationRequests(headers);
  if (requests.length === 0) return caller;
  for (const request of requests) {
    const ri = requestInfoOf(request);
    const decision = decide(caller, resourceAttributes("impersonate", ri), deps.rbac);
    if (!decision.allowed) throw forbidden(caller, "impersonate", ri, decision.reason);
  }
  return impersonatedUser(requests, deps);
}

/** The user `requests` (all of them authorized) describe. */
export function impersonatedUser(
  requests: readonly ImpersonationRequest[],
  deps: Pick<ImpersonationDeps, "roleOf"> = {},
): User {
  const groupsGiven = requests.some((r) => r.kind === "Group");
  let name = "";
  let uid = "";
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const r of requests) {
    switch (r.kind) {
      case "ServiceAccount":
        name = serviceAccountUsername(r.namespace!, r.name);
        // A ServiceAccount's groups are fixed by its namespace; given groups replace them.
        if (!groupsGiven) groups = serviceAccountGroups(r.namespace!);
        break;
      case "User":
        name = r.name;
        break;
      case "Group":
        groups.push(r.name);
        break;
      case "UserExtra":
        (extra[r.extraKey!] ??= []).push(r.name);
        break;
      case "UID":
        uid = r.name;
        break;
    }
  }
  groups = withAllUsersGroup(name, groups);
  return {
    name,
    role: deps.roleOf?.(name) ?? "serviceaccount",
    groups,
    ...(uid ? { uid } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

/**
 * Kubernetes adds `system:authenticated` to a non-anonymous impersonated user unless it or
 * `system:unauthenticated` was asked for, and `system:unauthenticated` to the anonymous user.
 */
function withAllUsersGroup(name: string, groups: string[]): string[] {
  if (name === ANONYMOUS_USER) {
    return groups.includes(UNAUTHENTICATED_GROUP) ? groups : [...groups, UNAUTHENTICATED_GROUP];
  }
  const hasAllUsersGroup = groups.some((g) =>
    g === AUTHENTICATED_GROUP || g === UNAUTHENTICATED_GROUP
  );
  return hasAllUsersGroup ? groups : [...groups, AUTHENTICATED_GROUP];
}

/** The resource `impersonate` is checked on for one request. */
function requestInfoOf(request: ImpersonationRequest): RequestInfo {
  switch (request.kind) {
    case "ServiceAccount":
      return {
        group: "",
        version: "",
        resource: "serviceaccounts",
        namespace: request.namespace,
        name: request.name,
      };
    case "User":
      return { group: "", version: "", resource: "users", name: request.name };
    case "Group":
      return { group: "", version: "", resource: "groups", name: request.name };
    case "UserExtra":
      return {
        group: AUTHENTICATION_GROUP,
        version: "v1",
        resource: "userextras",
        subresource: request.extraKey,
        name: request.name,
      };
    case "UID":
      return { group: AUTHENTICATION_GROUP, version: "v1", resource: "uids", name: request.name };
  }
}

/**
 * The values of a header that may be repeated. Fetch joins repeated headers with `, ` (kubectl
 * sends one `Impersonate-Group` line per `--as-group`), so that is where they are split again:
 * a value that itself contains `, ` becomes several, each authorized on its own.
 */
function headerValues(headers: Headers, name: string): string[] {
  const value = headers.get(name);
  return value === null ? [] : splitCombined(value);
}

function splitCombined(value: string): string[] {
  return value.split(", ");
}

/** Extra keys are percent-encoded in header names (Kubernetes keeps a malformed one as sent). */
function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/**
 * A request as Go prints the ObjectReference kube-apiserver builds for it (`%v`: Kind,
 * Namespace, Name, UID, APIVersion, ResourceVersion, FieldPath), so the 400 reads as upstream's.
 */
function goObjectReference(r: ImpersonationRequest): string {
  const apiVersion = r.kind === "UserExtra" || r.kind === "UID" ? `${AUTHENTICATION_GROUP}/v1` : "";
  return `{${[r.kind, r.namespace ?? "", r.name, "", apiVersion, "", r.extraKey ?? ""].join(" ")}}`;
}
