/**
 * Seeded robustness fuzzing of the API server (issue #11): a few thousand generated hostile
 * requests — malformed and truncated JSON/YAML/protobuf, deep nesting, huge strings, bad names
 * and selectors, bad resourceVersions and watch parameters, patch bombs of every patch type,
 * percent-escape garbage, wrong methods and credentials — over HTTP/1.1 and HTTP/2 against a real
 * server, interleaved with valid creates and deletes. Every hostile request must get a 4xx
 * `Status` (never a 5xx, never a dropped connection), `/healthz` must never take a second, and the
 * store must afterwards hold exactly the objects that were validly created.
 *
 * The seed is printed; `SKIFF_FUZZ_SEED=<seed>` replays a run, `SKIFF_FUZZ_REQUESTS=<n>` sizes it,
 * `SKIFF_FUZZ_ONLY=<text>` keeps only the hostile cases whose description contains the text.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "./server_process.ts";

/** What the fuzzer needs of the server under test. */
interface Target {
  url: string;
  token: string;
}

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One generated request and what it must get. */
interface Case {
  what: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
  /** Bearer token; `null` sends none. Default: admin. */
  token?: string | null;
  /** `hostile`: a 4xx Status. `create`/`delete`: a valid write of `name` (tracked). */
  kind: "hostile" | "create" | "delete";
  name?: string;
}

const configMap = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name },
    data: { k: "v" },
    ...extra,
  });

const BAD_NAMES = [
  "UPPER",
  "a_b",
  "-a",
  "a-",
  "a".repeat(254),
  "..",
  "a b",
  "ünï",
  "a%2Fb",
  "",
];
const BAD_LABEL_SELECTORS = [
  "a in (",
  "a==b==c",
  "!",
  "a,,b",
  "=x",
  "a in (b",
  "a notin",
  "x=(",
  "a=b c",
  "é=1",
  "a in (b),,",
];
const BAD_QUERY = [
  "watch=true&resourceVersion=abc",
  "watch=true&resourceVersion=-1",
  "watch=true&resourceVersion=1.5",
  "watch=true&resourceVersion=1e3",
  "watch=true&timeoutSeconds=-5",
  "watch=true&timeoutSeconds=abc",
  "watch=true&resourceVersion=1&resourceVersionMatch=Exact",
  "watch=true&resourceVersionMatch=NotOlderThan",
  "watch=true&sendInitialEvents=true",
  "limit=-1",
  "limit=abc",
  "continue=!!!",
  "continue=eyJ2IjoxfQ",
  "fieldSelector=spec.nothing%3Dx",
  "fieldSelector=%3D%3D%3D",
];
const BAD_PATH_SEGMENTS = ["%ff", "%", "%zz", "%c0%af", "%e0%80", "%ff%fe%fd"];

