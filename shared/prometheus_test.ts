import assert from "node:assert/strict";
// A parser of the text exposition format from npm, so the writer is checked against another
// implementation rather than against itself.
import parsePrometheusTextFormat from "npm:parse-prometheus-text-format@1.1.1";
import { exponentialBuckets, registerProcessMetrics, Registry } from "./prometheus.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("Registry renders counters, gauges and histograms that a Prometheus parser reads", () => {
  const r = new Registry();
  const c = r.counter("apiserver_request_total", "Requests.");
  c.inc({ verb: "GET", resource: "pods", code: "200" });
  c.inc({ verb: "GET", resource: "pods", code: "200" }, 2);
  c.inc({ verb: "LIST", resource: 'we"ird\\name', code: "403" });
  r.gauge("workqueue_depth", "Depth.").set({ name: "deployment" }, 4);
  const h = r.histogram("apiserver_request_duration_seconds", "Latency.", [0.1, 1]);
  h.observe({ verb: "GET" }, 0.05);
  h.observe({ verb: "GET" }, 0.5);
  h.observe({ verb: "GET" }, 5);
  const parsed: Any[] = parsePrometheusTextFormat(r.exposition());
  const byName = new Map(parsed.map((f: Any) => [f.name, f]));
  const req = byName.get("apiserver_request_total");
  assert.equal(req.type, "COUNTER");
  assert.equal(req.help, "Requests.");
  assert.deepEqual(
    req.metrics.map((m: Any) => [m.labels.resource, m.value]),
    [["pods", "3"], ['we"ird\\name', "1"]],
  );
  assert.equal(byName.get("workqueue_depth").metrics[0].value, "4");
  const hist = byName.get("apiserver_request_duration_seconds");
  assert.equal(hist.type, "HISTOGRAM");
  assert.deepEqual(hist.metrics[0].buckets, { "0.1": "1", "1": "2", "+Inf": "3" });
  // This parser drops _sum/_count of labelled histograms; an unlabelled one shows them.
  assert.match(r.exposition(), /^apiserver_request_duration_seconds_count\{verb="GET"\} 3$/m);
  const plain = new Registry();
  const p = plain.histogram("x_seconds", "x", [1]);
  p.observe({}, 0.25);
  p.observe({}, 2);
  const x = parsePrometheusTextFormat(plain.exposition())[0].metrics[0];
  assert.deepEqual(x, { buckets: { "1": "1", "+Inf": "2" }, count: "2", sum: "2.25" });
});

Deno.test("Registry refuses one name for two kinds; exponentialBuckets grows by the factor", () => {
  const r = new Registry();
  r.counter("x_total", "x");
  assert.throws(() => r.gauge("x_total", "x"), /is a counter/);
  assert.deepEqual(exponentialBuckets(0.001, 2, 4), [0.001, 0.002, 0.004, 0.008]);
});

Deno.test("registerProcessMetrics() exports RSS, CPU seconds, fds and event-loop lag", () => {
  const r = new Registry();
  const stop = registerProcessMetrics(r);
  try {
    const parsed: Any[] = parsePrometheusTextFormat(r.exposition());
    const v = (name: string) => Number(parsed.find((f: Any) => f.name === name)?.metrics[0]?.value);
    assert.ok(v("process_resident_memory_bytes") > 10_000_000);
    assert.ok(v("process_cpu_seconds_total") > 0);
    assert.ok(v("process_open_fds") > 2);
    assert.ok(v("process_start_time_seconds") > 1_600_000_000);
  } finally {
    stop();
  }
});
