import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { ServiceAllocator } from "./service_allocator.ts";

function svc(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name, namespace: "default" }, spec: { ports: [{ port: 80 }], ...spec } };
}

Deno.test("allocate() gives a free cluster IP in the CIDR and node ports in range", () => {
  const a = new ServiceAllocator({ serviceCidr: "127.43.0.0/16" });
  const s = svc("web", { type: "NodePort" });
  a.allocate(s);
  assert.match(s.spec.clusterIP, /^127\.43\.\d+\.\d+$/);
  assert.notEqual(s.spec.clusterIP, "127.43.0.1");
  assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
  assert.ok(s.spec.ports[0].nodePort >= 30000 && s.spec.ports[0].nodePort <= 32767);
  const c = svc("plain");
  a.allocate(c);
  assert.notEqual(c.spec.clusterIP, s.spec.clusterIP);
  assert.equal(c.spec.ports[0].nodePort, undefined);
  const h = svc("headless", { clusterIP: "None" });
  a.allocate(h);
  assert.equal(h.spec.clusterIP, "None");
});

Deno.test("allocate() refuses taken or out-of-range addresses with Kubernetes' messages", () => {
  const a = new ServiceAllocator({
    serviceCidr: "10.43.0.0/16",
    nodePortRange: { min: 30000, max: 30010 },
  });
  a.load([
    svc("old", { clusterIP: "10.43.0.7", type: "NodePort", ports: [{ port: 1, nodePort: 30001 }] }),
  ]);
  const first = svc("a", { type: "NodePort", clusterIP: "10.43.0.9" });
  a.allocate(first);
  assert.equal(first.spec.clusterIP, "10.43.0.9");
  assert.throws(
    () => a.allocate(svc("b", { clusterIP: "10.43.0.9" })),
    /provided IP is already allocated/,
  );
  assert.throws(
    () => a.allocate(svc("b", { clusterIP: "10.43.0.7" })),
    /provided IP is already allocated/,
  );
  assert.throws(
    () => a.allocate(svc("b", { clusterIP: "10.44.0.9" })),
    /is not in the valid range/,
  );
  const port = first.spec.ports[0].nodePort;
  assert.throws(
    () => a.allocate(svc("b", { type: "NodePort", ports: [{ port: 80, nodePort: port }] })),
    (e: Error & { code?: number }) =>
      e.code === 422 && e.message.includes("provided port is already allocated"),
  );
  assert.throws(
    () => a.allocate(svc("b", { type: "NodePort", ports: [{ port: 80, nodePort: 30001 }] })),
    /provided port is already allocated/,
  );
  assert.throws(
    () => a.allocate(svc("b", { type: "NodePort", ports: [{ port: 80, nodePort: 31000 }] })),
    /provided port is not in the valid range. The range of valid ports is 30000-30010/,
  );
  // A dry run records nothing.
  const dry = svc("d", { clusterIP: "10.43.0.20" });
  a.allocate(dry, { dryRun: true });
  a.allocate(svc("e", { clusterIP: "10.43.0.20" }));
  // Released addresses can be reused.
  a.release(first);
  a.allocate(
    svc("f", { clusterIP: "10.43.0.9", type: "NodePort", ports: [{ port: 80, nodePort: port }] }),
  );
});

Deno.test("reallocate() keeps addresses, follows type changes and refuses IP changes", () => {
  const a = new ServiceAllocator({
    serviceCidr: "10.43.0.0/16",
    nodePortRange: { min: 30000, max: 30002 },
  });
  const old = svc("a", { type: "NodePort" });
  a.allocate(old);
  // kubectl apply sends the spec without the allocated values.
  const next = svc("a", { type: "NodePort" });
  a.reallocate(next, old);
  assert.equal(next.spec.clusterIP, old.spec.clusterIP);
  assert.equal(next.spec.ports[0].nodePort, old.spec.ports[0].nodePort);
  assert.throws(() => a.reallocate(svc("a", { clusterIP: "10.43.9.9" }), old), /may not change/);
  const plain = svc("a", { clusterIP: old.spec.clusterIP });
  a.reallocate(plain, old);
  assert.equal(plain.spec.ports[0].nodePort, undefined);
  // The node port went back to the pool: three more fit in the 3-port range.
  const b = svc("b", { type: "NodePort", ports: [{ port: 1 }, { port: 2 }, { port: 3 }] });
  a.allocate(b);
});

Deno.test("--service-node-port-range reaches the allocator as one { min, max }", async () => {
  const { ServerConfig } = await import("../config.ts");
  const config = ServerConfig.parse({ dataDir: "/tmp/x", nodePortRange: "20000-20002" });
  assert.deepEqual(config.nodePortRange, { min: 20000, max: 20002 });
  assert.deepEqual(ServerConfig.parse({ dataDir: "/tmp/x" }).nodePortRange, {
    min: 30000,
    max: 32767,
  });
  assert.equal(ServerConfig.safeParse({ dataDir: "/x", nodePortRange: "9-1" }).success, false);
  assert.equal(ServerConfig.safeParse({ dataDir: "/x", nodePortRange: "a-b" }).success, false);
  const a = new ServiceAllocator({
    serviceCidr: "10.43.0.0/16",
    nodePortRange: config.nodePortRange,
  });
  const svc: KubeObject = {
    metadata: { name: "np", namespace: "default" },
    spec: { type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] },
  };
  a.allocate(svc);
  assert.ok(svc.spec.ports[0].nodePort >= 20000 && svc.spec.ports[0].nodePort <= 20002);
});