function generators(ns: string, admin: string, joinToken: string) {
  const base = `/api/v1/namespaces/${ns}/configmaps`;
  let created = 0;
  const live: string[] = [];
  const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const target = `${base}/target`;
  const bombOps = (n: number) => {
    const ops: unknown[] = [{ op: "add", path: "/data/seed", value: "y".repeat(200) }];
    for (let i = 0; i < n; i++) ops.push({ op: "copy", from: "/data", path: `/data/c${i}` });
    return JSON.stringify(ops);
  };
  const gens: [number, (r: () => number) => Case][] = [
    [10, () => {
      const name = `ok-${created++}`;
      live.push(name);
      return {
        what: "valid create",
        method: "POST",
        path: base,
        body: configMap(name),
        kind: "create",
        name,
      };
    }],
    [3, (r) => {
      if (live.length === 0) {
        return { what: "get missing", method: "GET", path: `${base}/nope`, kind: "hostile" };
      }
      const name = live.splice(Math.floor(r() * live.length), 1)[0];
      return {
        what: "valid delete",
        method: "DELETE",
        path: `${base}/${name}`,
        kind: "delete",
        name,
      };
    }],
    [8, (r) => {
      const text = configMap(`t-${Math.floor(r() * 1e6)}`);
      const cut = 1 + Math.floor(r() * (text.length - 2));
      return {
        what: "truncated JSON",
        method: "POST",
        path: base,
        body: text.slice(0, cut),
        kind: "hostile",
      };
    }],
    [6, (r) => {
      const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y-${
        Math.floor(r() * 1e6)
      }\n`;
      const cut = Math.floor(r() * text.length);
      const junk = pick(r, [
        "[",
        "{",
        "&a [*a",
        ": : :",
        "\t- x",
        "'",
        '"',
        "? ?",
        "*x",
        "!!binary zz",
      ]);
      return {
        what: "malformed YAML",
        method: "POST",
        path: base,
        body: text.slice(0, cut) + junk.repeat(1 + Math.floor(r() * 50)),
        contentType: "application/yaml",
        kind: "hostile",
      };
    }],
    [4, (r) => {
      const bytes = new Uint8Array(1 + Math.floor(r() * 400));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
      if (r() < 0.5) bytes.set([0x6b, 0x38, 0x73, 0x00].slice(0, bytes.length)); // the magic
      return {
        what: "garbage protobuf",
        method: "POST",
        path: base,
        body: bytes,
        contentType: "application/vnd.kubernetes.protobuf",
        kind: "hostile",
      };
    }],
    [5, (r) => {
      const depth = pick(r, [600, 5_000, 100_000, 1_000_000]);
      const yaml = r() < 0.4;
      const open = pick(r, ["[", '{"a":', "{a: ", "- "]);
      const body = r() < 0.5
        ? open.repeat(depth)
        : `{"metadata":{"name":"deep"},"data":${"[".repeat(depth)}${"]".repeat(depth)}}`;
      return {
        what: `deep nesting ${depth}`,
        method: "POST",
        path: base,
        body,
        contentType: yaml ? "application/yaml" : "application/json",
        kind: "hostile",
      };
    }],
    [3, (r) => {
      const yaml = r() < 0.5;
      const body = yaml
        ? "a: &a [*a, *a]\nb: *a\n"
        : "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
      return {
        what: "YAML aliases",
        method: "POST",
        path: base,
        body,
        contentType: "application/yaml",
        kind: "hostile",
      };
    }],
    [5, (r) => ({
      what: "bad name",
      method: "POST",
      path: base,
      body: configMap(pick(r, BAD_NAMES)),
      kind: "hostile",
    })],
    [2, (r) => ({
      what: "huge string",
      method: "POST",
      path: base,
      body: configMap(`h-${Math.floor(r() * 1e6)}`, {
        metadata: { name: "x".repeat(100_000 + Math.floor(r() * 900_000)) },
      }),
      kind: "hostile",
    })],
    [0.3, () => ({
      what: "body over the limit",
      method: "POST",
      path: base,
      body: configMap("big", { data: { k: "z".repeat(3_200_000) } }),
      kind: "hostile",
    })],
    [5, (r) => ({
      what: "bad label selector",
      method: "GET",
      path: `${base}?labelSelector=${encodeURIComponent(pick(r, BAD_LABEL_SELECTORS))}`,
      kind: "hostile",
    })],
    [
      6,
      (r) => ({
        what: "bad query",
        method: "GET",
        path: `${base}?${pick(r, BAD_QUERY)}`,
        kind: "hostile",
      }),
    ],
    [6, (r) => {
      const variant = Math.floor(r() * 9);
      const j = "application/json-patch+json";
      const m = "application/merge-patch+json";
      const s = "application/strategic-merge-patch+json";
      const cases: [string, string, string][] = [
        ["json patch copy bomb", bombOps(20 + Math.floor(r() * 30)), j],
        [
          "json patch op count",
          JSON.stringify(
            Array.from(
              { length: 10_001 },
              () => ({ op: "test", path: "/kind", value: "ConfigMap" }),
            ),
          ),
          j,
        ],
        ["json patch root number", JSON.stringify([{ op: "replace", path: "", value: 5 }]), j],
        [
          "json patch __proto__",
          JSON.stringify([{ op: "add", path: "/__proto__/x", value: 1 }]),
          j,
        ],
        ["merge __proto__", `{"__proto__":{"x":1}}`, m],
        ["smp bad directive", JSON.stringify({ data: { $patch: "bogus" } }), s],
        ["smp constructor", `{"constructor":{"prototype":{"x":1}},"metadata":{"name":"other"}}`, s],
        ["unknown patch type", "{}", "application/x-nope"],
        ["apply without fieldManager", configMap("target"), "application/apply-patch+yaml"],
      ];
      const [what, body, contentType] = cases[variant];
      return { what, method: "PATCH", path: target, body, contentType, kind: "hostile" };
    }],
    [4, (r) => ({
      what: "percent garbage",
      method: pick(r, ["GET", "POST", "DELETE"]),
      path: `/api/v1/namespaces/${pick(r, BAD_PATH_SEGMENTS)}/configmaps/${
        pick(r, BAD_PATH_SEGMENTS)
      }`,
      body: "{}",
      kind: "hostile",
    })],
    [3, (r) => ({
      what: "method not allowed",
      ...pick(r, [
        { method: "DELETE", path: "/api/v1/namespaces" },
        { method: "DELETE", path: "/api/v1//namespaces" },
        { method: "PUT", path: base },
        { method: "POST", path: `${base}/target` },
        { method: "PATCH", path: base },
        { method: "DELETE", path: "/api/v1/namespaces/kube-system" },
        { method: "DELETE", path: "/api/v1/namespaces/default" },
      ]),
      body: "{}",
      kind: "hostile",
    })],
    [4, (r) => ({
      what: "bad credentials",
      method: pick(r, ["GET", "POST", "DELETE"]),
      path: base,
      body: configMap("sneaky"),
      token: pick(r, [null, "nope", joinToken, `${admin}x`]),
      kind: "hostile",
    })],
    [3, (r) => ({
      what: "unknown path",
      method: pick(r, ["GET", "POST", "PUT"]),
      path: pick(r, [
        "/api/v1//namespaces",
        `/api/v1/namespaces/${ns}/nothings`,
        "/apis/nope/v1/things",
        `/api/v1/namespaces/${ns}/configmaps/a/b/c/d`,
        `${base}//x`,
      ]),
      body: "{}",
      kind: "hostile",
    })],
  ];
  const total = gens.reduce((s, [w]) => s + w, 0);
  return {
    next(r: () => number): Case {
      let x = r() * total;
      for (const [w, g] of gens) {
        x -= w;
        if (x <= 0) return g(r);
      }
      return gens[0][1](r);
    },
  };
}

