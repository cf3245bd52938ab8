/**
 * Seeded robustness fuzzing of the agent API (issue #11): generated hostile requests — missing and
 * wrong credentials, garbage paths and percent-escapes, bad query parameters, streaming endpoints
 * without an upgrade, wrong methods, bodies where none belong — against a real agent API server on
 * a real socket. Each gets a 4xx `Status`, never a 5xx, and `/healthz` keeps answering within 1 s.
 * The seed is printed; `SKIFF_FUZZ_SEED=<seed>` replays a run.
 */
import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { serveAgentApi } from "../agent/http_api.ts";

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

const GARBAGE = ["%ff", "%", "%zz", "%c0%af", "..", "a%2Fb", "x".repeat(5000), "ünï", "-", ""];
const QUERIES = [
  "tailLines=abc",
  "tailLines=-1",
  "sinceSeconds=abc",
  "sinceTime=not-a-time",
  "limitBytes=-5",
  "follow=true&previous=true",
  "port=0",
  "port=99999",
  "port=abc",
  "command=",
  "%ff=%fe",
];

Deno.test("fuzz: hostile requests to the agent API get 4xx Status; /healthz stays responsive", async () => {
  const seed = Number(Deno.env.get("SKIFF_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const requests = Number(Deno.env.get("SKIFF_FUZZ_REQUESTS") ?? 600);
  console.log(`agent fuzz seed ${seed} (SKIFF_FUZZ_SEED=${seed} replays this run)`);
  const token = crypto.randomUUID();
  const node = `fuzz-${seed}`;
  const ac = new AbortController();
  const server = serveAgentApi({
    rt: new DockerRuntime({ nodeName: node }),
    token,
    nodeName: node,
    nodeAddress: "127.0.0.1",
    hostname: "127.0.0.1",
    port: 0,
  }, ac.signal);
  const base = `http://127.0.0.1:${server.port}`;
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const failures: string[] = [];
  let slowestHealthz = 0;
  const done = new AbortController();
  const cases = Array.from({ length: requests }, () => {
    const ns = pick(GARBAGE);
    const pod = pick(["nope", ...GARBAGE]);
    const path = pick([
      `/containerLogs/${ns}/${pod}/c`,
      `/containerLogs/${ns}/${pod}`,
      `/exec/${ns}/${pod}/c`,
      `/attach/${ns}/${pod}/c`,
      `/portForward/${ns}/${pod}`,
      `/stats/${pod}`,
      `/${pick(GARBAGE)}`,
      "//containerLogs//x",
      "/metrics/x",
    ]) + (r() < 0.7 ? `?${pick(QUERIES)}` : "");
    const method = pick(["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"]);
    const auth = pick([`Bearer ${token}`, `Bearer ${token}`, "", "Bearer nope", `Basic ${token}`]);
    const size = pick([0, 10, 100_000, 2_000_000]);
    return { path, method, auth, size };
  });
  const health = (async () => {
    while (!done.signal.aborted) {
      const start = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.body?.cancel();
      slowestHealthz = Math.max(slowestHealthz, performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    const workers = 4;
    await Promise.all(Array.from({ length: workers }, async (_, w) => {
      for (let i = w; i < cases.length; i += workers) {
        const c = cases[i];
        const label = `#${i} ${c.method} ${c.path.slice(0, 80)} auth=${c.auth.slice(0, 8)}`;
        const headers: Record<string, string> = {};
        if (c.auth) headers.authorization = c.auth;
        const body = c.method !== "GET" && c.size > 0 ? "x".repeat(c.size) : undefined;
        try {
          const res = await fetch(`${base}${c.path}`, { method: c.method, headers, body });
          const text = await res.text();
          let kind: string | undefined;
          try {
            kind = JSON.parse(text).kind;
          } catch {
            // reported below
          }
          if (res.status < 400 || res.status >= 500 || kind !== "Status") {
            failures.push(`${label}: got ${res.status} ${text.slice(0, 200)}`);
          }
        } catch (e) {
          failures.push(`${label}: ${e}`);
        }
      }
    }));
  } finally {
    done.abort();
    await health;
    ac.abort();
    await server.finished;
  }
  console.log(`agent fuzz: ${requests} requests; slowest /healthz ${slowestHealthz.toFixed(0)} ms`);
  assert.deepEqual(failures.slice(0, 20), [], `seed ${seed}: ${failures.length} failures`);
  assert.ok(slowestHealthz < 1000, `seed ${seed}: /healthz took ${slowestHealthz.toFixed(0)} ms`);
});
