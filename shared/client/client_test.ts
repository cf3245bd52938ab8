import assert from "node:assert/strict";
import type { KubeObject } from "../api/object.ts";
import { ApiError, isAlreadyExists, isCode, isConflict, isNotFound } from "../errors.ts";
import { ApiClient } from "./client.ts";
import { type MiniApiServer, startMiniApiServer } from "./_mini_api_server_test_util.ts";
import { PODS } from "./refs.ts";

/** Runs `fn` with a fixture server that is stopped afterwards. */
async function withServer(
  fn: (server: MiniApiServer) => Promise<void>,
  options: { token?: string } = {},
): Promise<void> {
  const server = startMiniApiServer(options);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

const pod = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

Deno.test("ApiClient does create/get/update/list/delete over HTTP with a bearer token", async () => {
  await withServer(async (server) => {
    const client = new ApiClient({ server: server.url + "/", token: "s3cret" });
    const created = await client.create(PODS, pod("web"));
    assert.equal(created.metadata.namespace, "default");
    assert.ok(created.metadata.resourceVersion);
    const got = await client.get(PODS, "web", { namespace: "default" });
    assert.deepEqual(got.metadata.uid, created.metadata.uid);
    got.metadata.labels = { app: "web" };
    const updated = await client.update(PODS, got);
    assert.deepEqual(updated.metadata.labels, { app: "web" });
    const list = await client.list(PODS, { namespace: "default" });
    assert.deepEqual(list.items.map((p) => p.metadata.name), ["web"]);
    assert.deepEqual(list.metadata.resourceVersion, updated.metadata.resourceVersion);
    await client.delete(PODS, "web", { namespace: "default", gracePeriodSeconds: 0 });
    assert.equal((await client.list(PODS)).items.length, 0);
  }, { token: "s3cret" });
});

Deno.test("ApiClient turns error Statuses into ApiErrors that isNotFound/isConflict recognise", async () => {
  await withServer(async (server) => {
    const client = new ApiClient({ server: server.url });
    await assert.rejects(client.get(PODS, "nope", { namespace: "default" }), (err) => {
      assert.ok(isNotFound(err), `expected NotFound, got ${err}`);
      assert.equal((err as ApiError).message, 'pods "nope" not found');
      return true;
    });

    const first = await client.create(PODS, pod("a"));
    await assert.rejects(client.create(PODS, pod("a")), (err) => {
      assert.ok(isAlreadyExists(err) && !isConflict(err), `expected AlreadyExists, got ${err}`);
      return true;
    });

    await client.update(PODS, { ...first, metadata: { ...first.metadata, labels: { x: "1" } } });
    await assert.rejects(client.update(PODS, first), (err) => {
      assert.ok(isConflict(err), `expected Conflict, got ${err}`);
      assert.equal((err as ApiError).reason, "Conflict");
      return true;
    });
  });
});

Deno.test("ApiClient maps a non-Status error body by HTTP code and a missing token to 401", async () => {
  await withServer(async (server) => {
    const noToken = new ApiClient({ server: server.url });
    await assert.rejects(noToken.list(PODS), (err) => {
      assert.ok(isCode(err, 401), `expected 401, got ${err}`);
      return true;
    });

    const client = new ApiClient({ server: server.url, token: "t" });
    server.failNext(503, "upstream connect error");
    await assert.rejects(client.list(PODS), (err) => {
      assert.ok(err instanceof ApiError && err.code === 503, `expected 503, got ${err}`);
      assert.equal(err.message, "upstream connect error");
      return true;
    });
  }, { token: "t" });
});

Deno.test("ApiClient with an injected fetch reaches the server without a socket", async () => {
  await withServer(async (server) => {
    const seen: string[] = [];
    const client = new ApiClient({
      server: "http://in-process.invalid",
      fetch: (input, init) => {
        seen.push(`${init?.method} ${new URL(String(input)).pathname}`);
        return server.fetch(input, init);
      },
    });
    await client.create(PODS, pod("a"), { namespace: "default" });
    const list = await client.list(PODS, { namespace: "default", limit: 10 });
    assert.equal(list.items.length, 1);
    assert.deepEqual(seen, [
      "POST /api/v1/namespaces/default/pods",
      "GET /api/v1/namespaces/default/pods",
    ]);
  });
});

Deno.test("ApiClient.list() pages with limit and continue", async () => {
  await withServer(async (server) => {
    const client = new ApiClient({ server: server.url });
    for (const n of ["a", "b", "c"]) await client.create(PODS, pod(n));
    const first = await client.list(PODS, { limit: 2 });
    assert.deepEqual(first.items.map((p) => p.metadata.name), ["a", "b"]);
    assert.ok(first.metadata.continue);
    const second = await client.list(PODS, { limit: 2, continue: first.metadata.continue });
    assert.deepEqual(second.items.map((p) => p.metadata.name), ["c"]);
    assert.equal(second.metadata.continue, undefined);
  });
});

Deno.test("ApiClient.watch() streams events from a version and closes the connection on abort", async () => {
  await withServer(async (server) => {
    const client = new ApiClient({ server: server.url });
    const a = await client.create(PODS, pod("a"));
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (
        const e of client.watch(PODS, {
          namespace: "default",
          resourceVersion: a.metadata.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: 30,
          signal: ac.signal,
        })
      ) {
        seen.push(`${e.type}:${e.object.metadata.name ?? ""}`);
        if (seen.length === 3) ac.abort();
      }
    })();
    await client.create(PODS, pod("b"));
    await client.delete(PODS, "a", { namespace: "default" });
    while (server.openWatches === 0) await new Promise((r) => setTimeout(r, 5));
    server.bookmark();
    await done;
    assert.deepEqual(seen, ["ADDED:b", "DELETED:a", "BOOKMARK:"]);
    const q = server.watchRequests[0];
    assert.equal(q.get("watch"), "true");
    assert.equal(q.get("allowWatchBookmarks"), "true");
    assert.equal(q.get("timeoutSeconds"), "30");
    assert.deepEqual(q.get("resourceVersion"), a.metadata.resourceVersion);
  });
});

