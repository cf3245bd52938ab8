/**
 * End-to-end sidecar containers (init containers with `restartPolicy: Always`), as the kubelet
 * runs them: started in their turn (the next init container waits for the startup probe), running
 * beside the app containers, restarted when they stop, counted in readiness, stopped after the app
 * containers when those finish for good, and stopped last when the pod is deleted.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import type { Pod } from "../agent/pod_types.ts";
import { PODS } from "../shared/client/refs.ts";
import {
  allowPrivilegedPods,
  boundPod,
  createPod,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";

const forever = (onTerm: string) => [
  "sh",
  "-c",
  `trap '${onTerm}; exit 0' TERM; while :; do sleep 1; done`,
];

Deno.test("sidecar containers start before the next init container, run beside the app, restart, and stop after it", async () => {
  const { images, client, config, stop } = await startAgentTest();
  const out = await Deno.makeTempDir({ prefix: "skiff-sidecar-" });
  try {
    await allowPrivilegedPods(client); // the second pod writes to a hostPath
    // A pod that runs to completion: its sidecar must be up before `check` runs, and is stopped
    // once the app has exited; the pod succeeds.
    await createPod(
      client,
      boundPod("job", config.nodeName, {
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 5,
        volumes: [{ name: "shared", emptyDir: {} }],
        initContainers: [{
          name: "logger",
          image: images.busybox,
          restartPolicy: "Always",
          command: [
            "sh",
            "-c",
            "sleep 1; echo up > /shared/up; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
          startupProbe: { exec: { command: ["test", "-f", "/shared/up"] }, periodSeconds: 1 },
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }, {
          name: "check",
          image: images.busybox,
          command: ["test", "-f", "/shared/up"],
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }],
        containers: [{
          name: "app",
          image: images.busybox,
          command: ["sh", "-c", "sleep 2"],
        }],
      }),
    );
    const running = await waitForPod(
      client,
      "job",
      "running with its sidecar",
      (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state.running,
    );
    const [logger, check] = running.status!.initContainerStatuses!;
    assert.equal(logger.name, "logger");
    assert(logger.state.running && logger.started, "the sidecar runs beside the app");
    assert.equal(check.state.terminated?.exitCode, 0, "check saw the sidecar's file");
    assert.equal(
      running.status!.conditions!.find((c) => c.type === "Initialized")?.status,
      "True",
    );
    const done = await waitForPod(
      client,
      "job",
      "Succeeded",
      (p) =>
        p.status?.phase === "Succeeded" &&
        !!p.status.initContainerStatuses?.[0]?.state.terminated,
    );
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const finished = async (s: { containerID?: string }) =>
      (await rt.inspectContainer(s.containerID!.slice("docker://".length)))!.State.FinishedAt;
    const appEnd = await finished(done.status!.containerStatuses![0]);
    const loggerEnd = await finished(done.status!.initContainerStatuses![0]);
    assert(loggerEnd >= appEnd, `the sidecar stopped after the app: ${loggerEnd} vs ${appEnd}`);

    // A long-running pod: the sidecar counts in readiness, restarts on its own, and is stopped
    // after the app when the pod is deleted.
    await createPod(
      client,
      boundPod("svc", config.nodeName, {
        terminationGracePeriodSeconds: 10,
        volumes: [{ name: "out", hostPath: { path: out } }],
        initContainers: [{
          name: "proxy",
          image: images.busybox,
          restartPolicy: "Always",
          command: forever("echo proxy >> /out/order"),
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        }],
        containers: [{
          name: "app",
          image: images.busybox,
          command: forever("echo app >> /out/order"),
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        }],
      }),
    );
    const ready = (p: Pod) =>
      p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const up = await waitForPod(client, "svc", "Ready", ready);
    const proxyId = up.status!.initContainerStatuses![0].containerID!.slice("docker://".length);
    const appId = up.status!.containerStatuses![0].containerID;
    await rt.killContainer(proxyId, "KILL");
    const restarted = await waitForPod(client, "svc", "sidecar restarted", (p) => {
      const s = p.status?.initContainerStatuses?.[0];
      return (s?.restartCount ?? 0) >= 1 && !!s?.state.running && ready(p);
    });
    assert.equal(restarted.status!.phase, "Running");
    assert.equal(restarted.status!.containerStatuses![0].containerID, appId, "the app ran on");
    assert.equal(restarted.status!.containerStatuses![0].restartCount, 0);

    await client.delete(PODS, "svc", { namespace: "default" });
    await waitForPodGone(client, "svc");
    assert.equal(await Deno.readTextFile(`${out}/order`), "app\nproxy\n");
  } finally {
    await stop();
    await Deno.remove(out, { recursive: true });
  }
});
