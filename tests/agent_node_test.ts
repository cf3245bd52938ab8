/**
 * End-to-end node registration: the Node's labels, capacity, nodeInfo, addresses, agent API
 * port and conditions; the Lease renewed in kube-node-lease; a node whose Docker engine does not
 * answer reported NotReady.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { NodeHeartbeat } from "../agent/heartbeat.ts";
import { LEASES, NODES } from "../shared/client/refs.ts";
import { clientFor, startAgent, testAgentConfig, testNodeName } from "./agent_test_utils.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

Deno.test("agent registers its Node and renews its Lease", async () => {
  const server = await startTestServer({ controllers: false });
  const client = clientFor(server);
  const config = await testAgentConfig(server, { leaseRenewMs: 200 });
  const agent = startAgent(config);
  try {
    // Ready once the node's pod network is in place (NetworkReady), as the kubelet reports it.
    const node = await waitFor("node registered and Ready", async () => {
      const n = await client.get(NODES, config.nodeName).catch(() => undefined);
      const ready = n?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
      return n?.status?.nodeInfo && ready?.status === "True" ? n : undefined;
    });
    const labels = node.metadata.labels ?? {};
    assert.equal(labels["kubernetes.io/hostname"], config.nodeName);
    assert.equal(labels["kubernetes.io/os"], "linux");
    assert.match(labels["kubernetes.io/arch"], /^(amd64|arm64)$/);
    assert.equal(node.status.capacity.pods, "110");
    assert(Number(node.status.capacity.cpu) >= 1);
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\/\d/);
    assert.deepEqual(node.status.addresses, [
      { type: "InternalIP", address: "127.0.0.11" },
      { type: "Hostname", address: config.nodeName },
    ]);
    assert(node.status.daemonEndpoints.kubeletEndpoint.Port > 0);
    const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "True");
    assert.equal(ready.reason, "KubeletReady");

    const first = await waitFor(
      "lease",
      () =>
        client.get(LEASES, config.nodeName, { namespace: "kube-node-lease" }).catch(() =>
          undefined
        ),
    );
    assert.equal(first.spec.holderIdentity, config.nodeName);
    assert.equal(first.spec.leaseDurationSeconds, 40);
    await waitFor("lease renewed", async () => {
      const l = await client.get(LEASES, config.nodeName, { namespace: "kube-node-lease" });
      return l.spec.renewTime !== first.spec.renewTime;
    });
  } finally {
    await agent.stop();
    await server.stop();
  }
});

Deno.test("a node whose Docker engine does not answer is NotReady", async () => {
  const server = await startTestServer({ controllers: false });
  const dataDir = await Deno.makeTempDir();
  const nodeName = testNodeName("nodocker");
  const heartbeat = new NodeHeartbeat({
    client: server.client,
    rt: new DockerRuntime({ nodeName, socketPath: `${dataDir}/no-docker.sock` }),
    dataDir,
    nodeName,
    nodeAddress: "127.0.0.13",
    apiPort: 10250,
  });
  try {
    await heartbeat.register();
    const node = await server.client.get(NODES, nodeName);
    const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "False");
    assert.match(
      ready.message,
      /^container runtime is down: list images: cannot reach the Docker engine/,
    );
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
