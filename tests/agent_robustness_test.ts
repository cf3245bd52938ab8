/**
 * End-to-end robustness: an agent killed with SIGKILL and restarted adopts its running
 * containers (same IDs, restart counts kept) and removes containers of pods deleted meanwhile;
 * two agents share one Docker engine without touching each other's containers.
 */

import { freePort } from "./server_process.ts";
import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { NODES, PODS } from "../shared/client/refs.ts";
import { ensureTestImages } from "./images.ts";
import {
  allowPrivilegedPods,
  boundPod,
  clientFor,
  createPod,
  removeNodeContainers,
  SLEEP_UNTIL_TERM,
  startAgent,
  startAgentProcess,
  testAgentConfig,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { startTestServer, waitFor } from "./test_utils.ts";
import { Logger } from "../shared/log.ts";
import type { Pod } from "../agent/pod_types.ts";

/** One container that sleeps until SIGTERM, with a 1 s grace period. */
function sleeperSpec(image: string): Partial<Pod["spec"]> {
  return {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: "c", image, command: SLEEP_UNTIL_TERM }],
  };
}

function containerIDs(p: Pod): string[] {
  return (p.status?.containerStatuses ?? []).map((s) => s.containerID ?? "");
}

Deno.test("agent killed with SIGKILL and restarted adopts its containers and cleans up deleted pods", async () => {
  const images = await ensureTestImages();
  const server = await startTestServer({ controllers: false });
  const client = clientFor(server);
  const config = await testAgentConfig(server);
  let proc = startAgentProcess(config);
  try {
    const spec = sleeperSpec(images.busybox);
    await createPod(client, boundPod("keep", config.nodeName, spec));
    await createPod(client, boundPod("gone", config.nodeName, spec));
    const before = await waitForPod(
      client,
      "keep",
      "Running",
      (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state.running,
    );
    await waitForPod(client, "gone", "Running", (p) => p.status?.phase === "Running");

    proc.kill("SIGKILL");
    await proc.status;
    // While the agent is down: one pod is force-deleted from the API.
    await client.delete(PODS, "gone", { namespace: "default", gracePeriodSeconds: 0 });
    await waitForPodGone(client, "gone");
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const sandboxesBefore = (await rt.listContainers()).filter((c) =>
      c.Labels["io.kubernetes.pod.name"] === "keep"
    ).map((c) => c.Id).sort();

    // A pod directory nobody owns any more (the agent died before removing it).
    const strayDir = `${config.dataDir}/pods/${crypto.randomUUID()}`;
    await Deno.mkdir(`${strayDir}/volumes/empty-dir/x`, { recursive: true });

    proc = startAgentProcess(config);
    await waitFor(
      "stray pod directory removed",
      () => Deno.stat(strayDir).then(() => false, () => true),
    );
    await waitFor("containers of the deleted pod removed", async () => {
      const left = await rt.listContainers({ "io.kubernetes.pod.name": "gone" });
      return left.length === 0;
    });
    // A pod created after the restart runs: the restarted agent has synced "keep" by then.
    await createPod(client, boundPod("new", config.nodeName, spec));
    await waitForPod(client, "new", "Running", (p) => p.status?.phase === "Running");
    const after = await client.get<Pod>(PODS, "keep", { namespace: "default" });
    assert.deepEqual(containerIDs(after), containerIDs(before));
    assert.equal(after.status?.containerStatuses?.[0].restartCount, 0);
    const sandboxesAfter = (await rt.listContainers()).filter((c) =>
      c.Labels["io.kubernetes.pod.name"] === "keep"
    ).map((c) => c.Id).sort();
    assert.deepEqual(sandboxesAfter, sandboxesBefore, "nothing was recreated");
  } finally {
    proc.kill("SIGKILL");
    await proc.status;
    await removeNodeContainers(config.nodeName);
    await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    await server.stop();
  }
});

Deno.test("two agents on one machine each run their own pods on their own address", async () => {
  const images = await ensureTestImages();
  const server = await startTestServer({ controllers: false });
  const client = clientFor(server);
  const a = startAgent(await testAgentConfig(server, { nodeAddress: "127.0.0.11" }));
  const b = startAgent(await testAgentConfig(server, { nodeAddress: "127.0.0.12" }));
  try {
    // The pods publish host ports, which Pod Security's baseline default refuses.
    await allowPrivilegedPods(client);
    for (const [agent, name] of [[a, "pa"], [b, "pb"]] as const) {
      await createPod(
        client,
        boundPod(name, agent.config.nodeName, {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "web",
            image: images.busybox,
            command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
            // Published on each agent's own node address only because it asks for a hostPort.
            ports: [{ containerPort: 8080, hostPort: freePort(agent.config.nodeAddress) }],
          }],
        }),
      );
    }
    const pa = await waitForPod(client, "pa", "Running", (p) => p.status?.phase === "Running");
    const pb = await waitForPod(client, "pb", "Running", (p) => p.status?.phase === "Running");
    assert.equal(pa.status?.hostIP, "127.0.0.11");
    assert.equal(pb.status?.hostIP, "127.0.0.12");
    assert.equal(pa.status?.portMappings?.[0].hostIP, "127.0.0.11");
    assert.equal(pb.status?.portMappings?.[0].hostIP, "127.0.0.12");
    for (const p of [pa, pb]) {
      const m = p.status!.portMappings![0];
      const res = await fetch(`http://${m.hostIP}:${m.hostPort}/`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const names = async (node: string) =>
      (await new DockerRuntime({ nodeName: node }).listContainers()).map((c) =>
        c.Labels["io.kubernetes.pod.name"]
      );
    assert.deepEqual(new Set(await names(a.config.nodeName)), new Set(["pa"]));
    assert.deepEqual(new Set(await names(b.config.nodeName)), new Set(["pb"]));
    const nodes = await client.list(NODES);
    const addr = (n: string) =>
      nodes.items.find((x) => x.metadata.name === n)?.status?.addresses?.find((
        x: { type: string },
      ) => x.type === "InternalIP")?.address;
    assert.equal(addr(a.config.nodeName), "127.0.0.11");
    assert.equal(addr(b.config.nodeName), "127.0.0.12");
  } finally {
    await a.stop();
    await b.stop();
    await server.stop();
  }
});

Deno.test("pods keep running while the server is down; the agent resyncs when it returns", async () => {
  const images = await ensureTestImages();
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-test-" });
  let server = await startTestServer({ dataDir, controllers: false });
  // The server comes back on the port its first run bound, where the agent keeps calling.
  const listen = `127.0.0.1:${new URL(server.url).port}`;
  const config = await testAgentConfig(server);
  let watchFailures = 0;
  const agent = startAgent(config, {
    logger: new Logger({
      level: "warn",
      sink: (line) => {
        if (line.includes("watch failed") || line.includes("list failed")) watchFailures++;
      },
    }),
  });
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  try {
    const spec = sleeperSpec(images.busybox);
    await createPod(server.client, boundPod("steady", config.nodeName, spec));
    const before = await waitForPod(
      server.client,
      "steady",
      "Running",
      (p) => p.status?.phase === "Running",
    );

    await server.stop();
    // The agent's watch fails and it retries; nothing happens to the pod's containers meanwhile.
    // Its logged watch failure is the positive signal that it noticed the server is gone.
    await waitFor("the agent's failed watch", () => watchFailures > 0);
    const id = containerIDs(before)[0].slice("docker://".length);
    assert.equal((await rt.inspectContainer(id))?.State.Running, true);

    server = await startTestServer({ dataDir, listen, controllers: false });
    await createPod(server.client, boundPod("later", config.nodeName, spec));
    await waitForPod(server.client, "later", "Running", (p) => p.status?.phase === "Running");
    const after = await server.client.get<Pod>(PODS, "steady", { namespace: "default" });
    assert.deepEqual(containerIDs(after), containerIDs(before));
    const steady = await rt.listContainers({ "io.kubernetes.pod.name": "steady" });
    assert.equal(steady.length, 2, "sandbox and container, no duplicates");
  } finally {
    await agent.stop();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

/** A unix-socket relay to the real engine that can be cut and restored (a Docker "restart"). */
function engineRelay(path: string): { stop(): Promise<void> } {
  const listener = Deno.listen({ transport: "unix", path });
  const conns = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const client of listener) {
      conns.add(client);
      const upstream = await Deno.connect({ transport: "unix", path: "/var/run/docker.sock" });
      conns.add(upstream);
      pipes.push(client.readable.pipeTo(upstream.writable).catch(() => {}));
      pipes.push(upstream.readable.pipeTo(client.writable).catch(() => {}));
    }
  })().catch(() => {});
  return {
    async stop() {
      listener.close();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await Promise.all(pipes);
      await Deno.remove(path).catch(() => {});
    },
  };
}

Deno.test("agent reconnects to a Docker engine that went away and resyncs", async () => {
  const images = await ensureTestImages();
  const server = await startTestServer({ controllers: false });
  const client = clientFor(server);
  const sockDir = await Deno.makeTempDir();
  const sock = `${sockDir}/docker.sock`;
  let relay = engineRelay(sock);
  const config = await testAgentConfig(server, { dockerSocket: sock, relistMs: 500 });
  let relistFailures = 0;
  const agent = startAgent(config, {
    logger: new Logger({
      level: "warn",
      sink: (line) => {
        if (line.includes("relist failed")) relistFailures++;
      },
    }),
  });
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  try {
    const spec = sleeperSpec(images.busybox);
    await createPod(client, boundPod("before", config.nodeName, spec));
    const before = await waitForPod(
      client,
      "before",
      "Running",
      (p) => p.status?.phase === "Running",
    );

    await relay.stop();
    // While the engine is unreachable, its container dies (as in an engine restart).
    const id = containerIDs(before)[0].slice("docker://".length);
    await rt.killContainer(id);
    // The agent's failed relist after the kill is the positive signal that it met the engine
    // gone; only then is the engine brought back.
    const failuresAtKill = relistFailures;
    await waitFor("a relist failing on the absent engine", () => relistFailures > failuresAtKill);
    relay = engineRelay(sock);

    // Reconnected: the dead container is restarted and a new pod runs.
    const restarted = await waitForPod(
      client,
      "before",
      "restarted",
      (p) =>
        (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 &&
        !!p.status?.containerStatuses?.[0]?.state.running,
    );
    assert.notDeepEqual(containerIDs(restarted), containerIDs(before));
    await createPod(client, boundPod("after", config.nodeName, spec));
    await waitForPod(client, "after", "Running", (p) => p.status?.phase === "Running");
  } finally {
    await agent.stop();
    await relay.stop();
    await server.stop();
    await Deno.remove(sockDir, { recursive: true });
  }
});
