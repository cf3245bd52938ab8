/**
 * End-to-end: a namespace at the `restricted` Pod Security level refuses an ordinary pod and runs
 * one that meets the level, with its security context enforced by Docker (non-root user, no new
 * privileges, no capabilities, read-only root filesystem); `runAsNonRoot` on an image that runs as
 * root stops at CreateContainerConfigError with the kubelet's message.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { NAMESPACES } from "../shared/client/refs.ts";
import { isCode } from "../shared/errors.ts";
import {
  boundPod,
  createPod,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
  waitForWaitingReason,
} from "./agent_test_utils.ts";

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
};

Deno.test("a restricted namespace runs only conforming pods, and Docker enforces their security context", async () => {
  const { images, client, config, stop } = await startAgentTest();
  try {
    await client.patch(NAMESPACES, "default", {
      metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    }, { type: "merge" });
    await assert.rejects(
      () =>
        createPod(
          client,
          boundPod("plain", config.nodeName, {
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
          }),
        ),
      (e) => isCode(e, 403) && /violates PodSecurity "restricted:latest"/.test(String(e)),
    );

    await createPod(
      client,
      boundPod("locked", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [{
          name: "app",
          image: images.busybox,
          command: SLEEP_UNTIL_TERM,
          securityContext: RESTRICTED_CONTAINER,
        }],
      }),
    );
    const pod = await waitForPod(
      client,
      "locked",
      "Running",
      (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined,
    );
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const id = pod.status!.containerStatuses![0].containerID!.slice("docker://".length);
    assert.equal((await rt.exec(id, ["id", "-u"])).stdout.trim(), "1000");
    // /tmp is writable by anyone: only a read-only root filesystem refuses this write.
    const write = await rt.exec(id, ["sh", "-c", "echo x > /tmp/f"]);
    assert.notEqual(write.exitCode, 0, "the root filesystem is read-only");
    const status = (await rt.exec(id, ["cat", "/proc/1/status"])).stdout;
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^CapBnd:\s+0+$/m, "every capability is dropped");
    assert.match(status, /^Seccomp:\s+2$/m, "Docker's default seccomp profile is in force");

    // runAsNonRoot without a user: the busybox image runs as root, so the kubelet's check stops it.
    await createPod(
      client,
      boundPod("rooty", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{
          name: "app",
          image: images.busybox,
          command: SLEEP_UNTIL_TERM,
          securityContext: RESTRICTED_CONTAINER,
        }],
      }),
    );
    const rooty = await waitForWaitingReason(client, "rooty", "CreateContainerConfigError");
    assert.equal(
      rooty.status!.containerStatuses![0].state.waiting!.message,
      `container has runAsNonRoot and image will run as root (pod: "rooty_default(${rooty.metadata.uid})", container: app)`,
    );
  } finally {
    await stop();
  }
});
