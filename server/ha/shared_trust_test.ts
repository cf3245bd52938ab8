import assert from "node:assert/strict";
import { SqliteBackend } from "../store/sqlite_backend.ts";
import {
  ensureServiceAccountKey,
  issuerFor,
  SERVICE_ACCOUNT_KEY_FILE,
  ServiceAccountTokenSigner,
} from "../auth/service_account_token.ts";
import { ClusterCipher } from "./cluster_crypto.ts";
import { SharedTrust, TRUST_BUNDLE_KEY } from "./shared_trust.ts";

const SECRET = "a-cluster-secret-for-tests";
const ISSUER = issuerFor("cluster.local");

/** One datastore and a fresh data dir per server, as `skiff server` starts them (run.ts). */
async function withDatastore(
  fn: (o: {
    backend: SqliteBackend;
    /** pull, make the key when missing, publish (run.ts's order); the server's data dir. */
    start(preexistingKey?: boolean): Promise<{ dir: string; trust: SharedTrust }>;
  }) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ prefix: "skiff_trust_" });
  const backend = SqliteBackend.open(`${root}/store.db`, { synchronous: "normal" });
  let n = 0;
  try {
    await fn({
      backend,
      async start(preexistingKey = false) {
        const dir = `${root}/server-${n++}`;
        await Deno.mkdir(`${dir}/tls`, { recursive: true });
        if (preexistingKey) await ensureServiceAccountKey(`${dir}/${SERVICE_ACCOUNT_KEY_FILE}`);
        const trust = await SharedTrust.pull({ backend, secret: SECRET, dataDir: dir });
        if (!trust.joined) await Deno.writeTextFile(`${dir}/tls/ca.crt`, "the cluster CA\n");
        await ensureServiceAccountKey(`${dir}/${SERVICE_ACCOUNT_KEY_FILE}`);
        await trust.publish();
        return { dir, trust };
      },
    });
  } finally {
    await backend.close();
    await Deno.remove(root, { recursive: true });
  }
}

const keyOf = (dir: string) => Deno.readTextFile(`${dir}/${SERVICE_ACCOUNT_KEY_FILE}`);

async function bundleFiles(backend: SqliteBackend): Promise<Record<string, string>> {
  const kv = await backend.get(TRUST_BUNDLE_KEY);
  assert.ok(kv);
  return JSON.parse(await (await ClusterCipher.fromSecret(SECRET)).open(kv.value));
}

Deno.test("SharedTrust: joining servers sign with the first server's ServiceAccount key, even one that had its own", async () => {
  await withDatastore(async ({ backend, start }) => {
    const a = await start();
    const b = await start();
    const c = await start(true);
    assert.equal(a.trust.joined, false);
    assert.ok(b.trust.joined && c.trust.joined);
    assert.equal(await keyOf(b.dir), await keyOf(a.dir));
    assert.equal(await keyOf(c.dir), await keyOf(a.dir), "c's own key gave way to the cluster's");

    const signerA = await ServiceAccountTokenSigner.open(
      `${a.dir}/${SERVICE_ACCOUNT_KEY_FILE}`,
      ISSUER,
    );
    const signerC = await ServiceAccountTokenSigner.open(
      `${c.dir}/${SERVICE_ACCOUNT_KEY_FILE}`,
      ISSUER,
    );
    const { token } = await signerA.issue({
      namespace: "default",
      serviceAccount: { name: "default", uid: "u" },
      audiences: [ISSUER],
      expirationSeconds: 3600,
    });
    assert.ok(!((await signerC.verify(token, { audiences: [ISSUER] })) instanceof Error));

    // Sealed: the private scalar is in the bundle, but not readable without the secret.
    const d = JSON.parse(await keyOf(a.dir)).d as string;
    assert.equal(JSON.parse((await bundleFiles(backend))[SERVICE_ACCOUNT_KEY_FILE]).d, d);
    const raw = (await backend.get(TRUST_BUNDLE_KEY))!.value;
    assert.ok(!raw.includes(d) && !raw.includes('"kty"'));
  });
});

Deno.test("SharedTrust: a bundle without the ServiceAccount key gets one server's, and every other server adopts it", async () => {
  await withDatastore(async ({ backend, start }) => {
    // A bundle as an older Skiff published it: no signing key.
    const cipher = await ClusterCipher.fromSecret(SECRET);
    const old = { "tls/ca.crt": "the cluster CA\n", "admin-token": "admin\n" };
    assert.ok((await backend.create(TRUST_BUNDLE_KEY, await cipher.seal(JSON.stringify(old)))).ok);

    // Two servers with keys of their own start at once: both end with the one the bundle kept.
    const [b, c] = await Promise.all([start(true), start(true)]);
    const files = await bundleFiles(backend);
    assert.equal(files["tls/ca.crt"], old["tls/ca.crt"]);
    assert.equal(files["admin-token"], old["admin-token"]);
    assert.ok(files[SERVICE_ACCOUNT_KEY_FILE]);
    assert.equal(await keyOf(b.dir), files[SERVICE_ACCOUNT_KEY_FILE]);
    assert.equal(await keyOf(c.dir), files[SERVICE_ACCOUNT_KEY_FILE]);
    const d = await start(true);
    assert.equal(await keyOf(d.dir), files[SERVICE_ACCOUNT_KEY_FILE]);
  });
});
