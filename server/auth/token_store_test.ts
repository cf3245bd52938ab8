import assert from "node:assert/strict";
import { TokenStore } from "./token_store.ts";

async function withDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-tokens-" });
  try {
    await fn(`${dir}/tokens.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("TokenStore keeps hashes only, in a file readable by its owner only", async () => {
  await withDir(async (path) => {
    const store = await TokenStore.open(path);
    const { token, record } = await store.create("view", { description: "ci" });
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes(token.split(".")[2]), "the secret is not stored");
    assert.deepEqual((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual((await store.authenticate(token))?.role, "view");
    assert.deepEqual((await store.authenticate(token))?.id, record.id);
    assert.deepEqual(await store.authenticate(token + "x"), undefined);
  });
});

Deno.test("TokenStore sees tokens created and revoked by another process's store", async () => {
  await withDir(async (path) => {
    const server = await TokenStore.open(path);
    const cli = await TokenStore.open(path);
    const { token, record } = await cli.create("join");
    // An unknown token makes the server look at the file again.
    assert.deepEqual((await server.authenticate(token))?.role, "join");
    assert.ok(await cli.revoke(record.id));
    // A known token is re-checked against the file at most a second later.
    let after: unknown = "still valid";
    for (let i = 0; i < 40 && after !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await server.authenticate(token);
    }
    assert.deepEqual(after, undefined);
    // Writes from one store do not drop the other's: each change re-reads the file first.
    await server.create("admin", { id: "aaaaaa" });
    await cli.create("edit", { id: "bbbbbb" });
    await server.reload();
    assert.deepEqual(server.list().map((r) => r.id).sort(), ["aaaaaa", "bbbbbb"]);
  });
});

Deno.test("issueNodeToken() rotates a node's token and leaves other nodes' alone", async () => {
  await withDir(async (path) => {
    const store = await TokenStore.open(path);
    const a1 = await store.issueNodeToken("a");
    const b = await store.issueNodeToken("b");
    const a2 = await store.issueNodeToken("a");
    assert.deepEqual(await store.authenticate(a1.token), undefined);
    assert.deepEqual(await store.authenticate(a2.token), {
      id: a2.record.id,
      role: "node",
      nodeName: "a",
    });
    assert.deepEqual((await store.authenticate(b.token))?.nodeName, "b");
  });
});

Deno.test("an expired token no longer authenticates", async () => {
  await withDir(async (path) => {
    const store = await TokenStore.open(path);
    const { token } = await store.create("view", { ttlSeconds: 1 });
    assert.deepEqual((await store.authenticate(token))?.role, "view");
    const records = JSON.parse(await Deno.readTextFile(path));
    records[0].expiresAt = new Date(Date.now() - 1000).toISOString();
    await Deno.writeTextFile(path, JSON.stringify(records));
    await store.reload();
    assert.deepEqual(await store.authenticate(token), undefined);
  });
});

Deno.test("concurrent changes in one process all reach the file", async () => {
  await withDir(async (path) => {
    const store = await TokenStore.open(path);
    await Promise.all(["a", "b", "c", "d", "e"].map((n) => store.issueNodeToken(n)));
    const other = await TokenStore.open(path);
    assert.deepEqual(other.list().map((r) => r.nodeName).sort(), ["a", "b", "c", "d", "e"]);
  });
});
