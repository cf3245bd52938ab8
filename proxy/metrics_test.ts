import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ProxyMetrics, renderPrometheus } from "./metrics.ts";

Deno.test("ProxyMetrics keeps one counter set per service port and snapshots it", () => {
  const m = new ProxyMetrics();
  const labels = { namespace: "default", service: "web", port: "http", protocol: "TCP" } as const;
  const c = m.counters(labels);
  equal(m.counters({ ...labels }), c, "same service port, same counters");
  c.connectionsTotal += 2;
  c.bytesIn += 10;
  const u = m.counters({ ...labels, service: "dns", protocol: "UDP" });
  u.active = 3;
  const snap = m.snapshot();
  deepStrictEqual(snap.map((r) => r.service), ["dns", "web"]);
  equal(snap[0].udpSessions, 3);
  equal(snap[1].connectionsTotal, 2);
  equal(snap[1].bytesIn, 10);
  m.remove(labels);
  equal(m.snapshot().length, 1);
});

Deno.test("renderPrometheus() writes HELP, TYPE and escaped labels", () => {
  const m = new ProxyMetrics();
  m.counters({ namespace: "ns", service: 'we"b', port: "", protocol: "TCP" }).errors = 4;
  const text = renderPrometheus(m.snapshot());
  ok(text.includes("# TYPE skiff_proxy_errors_total counter\n"));
  ok(
    text.includes(
      'skiff_proxy_errors_total{namespace="ns",service="we\\"b",port="",protocol="TCP"} 4\n',
    ),
  );
  ok(!text.includes("skiff_proxy_udp_sessions{"), "no UDP gauge for a TCP port");
});
