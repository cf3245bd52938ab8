/**
 * `subPathExpr` end to end: the container's variables (here the pod's name, from the downward API)
 * name the part of a shared volume it mounts, so two pods writing to "their" directory meet in one
 * volume; an expansion that would leave the volume fails the container as the kubelet fails it.
 */
import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import {
  allowPrivilegedPods,
  boundPod,
  createPod,
  startAgentTest,
  waitForPod,
  waitForWaitingReason,
} from "./agent_test_utils.ts";

Deno.test("subPathExpr mounts the part of a volume its expanded variables name, one per pod", async () => {
  const { images, client, config, stop } = await startAgentTest();
  const shared = await Deno.makeTempDir({ prefix: "skiff-subpath-" });
  try {
    await allowPrivilegedPods(client); // the pods share a hostPath
    const writer = (name: string, expr: string) =>
      boundPod(name, config.nodeName, {
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: "logs", hostPath: { path: shared } }],
        containers: [{
          name: "app",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "echo from-$POD_NAME > /logs/out; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          volumeMounts: [{ name: "logs", mountPath: "/logs", subPathExpr: expr }],
        }],
      });
    await createPod(client, writer("alpha", "pods/$(POD_NAME)"));
    await createPod(client, writer("beta", "pods/$(POD_NAME)"));
    const running = (p: { status?: { containerStatuses?: { state: { running?: unknown } }[] } }) =>
      !!p.status?.containerStatuses?.[0]?.state.running;
    await waitForPod(client, "alpha", "Running", running);
    const beta = await waitForPod(client, "beta", "Running", running);
    // Each pod wrote to its own directory of the one volume (created on the host for it).
    assert.equal(await Deno.readTextFile(`${shared}/pods/alpha/out`), "from-alpha\n");
    assert.equal(await Deno.readTextFile(`${shared}/pods/beta/out`), "from-beta\n");
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const id = beta.status!.containerStatuses![0].containerID!.slice("docker://".length);
    assert.deepEqual((await rt.exec(id, ["ls", "/logs"])).stdout, "out\n");

    // A variable that climbs out of the volume: the container is not created.
    const bad = writer("gamma", "$(UP)/x");
    bad.spec.containers[0].env!.push({ name: "UP", value: ".." });
    await createPod(client, bad);
    const refused = await waitForWaitingReason(client, "gamma", "CreateContainerConfigError");
    assert.match(
      refused.status!.containerStatuses![0].state.waiting!.message!,
      /failed to prepare subPath for volumeMount "logs".*must be a relative path without '\.\.'/,
    );
  } finally {
    await stop();
    await Deno.remove(shared, { recursive: true }).catch(() => {});
  }
});
