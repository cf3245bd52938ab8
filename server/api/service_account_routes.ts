/**
 * The two token endpoints of authentication.k8s.io/v1:
 * - `POST /api/v1/namespaces/NS/serviceaccounts/SA/token` (TokenRequest, the `token`
 *   subresource; `kubectl create token SA`, the agent's projected tokens): issues a bound,
 *   expiring JWT for the ServiceAccount, bound to a pod when `spec.boundObjectRef` names one;
 * - `POST /apis/authentication.k8s.io/v1/tokenreviews` (TokenReview): tells an in-cluster
 *   authenticator who a token belongs to — ServiceAccount tokens and Skiff's own tokens alike.
 * Neither object is stored.
 */
import type { Hono } from "hono";
import { TokenRequest, TokenReview } from "../../shared/api/authentication_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { rfc3339 } from "../../shared/time.ts";
import {
  BadRequestError,
  ConflictError,
  InvalidError,
  MethodNotAllowedError,
  NotFoundError,
  type StatusCause,
} from "../../shared/errors.ts";
import type { Authorizer, User } from "../auth/authorizer.ts";
import {
  authenticateServiceAccountToken,
  type ServiceAccountAuthDeps,
} from "../auth/service_account_auth.ts";
import { looksLikeJwt } from "../auth/service_account_token.ts";
import { readBody } from "./body.ts";
import { jsonResponse } from "./responses.ts";
import type { SubresourceHandler } from "./rest.ts";

/** Kubernetes' default token lifetime, minimum and maximum (TokenRequest validation). */
export const DEFAULT_TOKEN_SECONDS = 3600;
const MIN_TOKEN_SECONDS = 600;
const MAX_TOKEN_SECONDS = 2 ** 32;

const API_VERSION = "authentication.k8s.io/v1";

/** What the token endpoints need. */
export interface TokenRoutesDeps extends ServiceAccountAuthDeps {
  /** Authenticates Skiff's own (opaque) tokens, for TokenReview. */
  authenticateOpaque(token: string): Promise<User | undefined>;
  /** The server's authorizer (TokenReview requires `create tokenreviews`). */
  authorizer: Authorizer;
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T; error?: unknown } },
  body: unknown,
  kind: string,
): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issues = (r.error as { issues?: { path: PropertyKey[]; message: string }[] }).issues ??
      [];
    throw new InvalidError(
      { kind, resource: kind.toLowerCase() + "s", name: "" },
      issues.map((i) => ({
        reason: "FieldValueInvalid",
        field: i.path.map(String).join("."),
        message: `Invalid value: ${i.message}`,
      })),
    );
  }
  return r.data as T;
}

