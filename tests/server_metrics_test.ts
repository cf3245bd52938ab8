/**
 * The server's `/metrics` in Prometheus text format, read with a parser from npm: request
 * counts and latency by verb/resource/code, long-running watches, stored objects and store
 * latency, workqueue metrics of the controllers, scheduling attempts, process metrics; and who
 * may read it.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "npm:parse-prometheus-text-format@1.1.1";
import { api, startTestServer, waitFor } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

interface Sample {
  labels: Record<string, string>;
  value: number;
}

async function scrape(
  server: { url: string; httpClient: Deno.HttpClient },
  token: string,
): Promise<Map<string, Sample[]> & { text?: string }> {
  const res = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    client: server.httpClient,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families: Any[] = parsePrometheusTextFormat(text);
  const out: Map<string, Sample[]> & { text?: string } = new Map(families.map((f: Any) => [
    f.name,
    f.metrics.map((m: Any) => ({
      labels: m.labels ?? {},
      value: Number(m.value ?? m.count),
    })),
  ]));
  out.text = text;
  return out;
}

/**
 * Whether a histogram has a series whose labels include these (the npm parser drops the labels
 * of histogram series, so these are read from the text).
 */
const histogram = (m: { text?: string }, name: string, labels: Record<string, string>) =>
  (m.text ?? "").split("\n").some((line) =>
    line.startsWith(`${name}_count{`) &&
    Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
  );

const find = (m: Map<string, Sample[]>, name: string, labels: Record<string, string>) =>
  (m.get(name) ?? []).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

Deno.test("the server's /metrics counts requests, watches, store, queues and scheduling", async () => {
  const server = await startTestServer();
  try {
    for (let i = 0; i < 3; i++) await api(server, "GET", "/api/v1/namespaces/default/pods");
    const missing = await api(server, "GET", "/api/v1/namespaces/default/pods/nope");
    assert.equal(missing.status, 404);
    await api(server, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "c", image: "skiff.local/busybox:1" }] },
          },
        },
      },
    });
    const ac = new AbortController();
    const watch = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?watch=1`, {
      headers: { authorization: `Bearer ${server.token}` },
      client: server.httpClient,
      signal: ac.signal,
    });
    // The Deployment's pod cannot be scheduled (no nodes): the scheduler counts the attempt.
    const m = await waitFor("the pod's scheduling attempt counted", async () => {
      const m = await scrape(server, server.token);
      return find(m, "scheduler_schedule_attempts_total", { result: "unschedulable" }) && m;
    });
    const list = find(m, "apiserver_request_total", {
      verb: "LIST",
      resource: "pods",
      scope: "namespace",
      code: "200",
    });
    assert.ok(list && list.value >= 3, JSON.stringify(list));
    assert.equal(
      find(m, "apiserver_request_total", { verb: "GET", resource: "pods", code: "404" })?.value,
      1,
    );
    assert.ok(find(m, "apiserver_request_total", {
      verb: "POST",
      group: "apps",
      resource: "deployments",
      code: "201",
    }));
    assert.ok(
      histogram(m, "apiserver_request_duration_seconds", { verb: "LIST", resource: "pods" }),
    );
    assert.equal(
      find(m, "apiserver_longrunning_requests", {
        verb: "WATCH",
        resource: "configmaps",
        scope: "namespace",
      })?.value,
      1,
    );
    assert.ok(find(m, "apiserver_storage_objects", { resource: "namespaces" })!.value >= 4);
    assert.ok(find(m, "apiserver_storage_objects", { resource: "deployments.apps" })!.value >= 1);
    assert.ok(histogram(m, "etcd_request_duration_seconds", { operation: "create" }));
    assert.ok(find(m, "apiserver_storage_size_bytes", {})!.value > 0);
    assert.ok(find(m, "workqueue_adds_total", { name: "deployment" })!.value >= 1);
    assert.ok(histogram(m, "workqueue_work_duration_seconds", { name: "deployment" }));
    assert.ok(find(m, "workqueue_depth", { name: "deployment" }));
    assert.ok(
      histogram(m, "scheduler_scheduling_attempt_duration_seconds", { result: "unschedulable" }),
    );
    assert.ok(find(m, "scheduler_pending_pods", { queue: "unschedulable" })!.value >= 1);
    assert.ok(find(m, "process_resident_memory_bytes", {})!.value > 0);
    assert.ok(find(m, "process_event_loop_lag_seconds", {}));

    ac.abort();
    await watch.body?.cancel().catch(() => {});
    await waitFor("the watch no longer counted", async () => {
      const after = await scrape(server, server.token);
      return find(after, "apiserver_longrunning_requests", {
        verb: "WATCH",
        resource: "configmaps",
        scope: "namespace",
      })?.value === 0;
    });
  } finally {
    await server.stop();
  }
});

Deno.test("/metrics needs a user token: none is 401, a join token 403", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    const anonymous = await fetch(`${server.url}/metrics`, { client: server.httpClient });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const join = await api(server, "GET", "/metrics", { token: server.joinToken });
    assert.equal(join.status, 403);
    assert.match(join.body.message, /cannot get path "\/metrics"/);
  } finally {
    await server.stop();
  }
});
