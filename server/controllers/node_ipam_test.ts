import assert from "node:assert/strict";
import type { Node } from "../../shared/api/core_v1.ts";
import { NotFoundError } from "../../shared/errors.ts";
import { CidrSet, NodeIpamController } from "./node_ipam.ts";

function node(name: string, podCIDR?: string, uid = `uid-${name}`): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
  } as Node;
}

/** Fake lister + recording client: patches land in the map, as the informer would see them. */
function fixture(clusterCidr: string, initial: Node[]) {
  const nodes = new Map(initial.map((n) => [n.metadata.name!, n]));
  const calls: string[] = [];
  const controller = new NodeIpamController({
    clusterCidr,
    nodes: { get: (n) => nodes.get(n), list: () => [...nodes.values()] },
    client: {
      setPodCIDR: (name, cidr) => {
        calls.push(`set ${name} ${cidr}`);
        const n = nodes.get(name);
        if (!n) return Promise.reject(new NotFoundError({ resource: "nodes", name }));
        nodes.set(name, { ...n, spec: { ...n.spec, podCIDR: cidr, podCIDRs: [cidr] } });
        return Promise.resolve();
      },
      warn: (n, reason) => calls.push(`warn ${n.metadata.name} ${reason}`),
    },
  });
  return { nodes, calls, controller };
}

Deno.test("CidrSet hands out the lowest free /24 and takes back released ones", () => {
  const s = new CidrSet("10.42.0.0/16");
  assert.equal(s.free, 256);
  assert.equal(s.allocateNext(), "10.42.0.0/24");
  assert.equal(s.allocateNext(), "10.42.1.0/24");
  assert.ok(s.occupy("10.42.5.0/24"));
  assert.ok(!s.occupy("10.42.5.0/24"), "already used");
  assert.ok(!s.occupy("10.43.0.0/24"), "outside the cluster CIDR");
  assert.ok(!s.occupy("10.42.6.0/25"), "not a node range");
  s.release("10.42.0.0/24");
  assert.equal(s.allocateNext(), "10.42.0.0/24");
  assert.equal(s.allocateNext(), "10.42.2.0/24");
  assert.throws(() => new CidrSet("10.42.0.0/25"), /at least a \/24/);
  const small = new CidrSet("10.9.8.0/23");
  assert.equal(small.allocateNext(), "10.9.8.0/24");
  assert.equal(small.allocateNext(), "10.9.9.0/24");
  assert.equal(small.allocateNext(), undefined);
});

Deno.test("reconcile() allocates around the ranges existing Nodes already hold (restart)", async () => {
  const { nodes, calls, controller } = fixture("10.42.0.0/16", [
    node("new"),
    node("old", "10.42.0.0/24"),
  ]);
  // "new" is processed first, but the stored allocation of "old" is honoured.
  await controller.reconcile("new");
  await controller.reconcile("old");
  assert.deepEqual(calls, ["set new 10.42.1.0/24"]);
  assert.deepEqual(nodes.get("new")!.spec!.podCIDRs, ["10.42.1.0/24"]);
  // Idempotent: a second pass writes nothing.
  await controller.reconcile("new");
  assert.equal(calls.length, 1);
});

Deno.test("reconcile() releases a deleted Node's range for the next Node", async () => {
  const { nodes, calls, controller } = fixture("10.42.0.0/16", [node("a"), node("b")]);
  await controller.reconcile("a");
  await controller.reconcile("b");
  nodes.delete("a");
  await controller.reconcile("a");
  nodes.set("c", node("c"));
  await controller.reconcile("c");
  assert.deepEqual(calls, [
    "set a 10.42.0.0/24",
    "set b 10.42.1.0/24",
    "set c 10.42.0.0/24",
  ]);
});

Deno.test("reconcile() re-sends its own allocation while the cache lags, once per uid", async () => {
  const { nodes, calls, controller } = fixture("10.42.0.0/16", [node("a")]);
  await controller.reconcile("a");
  nodes.set("a", node("a")); // the cache has not seen the patch yet
  await controller.reconcile("a");
  assert.deepEqual(calls, ["set a 10.42.0.0/24", "set a 10.42.0.0/24"]);
  // Deleted and registered again (new uid) before the controller saw the delete.
  nodes.set("a", node("a", undefined, "uid-2"));
  await controller.reconcile("a");
  assert.equal(calls.at(-1), "set a 10.42.0.0/24");
  assert.equal(controller.cidrs.free, 255);
});

Deno.test("reconcile() warns CIDRNotAvailable and retries when the cluster CIDR is full", async () => {
  const { calls, controller } = fixture("10.9.8.0/24", [node("a"), node("b")]);
  await controller.reconcile("a");
  await assert.rejects(() => controller.reconcile("b"), /no free \/24 left/);
  assert.deepEqual(calls, ["set a 10.9.8.0/24", "warn b CIDRNotAvailable"]);
});

Deno.test("reconcile() never hands out a range another Node holds, nor rewrites it", async () => {
  const { calls, controller } = fixture("10.42.0.0/16", [
    node("a", "10.42.0.0/24"),
    node("b", "10.42.0.0/24"),
    node("manual", "192.168.7.0/24"),
    node("c"),
  ]);
  for (const n of ["a", "b", "manual", "c"]) await controller.reconcile(n);
  assert.deepEqual(calls, ["warn b CIDRNotAvailable", "set c 10.42.1.0/24"]);
});
