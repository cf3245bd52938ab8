/**
 * The ServiceAccount token issuer's OpenID Connect discovery, as kube-apiserver serves it:
 * `GET /.well-known/openid-configuration` (the issuer, where its keys are, what it signs with) and
 * `GET /openid/v1/jwks` (the public signing key — the one every server sharing a datastore signs
 * with, server/ha/shared_trust.ts), so a relying party can check ServiceAccount tokens without
 * asking the API (TokenReview). Both need an authenticated caller allowed to `get` the path: RBAC's
 * `system:service-account-issuer-discovery`, bound to every ServiceAccount, or a token role.
 */
import type { Hono } from "hono";
import { authorizeNonResourceURL, type User } from "../auth/authorizer.ts";
import type { RbacAuthorizer } from "../auth/rbac/rbac_authorizer.ts";
import type { ServiceAccountTokenSigner } from "../auth/service_account_token.ts";

/** Kubernetes' paths (pkg/serviceaccount): the discovery document and the key set. */
export const OPENID_CONFIG_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/openid/v1/jwks";

/** kube-apiserver lets clients and proxies keep both documents for an hour. */
const CACHE_CONTROL = "public, max-age=3600";

/** What the discovery routes need. */
export interface IssuerDiscoveryDeps {
  signer: Pick<ServiceAccountTokenSigner, "issuer" | "publicJwk">;
  /** This server's URL (`https://host:port`); `jwks_uri` points there, as kube's default. */
  externalUrl: () => string;
  rbac?: RbacAuthorizer;
}

/** The OIDC discovery document (the members kube-apiserver sends, in its order). */
export function openIdConfiguration(deps: IssuerDiscoveryDeps): Record<string, unknown> {
  return {
    issuer: deps.signer.issuer,
    jwks_uri: `${deps.externalUrl()}${JWKS_PATH}`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [deps.signer.publicJwk.alg],
  };
}

/** Mounts both documents (with and without a trailing slash, as RBAC's role lists them). */
export function mountServiceAccountIssuerDiscovery(
  app: Hono<{ Variables: { user: User } }>,
  deps: IssuerDiscoveryDeps,
): void {
  const serve = (
    base: string,
    contentType: string,
    body: () => Record<string, unknown>,
  ) => {
    for (const path of [base, `${base}/`]) {
      app.get(path, (c) => {
        authorizeNonResourceURL(c.get("user"), { verb: "get", path }, deps.rbac);
        return new Response(JSON.stringify(body()), {
          headers: { "Content-Type": contentType, "Cache-Control": CACHE_CONTROL },
        });
      });
    }
  };
  serve(OPENID_CONFIG_PATH, "application/json", () => openIdConfiguration(deps));
  // RFC 7517 section 8.5.1's media type for a JWK set.
  serve(JWKS_PATH, "application/jwk-set+json", () => ({ keys: [deps.signer.publicJwk] }));
}