Deno.test("ApiClient.watch() from a compacted version throws a 410 GoneError", async () => {
  await withServer(async (server) => {
    const client = new ApiClient({ server: server.url });
    const a = await client.create(PODS, pod("a"));
    await client.create(PODS, pod("b"));
    server.compact();
    const ac = new AbortController();
    await assert.rejects(
      async () => {
        for await (
          const _ of client.watch(PODS, {
            resourceVersion: a.metadata.resourceVersion,
            signal: ac.signal,
          })
        ) { /* nothing expected */ }
      },
      (err) => {
        assert.ok(isCode(err, 410), `expected 410, got ${err}`);
        return true;
      },
    );
  });
});

Deno.test("ApiClient.patch() sends the Content-Type of the patch type and the apply query", async () => {
  const seen: { method: string; url: string; contentType: string | null; body: string }[] = [];
  const client = new ApiClient({
    server: "http://example.invalid",
    fetch: async (input, init) => {
      const req = new Request(input, init);
      seen.push({
        method: req.method,
        url: req.url,
        contentType: req.headers.get("content-type"),
        body: await req.text(),
      });
      return new Response(JSON.stringify({ metadata: { name: "web" } }), {
        headers: { "content-type": "application/json" },
      });
    },
  });
  await client.patch(PODS, "web", { metadata: { labels: { a: "b" } } }, {
    namespace: "default",
    type: "merge",
  });
  await client.patch(PODS, "web", [{ op: "remove", path: "/metadata/labels/a" }], {
    namespace: "default",
    type: "json",
    subresource: "status",
  });
  await client.patch(PODS, "web", { metadata: { name: "web" } }, {
    namespace: "default",
    type: "apply",
    fieldManager: "me",
    force: true,
  });
  await client.delete(PODS, "web", {
    namespace: "default",
    propagationPolicy: "Foreground",
    preconditions: { uid: "u1" },
  });
  assert.deepEqual(seen.map((s) => s.contentType), [
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "application/json",
  ]);
  assert.equal(new URL(seen[1].url).pathname, "/api/v1/namespaces/default/pods/web/status");
  assert.equal(new URL(seen[2].url).search, "?fieldManager=me&force=true");
  assert.deepEqual(JSON.parse(seen[3].body), {
    kind: "DeleteOptions",
    apiVersion: "v1",
    propagationPolicy: "Foreground",
    preconditions: { uid: "u1" },
  });
});

Deno.test("ApiClient.watch() ends quietly when aborted before the server answers", async () => {
  const client = new ApiClient({
    server: "http://example.invalid",
    // A server that never sends headers: the request only ends through its signal.
    fetch: (_input, init) =>
      new Promise((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
      }),
  });
  const ac = new AbortController();
  const seen: unknown[] = [];
  const done = (async () => {
    for await (const e of client.watch(PODS, { signal: ac.signal })) seen.push(e);
  })();
  ac.abort();
  await done;
  assert.deepEqual(seen, []);
});
