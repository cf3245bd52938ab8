import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { authenticateServiceAccountToken } from "./service_account_auth.ts";
import { issuerFor, ServiceAccountTokenSigner } from "./service_account_token.ts";

const ISSUER = issuerFor("cluster.local");
const obj = (name: string, uid: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({ metadata: { name, namespace: "apps", uid, ...extra } }) as KubeObject;

const cases: {
  name: string;
  sa?: KubeObject;
  pod?: KubeObject;
  error?: RegExp;
}[] = [
  {
    name: "accepts a token whose ServiceAccount and pod exist",
    sa: obj("builder", "sa-1"),
    pod: obj("web", "pod-1"),
  },
  {
    name: "refuses a token of a deleted ServiceAccount",
    pod: obj("web", "pod-1"),
    error: /serviceaccounts "builder" not found/,
  },
  {
    name: "refuses a token of a recreated ServiceAccount",
    sa: obj("builder", "sa-2"),
    pod: obj("web", "pod-1"),
    error: /service account UID/,
  },
  {
    name: "refuses a token bound to a deleted pod",
    sa: obj("builder", "sa-1"),
    error: /pods "web" not found/,
  },
  {
    name: "refuses a token bound to a recreated pod",
    sa: obj("builder", "sa-1"),
    pod: obj("web", "pod-2"),
    error: /pod UID/,
  },
  {
    name: "refuses a token of a pod deleted more than 60 s ago",
    sa: obj("builder", "sa-1"),
    pod: obj("web", "pod-1", { deletionTimestamp: "2000-01-01T00:00:00Z" }),
    error: /invalidated/,
  },
];

for (const c of cases) {
  Deno.test(`authenticateServiceAccountToken() ${c.name}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const signer = await ServiceAccountTokenSigner.open(`${dir}/k`, ISSUER);
      const { token } = await signer.issue({
        namespace: "apps",
        serviceAccount: { name: "builder", uid: "sa-1" },
        pod: { name: "web", uid: "pod-1" },
        audiences: [ISSUER],
        expirationSeconds: 3600,
      });
      const r = await authenticateServiceAccountToken(token, {
        signer,
        apiAudiences: [ISSUER],
        findServiceAccount: (ns, name) => ns === "apps" && name === "builder" ? c.sa : undefined,
        findPod: (ns, name) => ns === "apps" && name === "web" ? c.pod : undefined,
      });
      if (c.error) {
        assert.ok(r instanceof Error);
        assert.match(r.message, c.error);
        return;
      }
      assert.ok(!(r instanceof Error), String(r));
      assert.equal(r.user.name, "system:serviceaccount:apps:builder");
      assert.equal(r.user.role, "serviceaccount");
      assert.equal(r.user.uid, "sa-1");
      assert.deepEqual(r.user.groups, [
        "system:serviceaccounts",
        "system:serviceaccounts:apps",
        "system:authenticated",
      ]);
      assert.deepEqual(r.user.extra?.["authentication.kubernetes.io/pod-name"], ["web"]);
      assert.deepEqual(r.user.extra?.["authentication.kubernetes.io/pod-uid"], ["pod-1"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
