/**
 * Authentication of ServiceAccount tokens, as kube-apiserver's bound-token validator: a token is
 * valid when its signature, issuer, audience and expiry check out (service_account_token.ts) and
 * the objects it names still exist with the same uids — the ServiceAccount, and the pod it is
 * bound to (a pod deleted more than 60 s ago invalidates it, as Kubernetes). The caller becomes
 * `system:serviceaccount:<ns>:<sa>` in the groups `system:serviceaccounts`,
 * `system:serviceaccounts:<ns>` and `system:authenticated`, with role `serviceaccount`.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { dns1123LabelErrors, dns1123SubdomainErrors } from "../../shared/api/field_errors.ts";
import { AUTHENTICATED_GROUP, type User } from "./authorizer.ts";
import {
  type ServiceAccountClaims,
  type ServiceAccountTokenSigner,
  serviceAccountUsername,
} from "./service_account_token.ts";

/** What validating a ServiceAccount token looks up. */
export interface ServiceAccountAuthDeps {
  signer: ServiceAccountTokenSigner;
  /** The audiences the API server accepts (its issuer). */
  apiAudiences: string[];
  findServiceAccount(namespace: string, name: string): KubeObject | undefined;
  findPod(namespace: string, name: string): KubeObject | undefined;
  now?: () => Date;
}

/** Kubernetes' `extra` keys for the pod a token is bound to. */
export const EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name";
export const EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid";
export const EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name";
export const EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id";

/** How long after its deletion began a bound pod's tokens keep working (Kubernetes: 60 s). */
const DELETED_POD_GRACE_MS = 60_000;

/** The groups of a ServiceAccount's tokens. */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, AUTHENTICATED_GROUP];
}

/**
 * The namespace and name a ServiceAccount username (`system:serviceaccount:<ns>:<name>`, see
 * {@linkcode serviceAccountUsername}) names, or undefined when `username` is not one — as
 * Kubernetes' `serviceaccount.SplitUsername`: exactly a namespace (an RFC 1123 label) and a name
 * (an RFC 1123 subdomain) after the prefix.
 */
export function splitServiceAccountUsername(
  username: string,
): { namespace: string; name: string } | undefined {
  const prefix = "system:serviceaccount:";
  if (!username.startsWith(prefix)) return undefined;
  const parts = username.slice(prefix.length).split(":");
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts;
  if (dns1123LabelErrors(namespace).length > 0 || dns1123SubdomainErrors(name).length > 0) {
    return undefined;
  }
  return { namespace, name };
}

/**
 * The user behind a ServiceAccount token, or an Error saying why it is not valid. `audiences`
 * overrides the API audiences (TokenReview's `spec.audiences`).
 */
export async function authenticateServiceAccountToken(
  token: string,
  deps: ServiceAccountAuthDeps,
  audiences: string[] = deps.apiAudiences,
): Promise<{ user: User; claims: ServiceAccountClaims } | Error> {
  const now = deps.now?.() ?? new Date();
  const claims = await deps.signer.verify(token, { audiences, now });
  if (claims instanceof Error) return claims;
  const k8s = claims["kubernetes.io"];
  const ns = k8s.namespace;
  const sa = deps.findServiceAccount(ns, k8s.serviceaccount.name);
  if (!sa) return new Error(`serviceaccounts "${k8s.serviceaccount.name}" not found`);
  if (sa.metadata.uid !== k8s.serviceaccount.uid) {
    return new Error(
      `service account UID (${k8s.serviceaccount.uid}) does not match claim (${sa.metadata.uid})`,
    );
  }
  const extra: Record<string, string[]> = { [EXTRA_CREDENTIAL_ID]: [`JTI=${claims.jti}`] };
  if (k8s.pod) {
    const pod = deps.findPod(ns, k8s.pod.name);
    if (!pod) return new Error(`pods "${k8s.pod.name}" not found`);
    if (pod.metadata.uid !== k8s.pod.uid) {
      return new Error(`pod UID (${k8s.pod.uid}) does not match claim (${pod.metadata.uid})`);
    }
    const deleted = pod.metadata.deletionTimestamp;
    if (deleted && Date.parse(deleted) < now.getTime() - DELETED_POD_GRACE_MS) {
      return new Error("service account token has been invalidated");
    }
    extra[EXTRA_POD_NAME] = [k8s.pod.name];
    extra[EXTRA_POD_UID] = [k8s.pod.uid];
  }
  if (k8s.node) extra[EXTRA_NODE_NAME] = [k8s.node.name];
  return {
    claims,
    user: {
      name: serviceAccountUsername(ns, k8s.serviceaccount.name),
      role: "serviceaccount",
      groups: serviceAccountGroups(ns),
      uid: k8s.serviceaccount.uid,
      extra,
    },
  };
}
