/**
 * The ServiceAccount and token API against a real server (no nodes): TokenRequest's validation
 * and answers, TokenReview for ServiceAccount and Skiff tokens, a token dying with its
 * ServiceAccount (deleted, or recreated with another uid), and what a ServiceAccount token may do
 * before RBAC (discovery and /version, not resources).
 */
import assert from "node:assert/strict";
import { SERVICEACCOUNTS } from "../shared/client/refs.ts";
import { jwtHeader, verifiesWithJwk } from "../shared/testing/jwt_relying_party.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const TOKEN = (sa: string) => `/api/v1/namespaces/default/serviceaccounts/${sa}/token`;

function tokenRequest(spec: Record<string, unknown> = {}) {
  return { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec };
}

async function review(s: TestServer, token: string, audiences?: string[]) {
  const r = await api(s, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token, ...(audiences ? { audiences } : {}) },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.status;
}

Deno.test("TokenRequest issues tokens TokenReview knows, until the ServiceAccount is gone", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    await waitFor(
      "default ServiceAccount",
      () =>
        s.client.get(SERVICEACCOUNTS, "default", { namespace: "default" }).catch(() => undefined),
    );
    const missing = await api(s, "POST", TOKEN("ghost"), { body: tokenRequest() });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'serviceaccounts "ghost" not found');
    const short = await api(s, "POST", TOKEN("default"), {
      body: tokenRequest({ expirationSeconds: 60 }),
    });
    assert.equal(short.status, 422);
    assert.match(short.body.message, /may not specify a duration less than 10 minutes/);

    assert.equal(
      (await api(s, "POST", "/api/v1/namespaces/default/serviceaccounts", {
        body: { metadata: { name: "builder" } },
      })).status,
      201,
    );
    const issued = await api(s, "POST", TOKEN("builder"), { body: tokenRequest() });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    assert.equal(issued.body.kind, "TokenRequest");
    assert.equal(issued.body.spec.expirationSeconds, 3600);
    const token: string = issued.body.status.token;
    const expires = Date.parse(issued.body.status.expirationTimestamp);
    assert.ok(Math.abs(expires - Date.now() - 3600_000) < 10_000);

    const ok = await review(s, token);
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user.username, "system:serviceaccount:default:builder");
    assert.deepEqual(ok.audiences, ["https://kubernetes.default.svc.cluster.local"]);
    assert.equal((await review(s, token, ["vault"])).authenticated, false);
    const vault = await api(s, "POST", TOKEN("builder"), {
      body: tokenRequest({ audiences: ["vault"] }),
    });
    assert.deepEqual((await review(s, vault.body.status.token, ["vault"])).audiences, ["vault"]);

    // The token as a caller: discovery and /version yes, resources no.
    const asSa = { token };
    assert.equal((await api(s, "GET", "/apis", asSa)).status, 200);
    assert.equal((await api(s, "GET", "/api/v1", asSa)).status, 200);
    assert.equal((await api(s, "GET", "/version", asSa)).status, 200);
    const pods = await api(s, "GET", "/api/v1/namespaces/default/pods", asSa);
    assert.equal(pods.status, 403);
    assert.equal(
      pods.body.message,
      'pods is forbidden: User "system:serviceaccount:default:builder" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    // A token meant for another audience is not the API's.
    assert.equal(
      (await api(s, "GET", "/apis", { token: vault.body.status.token })).status,
      401,
    );

    // Skiff's own tokens.
    const admin = await review(s, s.token);
    assert.equal(admin.authenticated, true);
    assert.deepEqual(admin.user.groups, ["system:masters", "system:authenticated"]);
    assert.equal((await review(s, "skiff.nope.nope")).authenticated, false);
    // A ServiceAccount may not review tokens without RBAC.
    const self = await api(s, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      token,
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
    });
    assert.equal(self.status, 403);

    // Recreated with another uid: the old token is dead, a new one works.
    assert.equal(
      (await api(s, "DELETE", "/api/v1/namespaces/default/serviceaccounts/builder")).status,
      200,
    );
    const gone = await review(s, token);
    assert.equal(gone.authenticated, false);
    assert.match(gone.error, /serviceaccounts "builder" not found/);
    await api(s, "POST", "/api/v1/namespaces/default/serviceaccounts", {
      body: { metadata: { name: "builder" } },
    });
    const recreated = await review(s, token);
    assert.equal(recreated.authenticated, false);
    assert.match(recreated.error, /service account UID/);
    assert.equal((await api(s, "GET", "/apis", asSa)).status, 401);

    // Binding to a pod checks the pod's ServiceAccount.
    await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: {
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    });
    const wrongSa = await api(s, "POST", TOKEN("builder"), {
      body: tokenRequest({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p" } }),
    });
    assert.equal(wrongSa.status, 400);
    assert.match(wrongSa.body.message, /pod running with different serviceaccount name/);
    const bound = await api(s, "POST", TOKEN("default"), {
      body: tokenRequest({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p" } }),
    });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    const b = await review(s, bound.body.status.token);
    assert.deepEqual(b.user.extra["authentication.kubernetes.io/pod-name"], ["p"]);
  } finally {
    await s.stop();
  }
});

Deno.test("the issuer's OIDC discovery documents let a ServiceAccount check tokens with the served key", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    await waitFor(
      "default ServiceAccount",
      () =>
        s.client.get(SERVICEACCOUNTS, "default", { namespace: "default" }).catch(() => undefined),
    );
    const token: string = (await api(s, "POST", TOKEN("default"), { body: tokenRequest() })).body
      .status.token;
    // Bootstrap RBAC (system:service-account-issuer-discovery) lets every ServiceAccount read them.
    const config = await api(s, "GET", "/.well-known/openid-configuration", { token });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    assert.equal(config.body.issuer, "https://kubernetes.default.svc.cluster.local");
    assert.equal(config.body.jwks_uri, `${s.url}/openid/v1/jwks`);
    assert.deepEqual(config.body.id_token_signing_alg_values_supported, ["ES256"]);
    const jwks = await api(s, "GET", "/openid/v1/jwks", { token });
    assert.equal(jwks.status, 200);
    assert.equal(jwks.headers.get("content-type"), "application/jwk-set+json");
    assert.equal(jwks.body.keys.length, 1);
    const jwk = jwks.body.keys[0];
    assert.equal(jwk.d, undefined);

    // What a relying party does: the key with the token's kid verifies the token's signature.
    assert.equal(jwtHeader(token).kid, jwk.kid);
    assert.ok(await verifiesWithJwk(token, jwk));
    assert.equal((await api(s, "GET", "/openid/v1/jwks", { token: null })).status, 401);
  } finally {
    await s.stop();
  }
});