async function send(
  s: Target,
  client: Deno.HttpClient,
  c: Case,
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  const token = c.token === undefined ? s.token : c.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const body = c.method === "GET" || c.method === "HEAD" ? undefined : c.body;
  if (body !== undefined) headers["content-type"] = c.contentType ?? "application/json";
  const res = await fetch(`${s.url}${c.path}`, {
    method: c.method,
    headers,
    body: body as BodyInit | undefined,
    client,
  });
  return { status: res.status, body: await res.text() };
}

Deno.test("fuzz: hostile requests over HTTP/1.1 and HTTP/2 get 4xx Status; the store stays exact", async () => {
  const seed = Number(Deno.env.get("SKIFF_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const requests = Number(Deno.env.get("SKIFF_FUZZ_REQUESTS") ?? 2000);
  console.log(`fuzz seed ${seed} (SKIFF_FUZZ_SEED=${seed} replays this run)`);
  // The server runs in its own process, so /healthz measures its event loop, not the fuzzer's.
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-fuzz-" });
  const server = await startServerProcess({ dataDir, args: ["--no-controllers"] });
  const caPem = await Deno.readTextFile(`${dataDir}/tls/ca.crt`);
  const joinToken = (await Deno.readTextFile(`${dataDir}/token`)).trim();
  const s: Target = { url: server.url, token: server.token };
  const h1 = Deno.createHttpClient({ caCerts: [caPem], http1: true, http2: false });
  const h2 = Deno.createHttpClient({ caCerts: [caPem], http1: false, http2: true });
  const probe = Deno.createHttpClient({ caCerts: [caPem], http1: true, http2: false });
  const ns = `fuzz-${seed}`;
  const failures: string[] = [];
  let slowestHealthz = 0;
  const done = new AbortController();
  try {
    const nsRes = await send(s, h1, {
      what: "namespace",
      method: "POST",
      path: "/api/v1/namespaces",
      body: JSON.stringify({ metadata: { name: ns } }),
      kind: "create",
    });
    assert.equal(nsRes.status, 201, nsRes.body);
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const t = await send(s, h1, {
      what: "target",
      method: "POST",
      path: base,
      body: configMap("target"),
      kind: "create",
    });
    assert.equal(t.status, 201, t.body);

    const rand = prng(seed);
    const gen = generators(ns, s.token, joinToken);
    const expected = new Set<string>(["target"]);
    const only = Deno.env.get("SKIFF_FUZZ_ONLY");
    const cases = Array.from(
      { length: requests },
      () => ({ c: gen.next(rand), viaH2: rand() < 0.5 }),
    ).filter(({ c }) => !only || c.what.includes(only) || c.kind !== "hostile");
    const health = (async () => {
      while (!done.signal.aborted) {
        const start = performance.now();
        const res = await fetch(`${s.url}/healthz`, { client: probe });
        await res.body?.cancel();
        slowestHealthz = Math.max(slowestHealthz, performance.now() - start);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // Writes of one name stay in order: a worker owns every case of the names it touches.
    const workers = 4;
    const queues: { c: Case; viaH2: boolean; i: number }[][] = Array.from(
      { length: workers },
      () => [],
    );
    const owner = new Map<string, number>();
    cases.forEach(({ c, viaH2 }, i) => {
      const w = c.name !== undefined ? (owner.get(c.name) ?? i % workers) : i % workers;
      if (c.name !== undefined) owner.set(c.name, w);
      queues[w].push({ c, viaH2, i });
    });
    const slowest = new Map<string, number>();
    const started = performance.now();
    await Promise.all(queues.map(async (queue) => {
      for (const { c, viaH2, i } of queue) {
        let res: { status: number; body: string };
        const sent = performance.now();
        try {
          res = await send(s, viaH2 ? h2 : h1, c);
          const ms = performance.now() - sent;
          if (ms > (slowest.get(c.what) ?? 0)) slowest.set(c.what, ms);
        } catch (e) {
          failures.push(`#${i} ${c.what} ${c.method} ${c.path.slice(0, 80)}: ${e}`);
          continue;
        }
        const label = `#${i} ${c.what} ${c.method} ${c.path.slice(0, 80)} (${viaH2 ? "h2" : "h1"})`;
        if (c.kind === "create") {
          if (res.status === 201) expected.add(c.name!);
          else failures.push(`${label}: valid create got ${res.status} ${res.body.slice(0, 200)}`);
        } else if (c.kind === "delete") {
          if (res.status === 200) expected.delete(c.name!);
          else failures.push(`${label}: valid delete got ${res.status} ${res.body.slice(0, 200)}`);
        } else {
          let status: { kind?: string; code?: number } = {};
          try {
            status = JSON.parse(res.body);
          } catch {
            // reported below
          }
          if (res.status < 400 || res.status >= 500 || status.kind !== "Status") {
            failures.push(`${label}: got ${res.status} ${res.body.slice(0, 200)}`);
          }
        }
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    done.abort();
    await health;
    const worst = [...slowest].sort((a, b) => b[1] - a[1]).slice(0, 4)
      .map(([what, ms]) => `${what} ${ms.toFixed(0)} ms`).join(", ");
    console.log(
      `fuzz: ${requests} requests in ${seconds.toFixed(1)} s; slowest /healthz ${
        slowestHealthz.toFixed(0)
      } ms; slowest requests: ${worst}`,
    );
    assert.deepEqual(failures.slice(0, 20), [], `seed ${seed}: ${failures.length} failures`);
    assert.ok(slowestHealthz < 1000, `seed ${seed}: /healthz took ${slowestHealthz.toFixed(0)} ms`);

    // The store holds exactly what was validly created (and not deleted), nothing else.
    const list = await send(s, h1, { what: "list", method: "GET", path: base, kind: "hostile" });
    // kube-root-ca.crt is every namespace's (the ServiceAccount controller's), not the fuzzer's.
    const names = JSON.parse(list.body).items.map((o: { metadata: { name: string } }) =>
      o.metadata.name
    ).filter((name: string) => name !== "kube-root-ca.crt");
    assert.deepEqual([...names].sort(), [...expected].sort(), `seed ${seed}: stored objects`);
    const target = JSON.parse(
      (await send(s, h1, { what: "get", method: "GET", path: `${base}/target`, kind: "hostile" }))
        .body,
    );
    assert.deepEqual(target.data, { k: "v" }, `seed ${seed}: the patch target is unchanged`);
    for (const system of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      const r = await send(s, h1, {
        what: "ns",
        method: "GET",
        path: `/api/v1/namespaces/${system}`,
        kind: "hostile",
      });
      assert.equal(r.status, 200, system);
    }
    assert.equal(({} as Record<string, unknown>).x, undefined, "Object.prototype is clean");
  } finally {
    done.abort();
    h1.close();
    h2.close();
    probe.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
