import assert from "node:assert/strict";
import { Hono } from "hono";
import type { KubeObject } from "../../shared/api/object.ts";
import { ApiError } from "../../shared/errors.ts";
import { FakeLister } from "../../shared/testing/fake_lister.ts";
import type { User } from "../auth/authorizer.ts";
import {
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
} from "../auth/rbac/bootstrap_policy.ts";
import { RbacAuthorizer } from "../auth/rbac/rbac_authorizer.ts";
import { RuleResolver } from "../auth/rbac/rule_resolver.ts";
import { serviceAccountGroups } from "../auth/service_account_auth.ts";
import { issuerFor, ServiceAccountTokenSigner } from "../auth/service_account_token.ts";
import { mountServiceAccountIssuerDiscovery } from "./service_account_issuer_discovery.ts";

const SA: User = {
  name: "system:serviceaccount:apps:builder",
  role: "serviceaccount",
  groups: serviceAccountGroups("apps"),
};
const NODE: User = {
  name: "system:node:n1",
  role: "node",
  groups: ["system:nodes", "system:authenticated"],
  nodeName: "n1",
};
const NOBODY: User = { name: "token:x", role: "serviceaccount", groups: ["system:authenticated"] };

/** The app with the bootstrap RBAC policy and a caller chosen per request (`x-user`). */
async function withApp(
  fn: (
    get: (path: string, user: User) => Promise<Response>,
    signer: ServiceAccountTokenSigner,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  try {
    const signer = await ServiceAccountTokenSigner.open(
      `${dir}/sa.jwk`,
      issuerFor("cluster.local"),
    );
    const rbac = new RbacAuthorizer(
      new RuleResolver({
        roles: new FakeLister([]),
        clusterRoles: new FakeLister(bootstrapClusterRoles() as KubeObject[]),
        roleBindings: new FakeLister([]),
        clusterRoleBindings: new FakeLister(bootstrapClusterRoleBindings() as KubeObject[]),
      }),
    );
    const users = new Map<string, User>();
    const app = new Hono<{ Variables: { user: User } }>();
    app.onError((err) =>
      err instanceof ApiError
        ? Response.json(err.toStatus(), { status: err.code })
        : new Response(String(err), { status: 500 })
    );
    app.use("*", async (c, next) => {
      c.set("user", users.get(c.req.header("x-user")!)!);
      await next();
    });
    mountServiceAccountIssuerDiscovery(app, {
      signer,
      externalUrl: () => "https://10.0.0.1:6443",
      rbac,
    });
    await fn((path, user) => {
      users.set(user.name, user);
      return Promise.resolve(app.request(path, { headers: { "x-user": user.name } }));
    }, signer);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("issuer discovery serves kube-apiserver's documents to ServiceAccounts (bootstrap RBAC)", async () => {
  await withApp(async (get, signer) => {
    const config = await get("/.well-known/openid-configuration", SA);
    assert.equal(config.status, 200);
    assert.equal(config.headers.get("content-type"), "application/json");
    assert.equal(config.headers.get("cache-control"), "public, max-age=3600");
    assert.deepEqual(await config.json(), {
      issuer: "https://kubernetes.default.svc.cluster.local",
      jwks_uri: "https://10.0.0.1:6443/openid/v1/jwks",
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
    });
    for (const path of ["/openid/v1/jwks", "/openid/v1/jwks/"]) {
      const jwks = await get(path, SA);
      assert.equal(jwks.status, 200, path);
      assert.equal(jwks.headers.get("content-type"), "application/jwk-set+json");
      const body = await jwks.json();
      assert.deepEqual(body, { keys: [signer.publicJwk] });
    }
    assert.equal((await get("/.well-known/openid-configuration/", SA)).status, 200);
  });
});

Deno.test("issuer discovery refuses callers RBAC does not let get the paths", async () => {
  await withApp(async (get) => {
    for (const user of [NOBODY, NODE]) {
      const r = await get("/openid/v1/jwks", user);
      assert.equal(r.status, 403, user.name);
      assert.equal(
        (await r.json()).message,
        `forbidden: User "${user.name}" cannot get path "/openid/v1/jwks"`,
      );
    }
  });
});
