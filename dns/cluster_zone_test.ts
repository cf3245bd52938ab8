import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { ClusterZone, reverseName } from "./cluster_zone.ts";

function service(name: string, spec: Partial<Service["spec"]>, ns = "default"): Service {
  return {
    metadata: { name, namespace: ns },
    spec: { type: "ClusterIP", ...spec },
    status: { loadBalancer: {} },
  } as Service;
}

const services = [
  service("web", {
    clusterIP: "10.43.0.10",
    clusterIPs: ["10.43.0.10"],
    ports: [{ name: "http", port: 80, protocol: "TCP" }, { port: 81, protocol: "TCP" }],
  }),
  service("db", {
    clusterIP: "None",
    ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
  }, "prod"),
  service("empty", { clusterIP: "None", ports: [{ name: "x", port: 1, protocol: "TCP" }] }),
  service("ext", { type: "ExternalName", externalName: "www.example.com." }),
  service("alias", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }),
  service("v6", { clusterIP: "fd00::a", clusterIPs: ["fd00::a"] }),
];

const endpoints: Record<string, Endpoints> = {
  "prod/db": {
    metadata: { name: "db", namespace: "prod" },
    subsets: [{
      addresses: [{ ip: "10.42.1.5", hostname: "db-0" }, { ip: "10.42.2.7" }],
      notReadyAddresses: [{ ip: "10.42.3.9", hostname: "db-2" }],
      ports: [{ name: "pg", port: 15432, protocol: "TCP" }],
    }],
  } as Endpoints,
  "default/empty": {
    metadata: { name: "empty", namespace: "default" },
    subsets: [{ notReadyAddresses: [{ ip: "10.42.1.1" }], ports: [{ name: "x", port: 1 }] }],
  } as Endpoints,
};

const zone = new ClusterZone(services, (ns, name) => endpoints[`${ns}/${name}`]);

function data(name: string, type: string) {
  const a = zone.lookup(name, type);
  return a && { rcode: a.rcode, data: a.answers.map((r) => r.data), soa: a.authorities.length };
}

Deno.test("ClusterIP Service: A, no AAAA (NODATA), SRV for named ports only, PTR", () => {
  deepStrictEqual(data("web.default.svc.cluster.local", "A"), {
    rcode: "NOERROR",
    data: ["10.43.0.10"],
    soa: 0,
  });
  // Case-insensitive, trailing dot accepted.
  deepStrictEqual(data("WEB.Default.svc.cluster.local.", "A")?.data, ["10.43.0.10"]);
  deepStrictEqual(data("web.default.svc.cluster.local", "AAAA"), {
    rcode: "NOERROR",
    data: [],
    soa: 1,
  });
  const srv = zone.lookup("_http._tcp.web.default.svc.cluster.local", "SRV")!;
  deepStrictEqual(srv.answers.map((r) => r.data), [{
    priority: 0,
    weight: 100,
    port: 80,
    target: "web.default.svc.cluster.local",
  }]);
  deepStrictEqual(srv.additionals.map((r) => r.data), ["10.43.0.10"]);
  // An SRV owner asked for A: the name exists, no A → NODATA.
  equal(data("_http._tcp.web.default.svc.cluster.local", "A")?.rcode, "NOERROR");
  // `_tcp.web…` is an empty non-terminal: NODATA, not NXDOMAIN.
  deepStrictEqual(data("_tcp.web.default.svc.cluster.local", "SRV"), {
    rcode: "NOERROR",
    data: [],
    soa: 1,
  });
  equal(data("_https._tcp.web.default.svc.cluster.local", "SRV")?.rcode, "NXDOMAIN");
  deepStrictEqual(data("10.0.43.10.in-addr.arpa", "PTR")?.data, ["web.default.svc.cluster.local"]);
});

Deno.test("headless Service: one A per ready endpoint, hostnames, SRV per endpoint, PTR", () => {
  deepStrictEqual(data("db.prod.svc.cluster.local", "A")?.data, ["10.42.1.5", "10.42.2.7"]);
  deepStrictEqual(data("db-0.db.prod.svc.cluster.local", "A")?.data, ["10.42.1.5"]);
  // Without a hostname, the endpoint is named by its address.
  deepStrictEqual(data("10-42-2-7.db.prod.svc.cluster.local", "A")?.data, ["10.42.2.7"]);
  // Not ready: no record.
  equal(data("db-2.db.prod.svc.cluster.local", "A")?.rcode, "NXDOMAIN");
  const srv = zone.lookup("_pg._tcp.db.prod.svc.cluster.local", "SRV")!;
  deepStrictEqual(srv.answers.map((r) => `${r.data.port} ${r.data.target}`), [
    "15432 db-0.db.prod.svc.cluster.local",
    "15432 10-42-2-7.db.prod.svc.cluster.local",
  ]);
  deepStrictEqual(data("5.1.42.10.in-addr.arpa", "PTR")?.data, ["db-0.db.prod.svc.cluster.local"]);
  // Spec 2.4.1: no ready endpoints → NXDOMAIN.
  equal(data("empty.default.svc.cluster.local", "A")?.rcode, "NXDOMAIN");
});

