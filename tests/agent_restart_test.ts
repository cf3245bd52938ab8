/**
 * End-to-end restarts: crash-loop back-off with growing delays, liveness failures restarting a
 * container, readiness driving the pod's Ready condition, and restart policy Never.
 */

import assert from "node:assert/strict";
import { EVENTS } from "../shared/client/refs.ts";
import type { ApiClient } from "../shared/client/client.ts";
import {
  boundPod,
  createPod,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
} from "./agent_test_utils.ts";
import { waitFor } from "./test_utils.ts";
import { DockerRuntime } from "../agent/docker_runtime.ts";

function ready(p: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function eventReasons(client: ApiClient, pod: string): Promise<string[]> {
  const list = await client.list(EVENTS, { namespace: "default" });
  return list.items.filter((e) => e.involvedObject?.name === pod).map((e) =>
    `${e.reason}: ${e.message}`
  );
}

Deno.test("agent restarts containers: crash loop, liveness, readiness, restartPolicy Never", async (t) => {
  const { images, client, config, stop } = await startAgentTest({
    backoffInitialMs: 1000,
    backoffMaxMs: 4000,
  });
  try {
    await t.step("a crashing container reaches CrashLoopBackOff with growing delays", async () => {
      await createPod(
        client,
        boundPod("crash", config.nodeName, {
          containers: [{
            name: "c",
            image: images.busybox,
            command: ["sh", "-c", "echo boom; exit 3"],
          }],
        }),
      );
      const messages = new Set<string>();
      const pod = await waitForPod(client, "crash", "restarted 3 times", (p) => {
        const s = p.status?.containerStatuses?.[0];
        if (s?.state.waiting?.reason === "CrashLoopBackOff") messages.add(s.state.waiting.message!);
        return (s?.restartCount ?? 0) >= 3 && s?.state.waiting?.reason === "CrashLoopBackOff";
      });
      const s = pod.status!.containerStatuses![0];
      assert.equal(s.lastState.terminated?.exitCode, 3);
      assert.equal(s.lastState.terminated?.reason, "Error");
      assert.equal(pod.status?.phase, "Running");
      const delays = [...messages].map((m) =>
        /^back-off (\S+) restarting failed container=c/.exec(m)?.[1]
      );
      // Growing delays, doubling from 1s (1s, 2s, 4s …). A status poll on a loaded machine can
      // miss the short 1s wait, so the check is on the sequence seen, not on one value in it.
      const seconds = delays.map((d) => Number(/^(\d+)s$/.exec(d ?? "")?.[1]));
      assert(seconds.length >= 2, `at least two back-off delays seen: ${delays.join(",")}`);
      assert(
        seconds.every((n, i) =>
          Number.isInteger(Math.log2(n)) && n <= 4 * (i + 1) &&
          (i === 0 || n === 2 * seconds[i - 1])
        ),
        `each delay doubles the one before, from 1s: ${delays.join(",")}`,
      );
      const reasons = await eventReasons(client, "crash");
      assert(reasons.some((r) => r.startsWith("BackOff: Back-off restarting failed container c")));
    });

    await t.step("a failing liveness probe restarts the container", async () => {
      await createPod(
        client,
        boundPod("live", config.nodeName, {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "c",
            image: images.busybox,
            command: SLEEP_UNTIL_TERM,
            livenessProbe: {
              exec: { command: ["sh", "-c", "echo not ok; exit 1"] },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          }],
        }),
      );
      await waitForPod(
        client,
        "live",
        "restarted",
        (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      );
      const reasons = await waitFor("Unhealthy and Killing events", async () => {
        const r = await eventReasons(client, "live");
        return r.some((x) => x === "Unhealthy: Liveness probe failed: not ok") &&
            r.some((x) => x === "Killing: Container c failed liveness probe, will be restarted")
          ? r
          : undefined;
      });
      assert(reasons.length > 0);
    });

    await t.step("readiness drives Ready; an unready container is not restarted", async () => {
      await createPod(
        client,
        boundPod("ready", config.nodeName, {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "c",
            image: images.busybox,
            command: SLEEP_UNTIL_TERM,
            readinessProbe: {
              exec: { command: ["test", "-f", "/tmp/ready"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          }],
        }),
      );
      const running = await waitForPod(
        client,
        "ready",
        "Running",
        (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state.running,
      );
      assert.equal(ready(running), false);
      const id = running.status!.containerStatuses![0].containerID!.slice("docker://".length);
      const rt = new DockerRuntime({ nodeName: config.nodeName });
      await rt.exec(id, ["touch", "/tmp/ready"]);
      const isReady = await waitForPod(client, "ready", "Ready", ready);
      assert.equal(isReady.status?.containerStatuses?.[0].ready, true);
      await rt.exec(id, ["rm", "/tmp/ready"]);
      const unready = await waitForPod(client, "ready", "not Ready", (p) => !ready(p));
      assert.equal(unready.status?.containerStatuses?.[0].restartCount, 0);
      assert.equal(
        unready.status?.conditions?.find((c) => c.type === "Ready")?.reason,
        "ContainersNotReady",
      );
    });

    await t.step("restartPolicy Never: a failed container fails the pod, no restart", async () => {
      await createPod(
        client,
        boundPod("once", config.nodeName, {
          restartPolicy: "Never",
          containers: [{ name: "c", image: images.busybox, command: ["sh", "-c", "exit 2"] }],
        }),
      );
      const pod = await waitForPod(client, "once", "Failed", (p) => p.status?.phase === "Failed");
      const s = pod.status!.containerStatuses![0];
      assert.equal(s.restartCount, 0);
      assert.equal(s.state.terminated?.exitCode, 2);
      await createPod(
        client,
        boundPod("done", config.nodeName, {
          restartPolicy: "OnFailure",
          containers: [{ name: "c", image: images.busybox, command: ["true"] }],
        }),
      );
      const done = await waitForPod(
        client,
        "done",
        "Succeeded",
        (p) => p.status?.phase === "Succeeded",
      );
      assert.equal(done.status!.containerStatuses![0].state.terminated?.reason, "Completed");
    });
  } finally {
    await stop();
  }
});
