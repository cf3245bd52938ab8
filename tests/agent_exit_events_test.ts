/**
 * A container's exit reaches the API through Docker's `die` event, not the periodic relist: with
 * the relist set to ten minutes, pods whose container exits at once still go Succeeded. Docker's
 * container list can still say "running" right after `die` (the container's inspect already says
 * exited); the agent used to trust the list and its cached inspect, and saw such an exit only at
 * the next relist (measured 8.5–9.7 s late for 2 pods in 10 with the default 10 s relist).
 */
import assert from "node:assert/strict";
import { boundPod, createPod, startAgentTest, waitForPod } from "./agent_test_utils.ts";

Deno.test("a container's exit is reported from Docker's events, without waiting for the relist", async () => {
  const { images, client, config, stop } = await startAgentTest({ relistMs: 600_000 });
  try {
    const names = Array.from({ length: 10 }, (_, i) => `exits-${i}`);
    for (const name of names) {
      await createPod(
        client,
        boundPod(name, config.nodeName, {
          restartPolicy: "Never",
          containers: [{ name: "c", image: images.busybox, command: ["true"] }],
        }),
      );
    }
    for (const name of names) {
      const pod = await waitForPod(
        client,
        name,
        "Succeeded",
        (p) => p.status?.phase === "Succeeded",
      );
      assert.equal(pod.status!.containerStatuses![0].state?.terminated?.exitCode, 0);
    }
  } finally {
    await stop();
  }
});
