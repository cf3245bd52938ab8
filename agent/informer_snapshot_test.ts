import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { ApiClient } from "../shared/client/client.ts";
import { startMiniApiServer } from "../shared/client/_mini_api_server_test_util.ts";
import { PODS } from "../shared/client/refs.ts";
import { Informer } from "../shared/informer.ts";
import { InformerSnapshot } from "./informer_snapshot.ts";
import { writeFileAtomic } from "../shared/write_file_atomic.ts";
import { until } from "../shared/_until_test_util.ts";

const pod = (name: string, rv: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", resourceVersion: rv },
  spec: {},
});

Deno.test("writeFileAtomic() replaces a file whole, with the mode asked for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/f.json`, "one", 0o600);
    await writeFileAtomic(`${dir}/f.json`, "two", 0o600);
    assert.equal(await Deno.readTextFile(`${dir}/f.json`), "two");
    assert.equal((await Deno.stat(`${dir}/f.json`)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("InformerSnapshot seeds the informer; the first LIST wins and is written back", async () => {
  const dir = await Deno.makeTempDir();
  const server = startMiniApiServer();
  const client = new ApiClient({ server: server.url });
  const ac = new AbortController();
  try {
    server.put(pod("a", ""));
    server.put(pod("c", ""));
    await Deno.writeTextFile(
      `${dir}/pods.json`,
      JSON.stringify({ items: [pod("a", "1"), pod("b", "2")] }),
    );
    const informer = new Informer(client, PODS, { backoff: { initialMs: 5, maxMs: 20 } });
    const events: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => events.push(`add:${o.metadata.name}`),
      onDelete: (o) => events.push(`delete:${o.metadata.name}`),
    });
    const snapshot = new InformerSnapshot(informer, { dir, name: "pods", debounceMs: 10 });
    assert.equal(await snapshot.seed(), 2);
    assert.ok(informer.hasSynced());
    assert.equal(informer.hasListed(), false);
    assert.deepEqual(informer.keys().sort(), ["default/a", "default/b"]);
    assert.deepEqual(events, ["add:a", "add:b"]);

    const running = Promise.all([informer.run(ac.signal), snapshot.run(ac.signal)]);
    await until("listed", () => informer.hasListed());
    // The server wins: b was deleted meanwhile, c is new.
    assert.deepEqual(informer.keys().sort(), ["default/a", "default/c"]);
    assert.ok(events.includes("delete:b") && events.includes("add:c"));
    await until("the copy written", async () => {
      const text = await Deno.readTextFile(`${dir}/pods.json`);
      return text.includes('"c"') && !text.includes('"b"');
    });
    // A seed after the LIST is ignored.
    informer.seed([pod("z", "1")]);
    assert.equal(informer.get("default/z"), undefined);
    ac.abort();
    await running;
  } finally {
    ac.abort();
    client.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("InformerSnapshot writes nothing above maxBytes and nothing before the informer synced", async () => {
  const dir = await Deno.makeTempDir();
  const client = new ApiClient({ server: "http://127.0.0.1:1" });
  try {
    const informer = new Informer(client, PODS);
    const snapshot = new InformerSnapshot(informer, { dir, name: "pods", maxBytes: 100 });
    await snapshot.flush();
    assert.equal(await snapshot.load(), undefined);
    informer.seed([pod("a", "1"), pod("b".repeat(200), "1")]);
    const ac = new AbortController();
    ac.abort();
    await snapshot.run(ac.signal); // one final flush: too large, not written
    assert.equal(await snapshot.load(), undefined);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
