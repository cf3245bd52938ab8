/**
 * End-to-end images: a pod whose image is missing goes ErrImagePull → ImagePullBackOff, then
 * runs once the image's tarball is dropped into `<data-dir>/images` (the air-gapped seed's demo
 * sequence); `imagePullPolicy: Never` without the image gives ErrImageNeverPull.
 */

import assert from "node:assert/strict";
import { EVENTS } from "../shared/client/refs.ts";
import { makeMissingImageTarball, removeImage } from "./images.ts";
import {
  boundPod,
  clientFor,
  createPod,
  startAgent,
  testAgentConfig,
  waitForPod,
  waitForWaitingReason,
} from "./agent_test_utils.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

Deno.test("agent: missing image → ErrImagePull/ImagePullBackOff, then loaded from the images dir → Running", async () => {
  const server = await startTestServer({ controllers: false });
  const client = clientFor(server);
  // Back-off long enough that only the new tarball can explain the pod starting.
  const config = await testAgentConfig(server, { backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
  const agent = startAgent(config);
  const tag = crypto.randomUUID().slice(0, 8);
  const ref = `127.0.0.1:1/skiff-test/demo-${tag}:1`;
  const never = `127.0.0.1:1/skiff-test/never-${tag}:1`;
  const stash = await Deno.makeTempDir();
  try {
    await makeMissingImageTarball(ref, `${stash}/demo.tar.gz`);
    await createPod(
      client,
      boundPod("demo", config.nodeName, {
        containers: [{ name: "app", image: ref, command: ["sleep", "3600"] }],
      }),
    );
    const seen = new Set<string>();
    await waitForPod(client, "demo", "ErrImagePull then ImagePullBackOff", (p) => {
      const w = p.status?.containerStatuses?.[0]?.state.waiting;
      if (w?.reason) seen.add(w.reason);
      return seen.has("ErrImagePull") || seen.has("ImagePullBackOff");
    });
    const pending = await waitForWaitingReason(client, "demo", "ImagePullBackOff");
    assert.equal(pending.status?.phase, "Pending");
    assert.match(
      pending.status!.containerStatuses![0].state.waiting!.message!,
      /connection refused/,
    );
    const events = await waitFor("pull failure events", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      const msgs = list.items.filter((e) => e.involvedObject?.name === "demo").map((e) =>
        `${e.reason}: ${e.message}`
      );
      return msgs.some((m) => m.startsWith(`Failed: Failed to pull image "${ref}"`))
        ? msgs
        : undefined;
    });
    assert(events.some((m) => m === `Pulling: Pulling image "${ref}"`), events.join("\n"));

    // The seed's move: copy the tarball into the images directory; the agent loads it and retries.
    await Deno.copyFile(`${stash}/demo.tar.gz`, `${config.dataDir}/images/demo.tar.gz`);
    const running = await waitForPod(
      client,
      "demo",
      "Running",
      (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state.running,
    );
    assert.equal(running.status?.containerStatuses?.[0].image, ref);

    await createPod(
      client,
      boundPod("never", config.nodeName, {
        containers: [{ name: "app", image: never, imagePullPolicy: "Never" }],
      }),
    );
    const p = await waitForWaitingReason(client, "never", "ErrImageNeverPull");
    assert.equal(
      p.status!.containerStatuses![0].state.waiting!.message,
      `Container image "${never}" is not present with pull policy of Never`,
    );
  } finally {
    await agent.stop();
    await server.stop();
    await removeImage(ref);
    await Deno.remove(stash, { recursive: true });
  }
});
