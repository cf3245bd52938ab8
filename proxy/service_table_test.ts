import { deepStrictEqual, equal } from "node:assert/strict";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { isLoopbackCidr, localAddressChecker } from "./ip_address.ts";
import { backendsFor, desiredListeners } from "./service_table.ts";

function service(name: string, spec: Partial<Service["spec"]>, extra: Partial<Service> = {}) {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: { type: "ClusterIP", sessionAffinity: "None", ...spec },
    status: { loadBalancer: {} },
    ...extra,
  } as Service;
}

const options = {
  nodeAddress: "127.0.0.11",
  isLocalAddress: (ip: string) => ip.startsWith("127."),
};

const webEndpoints = {
  metadata: { name: "web", namespace: "default" },
  subsets: [
    {
      addresses: [{ ip: "127.0.0.11" }, { ip: "127.0.0.12" }],
      notReadyAddresses: [{ ip: "127.0.0.13" }],
      ports: [{ name: "http", port: 31001, protocol: "TCP" }, {
        name: "dns",
        port: 31053,
        protocol: "UDP",
      }],
    },
    { addresses: [{ ip: "127.0.0.12" }], ports: [{ name: "http", port: 31002, protocol: "TCP" }] },
  ],
} as Endpoints;

Deno.test("backendsFor() takes ready addresses × the port matching by name and protocol", () => {
  deepStrictEqual(backendsFor({ name: "http", protocol: "TCP" }, webEndpoints), [
    { address: "127.0.0.11", port: 31001 },
    { address: "127.0.0.12", port: 31001 },
    { address: "127.0.0.12", port: 31002 },
  ]);
  deepStrictEqual(backendsFor({ name: "dns", protocol: "UDP" }, webEndpoints), [
    { address: "127.0.0.11", port: 31053 },
    { address: "127.0.0.12", port: 31053 },
  ]);
  deepStrictEqual(backendsFor({ name: "dns", protocol: "TCP" }, webEndpoints), []);
  const single = {
    metadata: {},
    subsets: [{ addresses: [{ ip: "127.0.0.11" }], ports: [{ port: 8080, protocol: "TCP" }] }],
  } as Endpoints;
  deepStrictEqual(backendsFor({ protocol: "TCP" }, single), [{
    address: "127.0.0.11",
    port: 8080,
  }]);
  deepStrictEqual(backendsFor({ protocol: "TCP" }, undefined), []);
});

Deno.test("desiredListeners() lists clusterIP, nodePort, local external IPs and this node as ingress", () => {
  const svc = service("web", {
    type: "LoadBalancer",
    clusterIP: "127.43.0.10",
    clusterIPs: ["127.43.0.10"],
    externalIPs: ["127.0.0.50", "192.0.2.7"],
    ports: [
      { name: "http", port: 80, protocol: "TCP", nodePort: 30080 },
      { name: "dns", port: 53, protocol: "UDP", nodePort: 30053 },
    ],
    sessionAffinity: "ClientIP",
  }, { status: { loadBalancer: { ingress: [{ ip: "127.0.0.11" }, { ip: "127.0.0.12" }] } } });
  const table = desiredListeners([svc], () => webEndpoints, options);
  deepStrictEqual([...table.listeners.keys()].sort(), [
    "TCP/127.0.0.11:30080",
    "TCP/127.0.0.11:80",
    "TCP/127.0.0.50:80",
    "TCP/127.43.0.10:80",
    "UDP/127.0.0.11:30053",
    "UDP/127.0.0.11:53",
    "UDP/127.0.0.50:53",
    "UDP/127.43.0.10:53",
  ]);
  const l = table.listeners.get("TCP/127.0.0.11:30080")!;
  equal(l.source, "nodePort");
  equal(l.portName, "http");
  equal(l.backends.length, 3);
  equal(l.affinityTimeoutSeconds, 10800);
  deepStrictEqual(l.service, { namespace: "default", name: "web", uid: "uid-web" });
  deepStrictEqual(table.conflicts, []);

  const nodeOnly = desiredListeners([svc], () => webEndpoints, { ...options, clusterWide: false });
  deepStrictEqual([...nodeOnly.listeners.keys()].sort(), [
    "TCP/127.0.0.11:30080",
    "TCP/127.0.0.11:80",
    "UDP/127.0.0.11:30053",
    "UDP/127.0.0.11:53",
  ], "without cluster-wide listeners: node ports and load-balancer ingress only");
});

Deno.test("desiredListeners() skips headless and ExternalName services, and SCTP ports unless asked", () => {
  const services = [
    service("headless", { clusterIP: "None", ports: [{ port: 80, protocol: "TCP" }] }),
    service("ext", { type: "ExternalName", externalName: "example.com" }),
    service("sctp", { clusterIP: "127.43.0.9", ports: [{ port: 80, protocol: "SCTP" }] }),
    service("plain", {
      clusterIP: "127.43.0.8",
      ports: [{ port: 80, protocol: "TCP", nodePort: 30001 }],
    }),
  ];
  const table = desiredListeners(services, () => undefined, options);
  deepStrictEqual([...table.listeners.keys()], ["TCP/127.43.0.8:80"], "ClusterIP: no node port");
  const kernel = desiredListeners(services, () => undefined, { ...options, sctp: true });
  deepStrictEqual([...kernel.listeners.keys()].sort(), ["SCTP/127.43.0.9:80", "TCP/127.43.0.8:80"]);
});

Deno.test("desiredListeners() gives a contested address:port to the older service", () => {
  const older = service("older", {
    type: "NodePort",
    clusterIP: "127.43.0.1",
    ports: [{ port: 80, protocol: "TCP", nodePort: 30000 }],
  });
  const newer = service("newer", {
    type: "NodePort",
    clusterIP: "127.43.0.2",
    ports: [{ port: 80, protocol: "TCP", nodePort: 30000 }],
  });
  newer.metadata.creationTimestamp = "2026-02-01T00:00:00Z";
  const table = desiredListeners([newer, older], () => undefined, options);
  equal(table.listeners.get("TCP/127.0.0.11:30000")!.service.name, "older");
  equal(table.conflicts.length, 1);
  equal(table.conflicts[0].listener.service.name, "newer");
  equal(table.conflicts[0].heldBy, "default/older");
});

Deno.test("isLoopbackCidr() and localAddressChecker() know loopback is local", () => {
  equal(isLoopbackCidr("127.43.0.0/16"), true);
  equal(isLoopbackCidr("10.43.0.0/16"), false);
  equal(isLoopbackCidr("126.0.0.0/7"), false);
  const local = localAddressChecker();
  equal(local("127.99.1.2"), true);
  equal(local("192.0.2.200"), false);
});
