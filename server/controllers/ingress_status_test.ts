import assert from "node:assert/strict";
import { Node } from "../../shared/api/core_v1.ts";
import { Ingress, IngressClass, skiffIngressClass } from "../../shared/api/networking_v1.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { IngressStatusReconciler } from "./ingress_status.ts";

const node = (name: string, ip: string, ready = true) =>
  Node.parse({
    metadata: { name },
    status: {
      conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }],
      addresses: [{ type: "InternalIP", address: ip }],
    },
  });

const ingress = (o: { cls?: string; ips?: string[] }) =>
  Ingress.parse({
    metadata: { name: "web", namespace: "default" },
    spec: {
      ingressClassName: o.cls,
      defaultBackend: { service: { name: "web", port: { number: 80 } } },
    },
    status: { loadBalancer: o.ips ? { ingress: o.ips.map((ip) => ({ ip })) } : {} },
  });

const other = IngressClass.parse({
  metadata: { name: "nginx" },
  spec: { controller: "k8s.io/ingress-nginx" },
});
const nodes = [node("b", "10.0.0.2"), node("a", "10.0.0.1"), node("dead", "10.0.0.3", false)];

const cases: { name: string; ing: Ingress; actions: string[]; lb?: unknown }[] = [
  {
    name: "writes the ready nodes' addresses on an Ingress of class skiff",
    ing: ingress({ cls: "skiff" }),
    actions: ["patch/status ingresses default/web"],
    lb: { ingress: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }] },
  },
  {
    name: "serves an Ingress without a class while skiff is the default",
    ing: ingress({}),
    actions: ["patch/status ingresses default/web"],
    lb: { ingress: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }] },
  },
  {
    name: "writes nothing when the addresses are current",
    ing: ingress({ cls: "skiff", ips: ["10.0.0.1", "10.0.0.2"] }),
    actions: [],
  },
  {
    name: "leaves another controller's Ingress alone",
    ing: ingress({ cls: "nginx" }),
    actions: [],
  },
  {
    name: "clears what it wrote once the Ingress moves to another class",
    ing: ingress({ cls: "nginx", ips: ["10.0.0.1"] }),
    actions: ["patch/status ingresses default/web"],
    lb: {},
  },
];

for (const c of cases) {
  Deno.test(`IngressStatusReconciler.reconcile() ${c.name}`, async () => {
    const client = new RecordingClient();
    const r = new IngressStatusReconciler({
      listers: {
        ingresses: new FakeLister([c.ing]),
        classes: new FakeLister([skiffIngressClass(), other]),
        nodes: new FakeLister(nodes),
      },
      client,
    });
    await r.reconcile("default/web");
    assert.deepEqual(client.actions(), c.actions);
    if (c.lb) {
      const [patch] = client.bodies<{ status: { loadBalancer: unknown } }>("patch", "ingresses");
      assert.deepEqual(patch.status.loadBalancer, c.lb);
    }
  });
}