/** The `serviceaccounts/token` subresource handler. */
export function tokenRequestSubresource(deps: TokenRoutesDeps): Map<string, SubresourceHandler> {
  const handler: SubresourceHandler = async (req, ri) => {
    if (req.method !== "POST") throw new MethodNotAllowedError();
    const ns = ri.namespace!;
    const name = ri.name!;
    const request = parse<TokenRequest>(TokenRequest, await readBody(req), "TokenRequest");
    const sa = deps.findServiceAccount(ns, name);
    if (!sa) throw new NotFoundError({ resource: "serviceaccounts", name });
    const seconds = request.spec.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    const causes: StatusCause[] = [];
    if (seconds < MIN_TOKEN_SECONDS) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
      });
    } else if (seconds > MAX_TOKEN_SECONDS) {
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${seconds}: may not specify a duration larger than 2^32 seconds`,
      });
    }
    if (causes.length) {
      throw new InvalidError({ kind: "TokenRequest", resource: "serviceaccounts", name }, causes);
    }
    const pod = boundPod(request, { ns, name, deps });
    const audiences = request.spec.audiences.length ? request.spec.audiences : deps.apiAudiences;
    const { token, expiresAt } = await deps.signer.issue({
      namespace: ns,
      serviceAccount: { name, uid: sa.metadata.uid! },
      pod: pod && {
        name: pod.metadata.name!,
        uid: pod.metadata.uid!,
        nodeName: pod.spec?.nodeName,
      },
      audiences,
      expirationSeconds: seconds,
      now: deps.now?.(),
    });
    return jsonResponse({
      kind: "TokenRequest",
      apiVersion: API_VERSION,
      metadata: { name, namespace: ns, creationTimestamp: null },
      spec: { ...request.spec, audiences, expirationSeconds: seconds },
      status: { token, expirationTimestamp: rfc3339(expiresAt) },
    }, 201);
  };
  return new Map([["serviceaccounts/token", handler]]);
}

/** The pod a TokenRequest binds its token to, checked as kube-apiserver checks it. */
function boundPod(
  request: TokenRequest,
  at: { ns: string; name: string; deps: TokenRoutesDeps },
): KubeObject | undefined {
  const ref = request.spec.boundObjectRef;
  if (!ref) return undefined;
  if (ref.kind !== "Pod" || (ref.apiVersion ?? "v1") !== "v1") {
    throw new BadRequestError(`cannot bind token to object of type ${ref.kind ?? ""}`);
  }
  const pod = at.deps.findPod(at.ns, ref.name ?? "");
  if (!pod) throw new NotFoundError({ resource: "pods", name: ref.name ?? "" });
  if (ref.uid && ref.uid !== pod.metadata.uid) {
    throw new ConflictError(
      { resource: "pods", name: ref.name },
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. ` +
        "The object might have been deleted and then recreated",
    );
  }
  const podSa = pod.spec?.serviceAccountName || "default";
  if (podSa !== at.name) {
    throw new BadRequestError(
      `cannot bind token for serviceaccount "${at.name}" to pod running with different ` +
        `serviceaccount name.`,
    );
  }
  return pod;
}

/** Mounts `POST /apis/authentication.k8s.io/v1/tokenreviews` on the authenticated app. */
export function mountTokenReviewRoute(
  app: Hono<{ Variables: { user: User } }>,
  deps: TokenRoutesDeps,
): void {
  app.post(`/apis/${API_VERSION}/tokenreviews`, async (c) => {
    await deps.authorizer(c.get("user"), {
      verb: "create",
      ri: { group: "authentication.k8s.io", version: "v1", resource: "tokenreviews" },
      request: c.req.raw,
    });
    const review = parse<TokenReview>(TokenReview, await readBody(c.req.raw), "TokenReview");
    const token = review.spec.token ?? "";
    if (!token) {
      throw new InvalidError({ kind: "TokenReview", resource: "tokenreviews", name: "" }, [
        { reason: "FieldValueRequired", field: "spec.token", message: "Required value" },
      ]);
    }
    return jsonResponse({
      kind: "TokenReview",
      apiVersion: API_VERSION,
      metadata: { creationTimestamp: null },
      spec: review.spec,
      status: await reviewToken(token, review.spec.audiences, deps),
    }, 201);
  });
}

async function reviewToken(
  token: string,
  wanted: string[] | undefined,
  deps: TokenRoutesDeps,
): Promise<NonNullable<TokenReview["status"]>> {
  const audiences = wanted?.length ? wanted : deps.apiAudiences;
  if (looksLikeJwt(token)) {
    const result = await authenticateServiceAccountToken(token, deps, audiences);
    if (result instanceof Error) {
      return { authenticated: false, user: {}, error: `[invalid bearer token, ${result.message}]` };
    }
    const { user, claims } = result;
    return {
      authenticated: true,
      user: { username: user.name, uid: user.uid, groups: user.groups, extra: user.extra },
      audiences: audiences.filter((a) => claims.aud.includes(a)),
    };
  }
  // Skiff's own tokens are for the API server alone: they answer only for its audiences.
  const user = audiences.some((a) => deps.apiAudiences.includes(a))
    ? await deps.authenticateOpaque(token)
    : undefined;
  if (!user) return { authenticated: false, user: {}, error: "[invalid bearer token]" };
  return {
    authenticated: true,
    user: { username: user.name, groups: user.groups, ...(user.uid ? { uid: user.uid } : {}) },
    audiences: audiences.filter((a) => deps.apiAudiences.includes(a)),
  };
}
