/**
 * Edge autonomy end to end: an agent that restarts while its server is down runs its pods from
 * its local state (`<dataDir>/state`): a killed container comes back within its back-off, with
 * the Secret it reads taken from the local copy; when the server returns, the server wins — a
 * pod deleted while the node was cut off is stopped and its Secret's copy leaves the disk — and
 * the node reports its pods' status at once.
 */
import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { PODS, SECRETS } from "../shared/client/refs.ts";
import { Logger } from "../shared/log.ts";
import type { Pod } from "../agent/pod_types.ts";
import { ensureTestImages } from "./images.ts";
import {
  boundPod,
  createPod,
  removeNodeContainers,
  SLEEP_UNTIL_TERM,
  startAgent,
  type TestAgent,
  testAgentConfig,
  waitForPod,
} from "./agent_test_utils.ts";
import { startTestServer, type TestServer, waitFor } from "./test_utils.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function runningIds(containers: { Id: string; State: string; Labels: Record<string, string> }[]) {
  return containers.filter((c) =>
    c.State === "running" && c.Labels["io.kubernetes.container.name"] === "c"
  ).map((c) => c.Id);
}

Deno.test("an agent restarted while its server is down runs its pods from local state; the server wins when it returns", async () => {
  const images = await ensureTestImages();
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-test-" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const listen = `127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
  probe.close();
  let server: TestServer | undefined = await startTestServer({
    dataDir,
    listen,
    controllers: false,
  });
  const config = await testAgentConfig(server, { backoffInitialMs: 2000, backoffMaxMs: 4000 });
  const lines: string[] = [];
  const logger = new Logger({ level: "info", sink: (line) => lines.push(line) });
  let agent: TestAgent | undefined = startAgent(config, { logger });
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  const state = `${config.dataDir}/state`;
  try {
    const client = server.client;
    for (const name of ["s-keep", "s-gone"]) {
      await client.create(SECRETS, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: "default" },
        stringData: { token: `${name}-value` },
      });
    }
    const sleeper = { name: "c", image: images.busybox, command: SLEEP_UNTIL_TERM };
    await createPod(
      client,
      boundPod("keep", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        containers: [{
          ...sleeper,
          env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "s-keep", key: "token" } } }],
        }],
      }),
    );
    await createPod(
      client,
      boundPod("gone", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: "s", secret: { secretName: "s-gone" } }],
        containers: [{ ...sleeper, volumeMounts: [{ name: "s", mountPath: "/s" }] }],
      }),
    );
    for (const name of ["keep", "gone"]) {
      await waitForPod(client, name, "Running", (p) => p.status?.phase === "Running");
    }
    // The local state holds both pods and both Secrets, the Secrets readable by the owner only.
    await waitFor("both pods in the local copy", async () => {
      const text = await Deno.readTextFile(`${state}/pods.json`).catch(() => "");
      return text.includes('"keep"') && text.includes('"gone"') && text.includes("Running");
    });
    for (const name of ["s-keep", "s-gone"]) {
      const st = await Deno.stat(`${state}/objects/secrets/default_${name}.json`);
      assert.equal(st.mode! & 0o777, 0o600, `${name} copy is 0600`);
    }
    assert.equal((await Deno.stat(`${state}/pods.json`)).mode! & 0o777, 0o600);

    // The node goes down; meanwhile "gone" is deleted (forced: no agent to confirm); then the
    // server goes down too, and the node comes back first.
    await agent.stop({ cleanup: false });
    agent = undefined;
    await client.delete(PODS, "gone", { namespace: "default", gracePeriodSeconds: 0 });
    await server.stop();
    server = undefined;
    lines.length = 0;
    agent = startAgent(config, { logger });

    await waitFor(
      "the agent loaded its local state",
      () => lines.some((l) => l.includes("loaded the node's local state")),
    );
    await waitFor(
      "the agent said the server is unreachable",
      () => lines.some((l) => l.includes("server unreachable; running the node's pods")),
    );
    // Killed while the server is down: back within its back-off (2 s) plus a sync.
    const [killed] = runningIds(await rt.listContainers({ "io.kubernetes.pod.name": "keep" }));
    assert.ok(killed, "keep's container runs");
    const killedAt = performance.now();
    await new Deno.Command("docker", { args: ["kill", killed], stdout: "null", stderr: "null" })
      .output();
    const [restarted] = await waitFor("keep's container restarted offline", async () => {
      const ids = runningIds(await rt.listContainers({ "io.kubernetes.pod.name": "keep" }));
      return ids.length && !ids.includes(killed) ? ids : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const restartMs = performance.now() - killedAt;
    assert.ok(restartMs < 2000 + 8000, `restarted in ${Math.round(restartMs)} ms`);
    // Its Secret came from the local copy.
    const inspect = await rt.inspectContainer(restarted);
    const env = (inspect?.Config as { Env?: string[] } | undefined)?.Env ?? [];
    assert.ok(env.includes("TOKEN=s-keep-value"), "env from the Secret's local copy");
    // "gone" is still in the local copy: it keeps running until the server says otherwise.
    assert.equal(
      runningIds(await rt.listContainers({ "io.kubernetes.pod.name": "gone" })).length,
      1,
    );

    // The server returns: "gone" is stopped, its Secret's copy removed; "keep"'s restart is
    // reported at once.
    server = await startTestServer({ dataDir, listen, controllers: false });
    const back = server.client;
    await waitFor(
      "gone's containers removed",
      async () => (await rt.listContainers({ "io.kubernetes.pod.name": "gone" })).length === 0,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor(
      "s-gone's copy removed",
      async () => !await exists(`${state}/objects/secrets/default_s-gone.json`),
    );
    assert.ok(await exists(`${state}/objects/secrets/default_s-keep.json`));
    const keep = await waitForPod(
      back,
      "keep",
      "reports the offline restart",
      (p: Pod) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    assert.equal(keep.status?.containerStatuses?.[0]?.containerID, `docker://${restarted}`);
    // The heartbeat says so at its next try, up to its back-off (10 s) after the pod sync did.
    await waitFor(
      "the agent said the server is reachable again",
      () => lines.some((l) => l.includes("server reachable again")),
      { timeoutMs: 15_000 },
    );
  } finally {
    await agent?.stop({ cleanup: false });
    await server?.stop();
    await removeNodeContainers(config.nodeName);
    await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
