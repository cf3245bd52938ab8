import assert from "node:assert/strict";
import { jwtHeader, verifiesWithJwk } from "../../shared/testing/jwt_relying_party.ts";
import {
  ensureServiceAccountKey,
  issuerFor,
  looksLikeJwt,
  ServiceAccountTokenSigner,
} from "./service_account_token.ts";

const ISSUER = issuerFor("cluster.local");

async function withSigner(fn: (s: ServiceAccountTokenSigner, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(await ServiceAccountTokenSigner.open(`${dir}/sa.jwk`, ISSUER), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const issue = (s: ServiceAccountTokenSigner, now: Date, extra: { audiences?: string[] } = {}) =>
  s.issue({
    namespace: "apps",
    serviceAccount: { name: "builder", uid: "sa-uid" },
    pod: { name: "web", uid: "pod-uid", nodeName: "n1" },
    audiences: extra.audiences ?? [ISSUER],
    expirationSeconds: 3607,
    now,
  });

Deno.test("ServiceAccountTokenSigner issues ES256 JWTs with Kubernetes' claims and verifies them", async () => {
  await withSigner(async (s) => {
    const now = new Date("2026-12-04T10:00:00Z");
    const { token, expiresAt } = await issue(s, now);
    assert.ok(looksLikeJwt(token));
    assert.equal(expiresAt.toISOString(), "2026-12-04T11:00:07.000Z");
    const header = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    assert.equal(header.alg, "ES256");
    assert.equal(typeof header.kid, "string");
    const claims = await s.verify(token, { audiences: [ISSUER], now });
    assert.ok(!(claims instanceof Error), String(claims));
    assert.equal(claims.iss, "https://kubernetes.default.svc.cluster.local");
    assert.equal(claims.sub, "system:serviceaccount:apps:builder");
    assert.deepEqual(claims.aud, [ISSUER]);
    assert.equal(claims.exp - claims.iat, 3607);
    assert.deepEqual(claims["kubernetes.io"], {
      namespace: "apps",
      serviceaccount: { name: "builder", uid: "sa-uid" },
      pod: { name: "web", uid: "pod-uid" },
      node: { name: "n1" },
    });
  });
});

Deno.test("ServiceAccountTokenSigner refuses expired, foreign-audience and tampered tokens", async () => {
  await withSigner(async (s) => {
    const now = new Date("2026-12-04T10:00:00Z");
    const { token } = await issue(s, now);
    const later = new Date(now.getTime() + 3607_000);
    assert.match(String(await s.verify(token, { audiences: [ISSUER], now: later })), /expired/);
    assert.match(
      String(await s.verify(token, { audiences: ["vault"], now })),
      /audiences is invalid/,
    );
    const [h, p, sig] = token.split(".");
    const forged = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
    forged["kubernetes.io"].serviceaccount.name = "admin";
    const body = btoa(JSON.stringify(forged)).replace(/\+/g, "-").replace(/\//g, "_")
      .replace(/=+$/, "");
    assert.match(
      String(await s.verify(`${h}.${body}.${sig}`, { audiences: [ISSUER], now })),
      /invalid signature/,
    );
    const { token: vaultToken } = await issue(s, now, { audiences: ["vault"] });
    assert.ok(!((await s.verify(vaultToken, { audiences: ["vault"], now })) instanceof Error));
  });
});

Deno.test("ServiceAccountTokenSigner keeps its key in the data dir (0600) across restarts", async () => {
  await withSigner(async (s, dir) => {
    const now = new Date();
    const { token } = await issue(s, now);
    assert.equal((await Deno.stat(`${dir}/sa.jwk`)).mode! & 0o777, 0o600);
    const again = await ServiceAccountTokenSigner.open(`${dir}/sa.jwk`, ISSUER);
    assert.ok(!((await again.verify(token, { audiences: [ISSUER], now })) instanceof Error));
    const dir2 = await Deno.makeTempDir();
    try {
      const other = await ServiceAccountTokenSigner.open(`${dir2}/sa.jwk`, ISSUER);
      assert.match(String(await other.verify(token, { audiences: [ISSUER], now })), /signature/);
    } finally {
      await Deno.remove(dir2, { recursive: true });
    }
  });
});

Deno.test("ServiceAccountTokenSigner's public JWK verifies its tokens and holds no private part", async () => {
  await withSigner(async (s, dir) => {
    const { token } = await issue(s, new Date());
    const jwk = s.publicJwk;
    assert.deepEqual(Object.keys(jwk).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(jwk.alg, "ES256");
    assert.equal(jwk.use, "sig");
    assert.equal(jwtHeader(token).kid, jwk.kid);
    assert.ok(await verifiesWithJwk(token, jwk));
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/sa.jwk`));
    assert.equal(typeof stored.d, "string");
    assert.ok(!JSON.stringify(jwk).includes(stored.d));
  });
});

Deno.test("ensureServiceAccountKey keeps a key already there", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await ensureServiceAccountKey(`${dir}/sa.jwk`);
    const first = await Deno.readTextFile(`${dir}/sa.jwk`);
    assert.equal((await Deno.stat(`${dir}/sa.jwk`)).mode! & 0o777, 0o600);
    await ensureServiceAccountKey(`${dir}/sa.jwk`);
    assert.equal(await Deno.readTextFile(`${dir}/sa.jwk`), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
