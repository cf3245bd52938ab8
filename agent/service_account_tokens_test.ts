import assert from "node:assert/strict";
import type { Pod } from "./pod_types.ts";
import { ServiceAccountTokens } from "./service_account_tokens.ts";

const pod: Pod = {
  metadata: { name: "web", namespace: "apps", uid: "u-1" },
  spec: { serviceAccountName: "builder", containers: [] },
};

Deno.test("ServiceAccountTokens asks again after 80% of a token's lifetime or 24 h, bound to the pod", async () => {
  let now = 0;
  const requests: { ns: string; sa: string; body: Record<string, unknown> }[] = [];
  const tokens = new ServiceAccountTokens((ns, sa, body) => {
    requests.push({ ns, sa, body });
    const seconds = (body.spec as { expirationSeconds: number }).expirationSeconds;
    return Promise.resolve({
      token: `t${requests.length}`,
      expirationTimestamp: new Date(now + seconds * 1000).toISOString(),
    });
  }, { now: () => now });
  assert.equal(await tokens.token(pod, { expirationSeconds: 1000 }), "t1");
  assert.deepEqual(requests[0], {
    ns: "apps",
    sa: "builder",
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: [],
        expirationSeconds: 1000,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: "u-1" },
      },
    },
  });
  now = 799_000;
  assert.equal(await tokens.token(pod, { expirationSeconds: 1000 }), "t1");
  now = 801_000;
  assert.equal(await tokens.token(pod, { expirationSeconds: 1000 }), "t2");
  // Another audience is another token.
  assert.equal(await tokens.token(pod, { expirationSeconds: 1000, audience: "vault" }), "t3");
  assert.deepEqual((requests[2].body.spec as { audiences: string[] }).audiences, ["vault"]);
  // A year-long token is still renewed after 24 h.
  assert.equal(await tokens.token(pod, { expirationSeconds: 365 * 86400 }), "t4");
  now += 86_400_000 + 1;
  assert.equal(await tokens.token(pod, { expirationSeconds: 365 * 86400 }), "t5");
  tokens.forget("u-1");
  assert.equal(await tokens.token(pod, { expirationSeconds: 365 * 86400 }), "t6");
});
