/**
 * Node podCIDRs through the real server: the node IPAM controller gives each new Node a /24 of
 * `--cluster-cidr`, the API refuses to change a podCIDR once set (422, as Kubernetes), a server
 * restart keeps the allocations (the next Node gets the next range), and a deleted Node's range
 * goes to the next Node.
 */
import assert from "node:assert/strict";
import { NODES } from "../shared/client/refs.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

function node(name: string) {
  return { apiVersion: "v1", kind: "Node", metadata: { name }, spec: {} };
}

async function podCIDROf(client: ApiClient, name: string): Promise<string> {
  return await waitFor(`podCIDR of ${name}`, async () => {
    const n = await client.get(NODES, name);
    if (!n.spec?.podCIDR) return undefined;
    assert.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
    return n.spec.podCIDR as string;
  });
}

Deno.test("Nodes get /24s of --cluster-cidr that survive restarts, cannot be changed, and are reused after delete", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-ipam-" });
  const clusterCidr = "10.77.4.0/22";
  let server = await startTestServer({ dataDir, clusterCidr });
  try {
    await server.client.create(NODES, node("a"));
    assert.equal(await podCIDROf(server.client, "a"), "10.77.4.0/24");

    await assert.rejects(
      () =>
        server.client.patch(NODES, "a", { spec: { podCIDR: "10.77.6.0/24" } }, { type: "merge" }),
      (e: Error & { code?: number }) =>
        e.code === 422 && /spec.podCIDR: Forbidden: node updates may not change podCIDR/.test(
          e.message,
        ),
    );

    await server.stop();
    server = await startTestServer({ dataDir, clusterCidr });
    await server.client.create(NODES, node("b"));
    assert.equal(await podCIDROf(server.client, "b"), "10.77.5.0/24");
    assert.equal(await podCIDROf(server.client, "a"), "10.77.4.0/24");

    await server.client.delete(NODES, "a");
    await server.client.create(NODES, node("c"));
    assert.equal(await podCIDROf(server.client, "c"), "10.77.4.0/24");
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
