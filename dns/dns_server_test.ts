import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as packet from "./wire.ts";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { ClusterZone } from "./cluster_zone.ts";
import { NodeLocalDns } from "./dns_server.ts";
import { Upstream } from "./upstream.ts";
import { FakeUpstream, query, randomLoopback, rawQuery } from "./_test_dns.ts";

function svc(name: string, spec: Partial<Service["spec"]>): Service {
  return { metadata: { name, namespace: "default" }, spec, status: {} } as Service;
}

// A headless service with 20 endpoints: its A answer (20 × 46 bytes, dns-packet does not compress names) does not fit in 512 bytes.
const many: Endpoints = {
  metadata: { name: "many", namespace: "default" },
  subsets: [{
    addresses: Array.from({ length: 20 }, (_, i) => ({ ip: `10.42.0.${i + 1}` })),
    ports: [{ port: 80 }],
  }],
} as Endpoints;

const zone = new ClusterZone([
  svc("web", { type: "ClusterIP", clusterIP: "10.43.0.10" }),
  svc("many", { type: "ClusterIP", clusterIP: "None" }),
  svc("ext", { type: "ExternalName", externalName: "www.example.com" }),
], (_ns, name) => name === "many" ? many : undefined);

async function withServer(
  fn: (
    addr: { hostname: string; port: number },
    up: FakeUpstream,
    dns: NodeLocalDns,
  ) => Promise<void>,
  upstreamTimeoutMs = 2000,
) {
  const up = new FakeUpstream().start();
  up.answers.set("example.com|A", [{ name: "example.com", type: "A", ttl: 30, data: "192.0.2.1" }]);
  up.answers.set("www.example.com|A", [{
    name: "www.example.com",
    type: "A",
    ttl: 30,
    data: "192.0.2.53",
  }]);
  const dns = new NodeLocalDns({
    zone,
    upstream: new Upstream({
      servers: [{ hostname: up.hostname, port: up.port }],
      timeoutMs: upstreamTimeoutMs,
    }),
  });
  const hostname = randomLoopback();
  const failed = await dns.listen([{ hostname, port: 0 }]);
  equal(failed.size, 0);
  try {
    await fn({ hostname, port: dns.boundPort(`${hostname}:0`)! }, up, dns);
  } finally {
    await dns.close();
    await up.close();
  }
}

Deno.test("answers cluster names over UDP and TCP, authoritative, as the client spelt them", async () => {
  await withServer(async (addr) => {
    for (const tcp of [false, true]) {
      const r = await query(addr, "Web.Default.SVC.cluster.local", "A", { tcp, id: 777 });
      equal(r.id, 777);
      equal(r.rcode, "NOERROR");
      ok(r.flag_aa && r.flag_rd && r.flag_ra);
      deepStrictEqual(r.answers.map((a: { name: string; data: string }) => [a.name, a.data]), [
        ["Web.Default.SVC.cluster.local", "10.43.0.10"],
      ]);
    }
    // Repeated: the stored encoding, with this query's ID.
    const again = await query(addr, "Web.Default.SVC.cluster.local", "A", { id: 778 });
    equal(again.id, 778);
    equal(again.answers[0].data, "10.43.0.10");
  });
});

Deno.test("NXDOMAIN and NODATA carry the zone's SOA", async () => {
  await withServer(async (addr) => {
    const nx = await query(addr, "nope.default.svc.cluster.local", "A");
    equal(nx.rcode, "NXDOMAIN");
    equal(nx.authorities[0].type, "SOA");
    const nodata = await query(addr, "web.default.svc.cluster.local", "AAAA");
    equal(nodata.rcode, "NOERROR");
    equal(nodata.answers.length, 0);
    equal(nodata.authorities[0].type, "SOA");
  });
});

