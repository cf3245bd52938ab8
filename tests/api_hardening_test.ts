/**
 * Hostile requests against a real server (issue #11): patch bombs, collection deletes of
 * namespaces, deep and self-referencing bodies, malformed escapes and patches. Each answer is a
 * quick 4xx `Status`, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { api, startTestServer, type TestServer } from "./test_utils.ts";

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer({ controllers: false });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

function configMap(name: string, data: Record<string, string> = { a: "x".repeat(100) }) {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data };
}

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("a JSON patch that doubles the object with every copy fails fast with 422", async () => {
  await withServer(async (s) => {
    assert.equal((await api(s, "POST", CM, { body: configMap("bomb") })).status, 201);
    // One add, then 40 copies of /data into itself: 2^40 times the data if nothing stops it.
    const ops: unknown[] = [{ op: "add", path: "/data/seed", value: "y".repeat(1000) }];
    for (let i = 0; i < 40; i++) ops.push({ op: "copy", from: "/data", path: `/data/c${i}` });
    const { value: r, ms } = await timed(() =>
      api(s, "PATCH", `${CM}/bomb`, { body: ops, contentType: "application/json-patch+json" })
    );
    assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.kind, "Status");
    assert.ok(String(r.body.message).includes("accumulated size"), r.body.message);
    assert.ok(JSON.stringify(r.body).length < 2000, "the error reply is small");
    assert.ok(ms < 2000, `answered in ${ms} ms`);
    const after = await api(s, "GET", `${CM}/bomb`);
    assert.deepEqual(Object.keys(after.body.data), ["a"]);
  });
});

Deno.test("patches are bounded: op count (413) and patched object size (413), every type", async () => {
  await withServer(async (s) => {
    assert.equal((await api(s, "POST", CM, { body: configMap("big") })).status, 201);
    const ops = Array.from({ length: 10_001 }, () => ({ op: "test", path: "/kind", value: "x" }));
    const many = await api(s, "PATCH", `${CM}/big`, {
      body: ops,
      contentType: "application/json-patch+json",
    });
    assert.equal(many.status, 413);
    assert.equal(many.body.reason, "RequestEntityTooLarge");
    // The object holds 0.9 MiB; a 2.5 MiB patch adding a second key would make it 3.4 MiB.
    const put = await api(s, "PATCH", `${CM}/big`, {
      body: { data: { a: "y".repeat(900 * 1024) } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(put.status, 200);
    const half = "z".repeat(2.5 * 1024 * 1024);
    for (
      const [contentType, body] of [
        ["application/merge-patch+json", { data: { b: half } }],
        ["application/strategic-merge-patch+json", { data: { b: half } }],
        ["application/json-patch+json", [{ op: "add", path: "/data/b", value: half }]],
        ["application/apply-patch+yaml", { ...configMap("big", { b: half }) }],
      ] as const
    ) {
      const r = await api(s, "PATCH", `${CM}/big?fieldManager=t`, { body, contentType });
      assert.equal(r.status, 413, `${contentType}: ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(r.body.reason, "RequestEntityTooLarge");
    }
  });
});

Deno.test("DELETE of the namespace collection is 405; system namespaces cannot be deleted", async () => {
  await withServer(async (s) => {
    for (const path of ["/api/v1/namespaces", "/api/v1//namespaces"]) {
      const r = await api(s, "DELETE", path);
      assert.ok(r.status === 405 || r.status === 404, `${path}: ${r.status}`);
      assert.equal(r.body.kind, "Status");
    }
    assert.equal((await api(s, "DELETE", "/api/v1/namespaces")).body.reason, "MethodNotAllowed");
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      const r = await api(s, "DELETE", `/api/v1/namespaces/${name}`);
      assert.equal(r.status, 403, name);
      assert.deepEqual(
        r.body.message,
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      );
    }
    const list = await api(s, "GET", "/api/v1/namespaces");
    const names = list.body.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      assert.ok(names.includes(name), name);
    }
    // A collection that Kubernetes does delete still is.
    assert.equal((await api(s, "POST", CM, { body: configMap("gone") })).status, 201);
    assert.equal((await api(s, "DELETE", CM)).status, 200);
    assert.equal((await api(s, "GET", `${CM}/gone`)).status, 404);
  });
});

Deno.test("missing system namespaces are recreated at start", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-harden-" });
  try {
    const first = await startTestServer({ controllers: false, dataDir });
    // Remove one behind the API's back (as a store from an older version could be).
    const { SqliteBackend } = await import("../server/store/sqlite_backend.ts");
    await first.stop();
    const backend = SqliteBackend.open(`${dataDir}/db/state.db`);
    const key = (await backend.list("/registry/")).items.map((kv) => kv.key).find((k) =>
      k.endsWith("/namespaces/kube-public")
    )!;
    assert.ok(key, "kube-public is stored");
    const cur = await backend.get(key);
    await backend.delete(key, cur!.modRevision);
    await backend.close();
    const second = await startTestServer({ controllers: false, dataDir });
    try {
      assert.equal((await api(second, "GET", "/api/v1/namespaces/kube-public")).status, 200);
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("malformed requests are 400s: bad escapes, root replaced by a number, prototype keys", async () => {
  await withServer(async (s) => {
    assert.equal((await api(s, "POST", CM, { body: configMap("p") })).status, 201);
    const escape = await api(s, "GET", "/api/v1/namespaces/%ff%fe/configmaps");
    assert.equal(escape.status, 400);
    const bad = await api(s, "GET", "/api/v1/namespaces/%zz/configmaps");
    assert.equal(bad.status, 400);
    const root = await api(s, "PATCH", `${CM}/p`, {
      body: [{ op: "replace", path: "", value: 5 }],
      contentType: "application/json-patch+json",
    });
    assert.equal(root.status, 400);
    for (const key of ["constructor", "prototype", "__proto__"]) {
      for (
        const contentType of [
          "application/strategic-merge-patch+json",
          "application/merge-patch+json",
        ]
      ) {
        const body = `{"${key}": {"polluted": "yes"}, "metadata": {"${key}": {"x": 1}}}`;
        const r = await api(s, "PATCH", `${CM}/p`, { body, contentType });
        assert.ok(r.status >= 400 && r.status < 500 || r.status === 200, `${key}: ${r.status}`);
        assert.ok(r.status !== 500);
      }
      const jp = await api(s, "PATCH", `${CM}/p`, {
        body: [{ op: "add", path: `/${key}/polluted`, value: "yes" }],
        contentType: "application/json-patch+json",
      });
      assert.ok(jp.status >= 400 && jp.status < 500, `${key}: ${jp.status}`);
    }
    // Nothing leaked onto Object.prototype of this process (the server runs in it).
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

Deno.test("deep and self-referencing bodies are quick 400s and /healthz stays responsive", async () => {
  await withServer(async (s) => {
    const bodies: [string, string][] = [
      ["application/yaml", "[".repeat(1_000_000)],
      ["application/json", "[".repeat(1_000_000)],
      ["application/json", "[".repeat(100_000) + "]".repeat(100_000)],
      ["application/yaml", "a: &a [*a]\n"],
      ["application/yaml", "{a: ".repeat(20_000)],
      ["application/yaml", "- ".repeat(20_000) + "x"],
      ["application/json", `{"metadata":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`],
    ];
    for (const [contentType, body] of bodies) {
      let slowest = 0;
      const health = (async () => {
        const { ms } = await timed(() => api(s, "GET", "/healthz", { token: null }));
        slowest = Math.max(slowest, ms);
      })();
      const { value: r, ms } = await timed(() => api(s, "POST", CM, { body, contentType }));
      await health;
      assert.ok(r.status === 400 || r.status === 413, `${body.slice(0, 20)}: ${r.status}`);
      assert.equal(r.body.kind, "Status");
      assert.ok(ms < 1000, `${contentType} ${body.slice(0, 10)} answered in ${ms} ms`);
      assert.ok(slowest < 1000, `/healthz took ${slowest} ms`);
    }
  });
});

Deno.test("a 403 on a collection names no object (Kubernetes' wording)", async () => {
  await withServer(async (s) => {
    // The join token may read nothing but what joining needs.
    const r = await api(s, "GET", CM, { token: s.joinToken });
    assert.equal(r.status, 403);
    assert.ok(String(r.body.message).startsWith("configmaps is forbidden:"), r.body.message);
  });
});

Deno.test("a watch from a future resourceVersion waits, then 504 Too large resource version", async () => {
  await withServer(async (s) => {
    const list = await api(s, "GET", CM);
    const future = Number(list.body.metadata.resourceVersion) + 1000;
    const { value: r, ms } = await timed(() =>
      api(s, "GET", `${CM}?watch=true&resourceVersion=${future}&timeoutSeconds=30`)
    );
    assert.equal(r.status, 504);
    assert.equal(r.body.reason, "Timeout");
    assert.ok(
      String(r.body.message).startsWith(`Too large resource version: ${future}, current: `),
      r.body.message,
    );
    assert.equal(r.body.details.retryAfterSeconds, 1);
    assert.equal(r.body.details.causes[0].reason, "ResourceVersionTooLarge");
    assert.ok(ms >= 2500 && ms < 10_000, `answered after ${ms} ms`);
    // Invalid combinations are refused at once (kube-apiserver's ListOptions validation).
    for (
      const query of [
        `resourceVersion=${future}&resourceVersionMatch=Exact`,
        "resourceVersion=1&resourceVersionMatch=NotOlderThan",
        "sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
      ]
    ) {
      const bad = await api(s, "GET", `${CM}?watch=true&${query}`);
      assert.equal(bad.status, 422, query);
      assert.equal(bad.body.reason, "Invalid", query);
    }
    const garbage = await api(s, "GET", `${CM}?watch=true&resourceVersion=1e3`);
    assert.equal(garbage.status, 400);
  });
});
