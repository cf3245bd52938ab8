/**
 * Durability of acknowledged writes: a real `skiff server` process is killed with SIGKILL while
 * a client writes; after a restart on the same data dir every write that got a 201 is there.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "./server_process.ts";

Deno.test("every acknowledged write survives kill -9 of the server", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-durability-" });
  try {
    const first = await startServerProcess({ dataDir, args: ["--no-controllers"] });
    const acknowledged: string[] = [];
    const writer = (async () => {
      for (let i = 0; i < 2000; i++) {
        const name = `cm-${i}`;
        try {
          const r = await fetch(`${first.url}/api/v1/namespaces/default/configmaps`, {
            method: "POST",
            headers: { authorization: `Bearer ${first.token}`, "content-type": "application/json" },
            body: JSON.stringify({ metadata: { name }, data: { i: String(i) } }),
            client: first.httpClient,
          });
          await r.body?.cancel();
          if (r.status === 201) acknowledged.push(name);
        } catch {
          return; // the server is gone
        }
      }
    })();
    // Kill it once a good number of writes went through, while the writer is still going.
    while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 5));
    await first.kill();
    await writer;
    assert.ok(acknowledged.length >= 200);

    const second = await startServerProcess({ dataDir, args: ["--no-controllers"] });
    try {
      const r = await fetch(`${second.url}/api/v1/namespaces/default/configmaps`, {
        headers: { authorization: `Bearer ${second.token}` },
        client: second.httpClient,
      });
      const list = await r.json();
      const present = new Map<string, string>(
        list.items.map((cm: { metadata: { name: string }; data: { i: string } }) => [
          cm.metadata.name,
          cm.data.i,
        ]),
      );
      for (const name of acknowledged) {
        assert.ok(present.has(name), `acknowledged ${name} was lost`);
        assert.equal(present.get(name), name.slice(3));
      }
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