Deno.test("other names are forwarded upstream and cached for their TTL", async () => {
  await withServer(async (addr, up) => {
    const r = await query(addr, "example.com", "A", { id: 9 });
    equal(r.id, 9);
    deepStrictEqual(r.answers.map((a: { data: string }) => a.data), ["192.0.2.1"]);
    ok(!r.flag_aa);
    const again = await query(addr, "EXAMPLE.com", "A", { id: 10 });
    equal(again.id, 10);
    deepStrictEqual(again.answers.map((a: { data: string }) => a.data), ["192.0.2.1"]);
    ok(again.answers[0].ttl <= 30);
    equal(up.asked.filter((q) => q === "example.com|A").length, 1, "second answer from cache");
    // NXDOMAIN with an SOA is cached too (RFC 2308).
    equal((await query(addr, "nothing.example.com", "A")).rcode, "NXDOMAIN");
    equal((await query(addr, "nothing.example.com", "A")).rcode, "NXDOMAIN");
    equal(up.asked.filter((q) => q === "nothing.example.com|A").length, 1);
    // Over TCP, forwarded over TCP.
    const t = await query(addr, "example.com", "MX", { tcp: true });
    equal(t.rcode, "NXDOMAIN");
  });
});

Deno.test("a silent upstream is a SERVFAIL within the time budget, never a hang", async () => {
  await withServer(async (addr, up) => {
    up.silent = true;
    const started = Date.now();
    const r = await query(addr, "slow.example.org", "A");
    const took = Date.now() - started;
    equal(r?.rcode, "SERVFAIL");
    ok(took >= 250 && took < 2000, `took ${took} ms`);
    // Cluster names keep answering meanwhile.
    equal((await query(addr, "web.default.svc.cluster.local", "A")).rcode, "NOERROR");
  }, 300);
});

Deno.test("ExternalName: the CNAME and the target's addresses from upstream", async () => {
  await withServer(async (addr) => {
    const r = await query(addr, "ext.default.svc.cluster.local", "A");
    deepStrictEqual(r.answers.map((a: { type: string; data: string }) => [a.type, a.data]), [
      ["CNAME", "www.example.com"],
      ["A", "192.0.2.53"],
    ]);
  });
});

Deno.test("codec edge cases: short garbage, malformed, two questions, opcode, truncation, EDNS", async () => {
  await withServer(async (addr) => {
    // Shorter than a header: dropped.
    equal(await rawQuery(addr, new Uint8Array([1, 2, 3]), { timeoutMs: 300 }), undefined);
    // A header promising a question that is not there: FORMERR with the same ID.
    const bad = new Uint8Array([0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61]);
    const formerr = packet.decode((await rawQuery(addr, bad))!);
    equal(formerr.id, 0x1234);
    equal(formerr.rcode, "FORMERR");
    const two = packet.encode({
      type: "query",
      id: 5,
      questions: [{ name: "a.b", type: "A" }, { name: "c.d", type: "A" }],
    });
    equal(packet.decode((await rawQuery(addr, two))!).rcode, "FORMERR");
    const notify = packet.encode({
      type: "query",
      id: 6,
      opcode: "NOTIFY",
      flags: 4 << 11,
      questions: [{ name: "web.default.svc.cluster.local", type: "SOA" }],
    });
    equal(packet.decode((await rawQuery(addr, notify))!).rcode, "NOTIMP");
    // 20 A records do not fit in 512 bytes: truncated over UDP, whole over TCP.
    const udp = await query(addr, "many.default.svc.cluster.local", "A");
    ok(udp.flag_tc);
    equal(udp.answers.length, 0);
    const tcp = await query(addr, "many.default.svc.cluster.local", "A", { tcp: true });
    ok(!tcp.flag_tc);
    equal(tcp.answers.length, 20);
    // With EDNS (we allow 1232 bytes) they fit, and the OPT record is echoed.
    const edns = await query(addr, "many.default.svc.cluster.local", "A", { edns: true });
    ok(!edns.flag_tc);
    equal(edns.answers.length, 20);
    equal(edns.additionals.at(-1).type, "OPT");
    // A response sent to the server is not answered (no reflection loops).
    const resp = packet.encode({ type: "response", id: 1, questions: [{ name: "x", type: "A" }] });
    equal(await rawQuery(addr, resp, { timeoutMs: 300 }), undefined);
  });
});

Deno.test("setZone() replaces the records and forgets stored answers", async () => {
  await withServer(async (addr, _up, dns) => {
    equal((await query(addr, "web.default.svc.cluster.local", "A")).answers[0].data, "10.43.0.10");
    dns.setZone(new ClusterZone([svc("web", { clusterIP: "10.43.0.99" })], () => undefined));
    equal((await query(addr, "web.default.svc.cluster.local", "A")).answers[0].data, "10.43.0.99");
  });
});
