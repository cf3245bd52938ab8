import assert from "node:assert/strict";
import { ClusterCipher } from "./cluster_crypto.ts";

Deno.test("ClusterCipher seals without the plain text and opens only with the same secret", async () => {
  const a = await ClusterCipher.fromSecret("a-cluster-secret-of-16+");
  const sealed = await a.seal("-----BEGIN PRIVATE KEY-----xyz");
  assert.ok(!sealed.includes("PRIVATE"));
  assert.equal(await a.open(sealed), "-----BEGIN PRIVATE KEY-----xyz");
  const again = await a.seal("-----BEGIN PRIVATE KEY-----xyz");
  assert.notEqual(again, sealed, "fresh salt and IV per value");
  const b = await ClusterCipher.fromSecret("another-secret-entirely");
  await assert.rejects(() => b.open(sealed), /cluster secret differs/);
});
