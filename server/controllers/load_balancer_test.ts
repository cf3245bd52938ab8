import assert from "node:assert/strict";
import { Node, Service } from "../../shared/api/core_v1.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { loadBalancerIngress, LoadBalancerReconciler, nodeChangeMatters } from "./load_balancer.ts";

const node = (name: string, ip: string, ready = true) =>
  Node.parse({
    metadata: { name },
    status: {
      conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }],
      addresses: [{ type: "Hostname", address: name }, { type: "InternalIP", address: ip }],
    },
  });

const service = (
  o: { type?: "LoadBalancer" | "ClusterIP"; externalIPs?: string[]; ingress?: string[] },
) =>
  Service.parse({
    metadata: { name: "lb", namespace: "default" },
    spec: { type: o.type ?? "LoadBalancer", externalIPs: o.externalIPs, ports: [{ port: 80 }] },
    status: { loadBalancer: o.ingress ? { ingress: o.ingress.map((ip) => ({ ip })) } : {} },
  });

const nodes = [node("b", "10.0.0.2"), node("a", "10.0.0.1"), node("dead", "10.0.0.3", false)];

Deno.test("loadBalancerIngress(): externalIPs win, else the ready nodes' InternalIPs, sorted", () => {
  assert.deepEqual(loadBalancerIngress(service({ externalIPs: ["127.0.0.9"] }), nodes), [
    { ip: "127.0.0.9" },
  ]);
  assert.deepEqual(loadBalancerIngress(service({}), nodes), [
    { ip: "10.0.0.1" },
    { ip: "10.0.0.2" },
  ]);
});

const cases: { name: string; svc: Service; actions: string[]; ingress?: unknown }[] = [
  {
    name: "writes the ingress of a new LoadBalancer",
    svc: service({}),
    actions: ["patch/status services default/lb"],
    ingress: { ingress: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }] },
  },
  {
    name: "writes nothing when the ingress is current",
    svc: service({ ingress: ["10.0.0.1", "10.0.0.2"] }),
    actions: [],
  },
  {
    name: "clears the ingress of a Service that is no longer a LoadBalancer",
    svc: service({ type: "ClusterIP", ingress: ["10.0.0.1"] }),
    actions: ["patch/status services default/lb"],
    ingress: {},
  },
];

for (const c of cases) {
  Deno.test(`LoadBalancerReconciler.reconcile() ${c.name}`, async () => {
    const client = new RecordingClient();
    const r = new LoadBalancerReconciler({
      listers: { services: new FakeLister([c.svc]), nodes: new FakeLister(nodes) },
      client,
    });
    await r.reconcile("default/lb");
    assert.deepEqual(client.actions(), c.actions);
    if (c.ingress) {
      const [patch] = client.bodies<{ status: { loadBalancer: unknown } }>("patch", "services");
      assert.deepEqual(patch.status.loadBalancer, c.ingress);
    }
  });
}

Deno.test("nodeChangeMatters(): readiness and addresses matter, heartbeats don't", () => {
  const a = node("a", "10.0.0.1");
  const beat = structuredClone(a);
  beat.status.conditions![0].lastHeartbeatTime = "2026-01-01T00:00:10Z";
  assert.equal(nodeChangeMatters(a, beat), false);
  assert.equal(nodeChangeMatters(a, node("a", "10.0.0.1", false)), true);
  assert.equal(nodeChangeMatters(a, node("a", "10.0.0.9")), true);
});
