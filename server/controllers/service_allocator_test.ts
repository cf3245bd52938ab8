import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { ServiceAllocator } from "./service_allocator.ts";

function svc(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name, namespace: "default" }, spec: { ports: [{ port: 80 }], ...spec } };
}

Deno.test("allocate() gives a free cluster IP in the CIDR and node ports in range", () => {
  const a = new ServiceAllocator({ serviceCidr: "127.43.0.0/16" });
  const s = a.allocate(svc("web", { type: "NodePort" }), []);
  assert.match(s.spec.clusterIP, /^127\.43\.\d+\.\d+$/);
  assert.notEqual(s.spec.clusterIP, "127.43.0.1");
  assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
  assert.ok(s.spec.ports[0].nodePort >= 30000 && s.spec.ports[0].nodePort <= 32767);
  const c = a.allocate(svc("plain"), [s]);
  assert.notEqual(c.spec.clusterIP, s.spec.clusterIP);
  assert.equal(c.spec.ports[0].nodePort, undefined);
  assert.equal(a.allocate(svc("headless", { clusterIP: "None" }), []).spec.clusterIP, "None");
});

Deno.test("allocate() refuses taken or out-of-range addresses with Kubernetes' messages", () => {
  const a = new ServiceAllocator({ serviceCidr: "10.43.0.0/16", nodePortRange: "30000-30010" });
  const first = a.allocate(svc("a", { type: "NodePort", clusterIP: "10.43.0.9" }), []);
  assert.equal(first.spec.clusterIP, "10.43.0.9");
  assert.throws(
    () => a.allocate(svc("b", { clusterIP: "10.43.0.9" }), [first]),
    (e: Error) => e.message.includes("provided IP is already allocated"),
  );
  assert.throws(
    () => a.allocate(svc("b", { clusterIP: "10.44.0.9" }), [first]),
    /is not in the valid range/,
  );
  const port = first.spec.ports[0].nodePort;
  assert.throws(
    () =>
      a.allocate(svc("b", { type: "NodePort", ports: [{ port: 80, nodePort: port }] }), [first]),
    (e: Error & { code?: number }) =>
      e.code === 422 && e.message.includes("provided port is already allocated"),
  );
  assert.throws(
    () => a.allocate(svc("b", { type: "NodePort", ports: [{ port: 80, nodePort: 31000 }] }), []),
    /provided port is not in the valid range. The range of valid ports is 30000-30010/,
  );
  // Updating the same service keeps its own values.
  const again = a.allocate(first, [first]);
  assert.equal(again.spec.ports[0].nodePort, port);
  a.release(first);
});