Deno.test("publishNotReadyAddresses and the tolerate-unready annotation make not-ready endpoints ready", () => {
  const svc = service("db", { clusterIP: "None", publishNotReadyAddresses: true }, "prod");
  const z = new ClusterZone([svc], (ns, name) => endpoints[`${ns}/${name}`]);
  deepStrictEqual(z.lookup("db-2.db.prod.svc.cluster.local", "A")!.answers.map((r) => r.data), [
    "10.42.3.9",
  ]);
  const annotated = service("db", { clusterIP: "None" }, "prod");
  annotated.metadata.annotations = {
    "service.alpha.kubernetes.io/tolerate-unready-endpoints": "true",
  };
  const z2 = new ClusterZone([annotated], (ns, name) => endpoints[`${ns}/${name}`]);
  equal(z2.lookup("db.prod.svc.cluster.local", "A")!.answers.length, 3);
});

Deno.test("ExternalName: CNAME, chased upstream outside the zone, inside the zone resolved here", () => {
  const ext = zone.lookup("ext.default.svc.cluster.local", "A")!;
  deepStrictEqual(ext.answers.map((r) => [r.type, r.data]), [["CNAME", "www.example.com"]]);
  equal(ext.chase, "www.example.com");
  const alias = zone.lookup("alias.default.svc.cluster.local", "A")!;
  deepStrictEqual(alias.answers.map((r) => [r.type, r.data]), [
    ["CNAME", "web.default.svc.cluster.local"],
    ["A", "10.43.0.10"],
  ]);
  equal(alias.chase, undefined);
  deepStrictEqual(data("ext.default.svc.cluster.local", "CNAME")?.data, ["www.example.com"]);
});

Deno.test("names that do not exist are NXDOMAIN, existing parents NODATA, others not ours", () => {
  equal(data("nope.default.svc.cluster.local", "A")?.rcode, "NXDOMAIN");
  equal(data("google.com.default.svc.cluster.local", "A")?.rcode, "NXDOMAIN");
  equal(data("default.svc.cluster.local", "A")?.rcode, "NOERROR");
  equal(data("nons.svc.cluster.local", "A")?.rcode, "NXDOMAIN");
  equal(data("svc.cluster.local", "A")?.rcode, "NOERROR");
  equal(data("cluster.local", "A")?.rcode, "NOERROR");
  equal(zone.lookup("cluster.local", "SOA")!.answers[0].type, "SOA");
  equal(data("example.com", "A"), undefined);
  // Reverse names of addresses the cluster does not know go upstream.
  equal(data("1.1.168.192.in-addr.arpa", "PTR"), undefined);
});

Deno.test("dns-version TXT, pod A records, IPv6 service AAAA and ip6.arpa PTR", () => {
  deepStrictEqual(data("dns-version.cluster.local", "TXT")?.data, [["1.0.1"]]);
  deepStrictEqual(data("10-42-0-5.default.pod.cluster.local", "A")?.data, ["10.42.0.5"]);
  equal(data("10-42-0-999.default.pod.cluster.local", "A")?.rcode, "NXDOMAIN");
  equal(data("default.pod.cluster.local", "A")?.rcode, "NOERROR");
  deepStrictEqual(data("v6.default.svc.cluster.local", "AAAA")?.data, ["fd00::a"]);
  const rev = reverseName("fd00::a")!;
  equal(rev, `${[..."fd00" + "0".repeat(24) + "000a"].reverse().join(".")}.ip6.arpa`);
  deepStrictEqual(data(rev, "PTR")?.data, ["v6.default.svc.cluster.local"]);
});

Deno.test("another cluster domain", () => {
  const z = new ClusterZone(services, () => undefined, { domain: "edge.lan", ttl: 30 });
  const a = z.lookup("web.default.svc.edge.lan", "A")!;
  deepStrictEqual(a.answers.map((r) => [r.data, r.ttl]), [["10.43.0.10", 30]]);
  equal(z.lookup("web.default.svc.cluster.local", "A"), undefined);
});

Deno.test("setService()/deleteService() change one Service's records and the names above them", () => {
  const z = new ClusterZone();
  const v0 = z.version;
  z.setService(service("a", { clusterIP: "10.43.0.1" }, "ns1"), undefined);
  z.setService(service("b", { clusterIP: "10.43.0.2" }, "ns1"), undefined);
  equal(z.lookup("a.ns1.svc.cluster.local", "A")!.answers[0].data, "10.43.0.1");
  ok(z.version > v0);
  // An update replaces the old address, and its PTR.
  z.setService(service("a", { clusterIP: "10.43.0.9" }, "ns1"), undefined);
  deepStrictEqual(z.lookup("a.ns1.svc.cluster.local", "A")!.answers.map((r) => r.data), [
    "10.43.0.9",
  ]);
  equal(z.lookup("1.0.43.10.in-addr.arpa", "PTR"), undefined);
  z.deleteService("ns1/a");
  equal(z.lookup("a.ns1.svc.cluster.local", "A")!.rcode, "NXDOMAIN");
  equal(z.lookup("ns1.svc.cluster.local", "A")!.rcode, "NOERROR");
  z.deleteService("ns1/b");
  // The namespace name existed only through its Services.
  equal(z.lookup("ns1.svc.cluster.local", "A")!.rcode, "NXDOMAIN");
  equal(z.lookup("svc.cluster.local", "A")!.rcode, "NOERROR");
  equal(z.services, 0);
});
