/**
 * End-to-end local storage on a node: a memory-backed emptyDir is one tmpfs shared by the pod's
 * containers, sized by its sizeLimit (and the pod's memory limit), full at that size, and
 * unmounted with the pod; a pod whose disk-backed emptyDir or containers outgrow their sizeLimit or
 * `ephemeral-storage` limits is evicted with the kubelet's messages, and one within them is not.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { mountsUnder } from "../agent/shared_mount.ts";
import { EVENTS, PODS } from "../shared/client/refs.ts";
import { waitFor } from "./test_utils.ts";
import type { Pod } from "../agent/pod_types.ts";
import {
  boundPod,
  createPod,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";

Deno.test("a memory-backed emptyDir is one tmpfs of its sizeLimit for all containers, gone with the pod", async () => {
  const { images, client, config, stop } = await startAgentTest();
  try {
    await createPod(
      client,
      boundPod("shm", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } },
          { name: "unsized", emptyDir: { medium: "Memory" } },
        ],
        containers: [{
          name: "writer",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "echo hi > /cache/a; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
          resources: { limits: { memory: "48Mi" } },
          volumeMounts: [
            { name: "cache", mountPath: "/cache" },
            { name: "unsized", mountPath: "/unsized" },
          ],
        }, {
          name: "reader",
          image: images.busybox,
          command: SLEEP_UNTIL_TERM,
          resources: { limits: { memory: "16Mi" } },
          volumeMounts: [{ name: "cache", mountPath: "/data" }],
        }],
      }),
    );
    const pod = await waitForPod(
      client,
      "shm",
      "Running",
      (p) => p.status?.containerStatuses?.every((s) => s.state.running) ?? false,
    );
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const ids = new Map(
      pod.status!.containerStatuses!.map((s) => [s.name, s.containerID!.slice("docker://".length)]),
    );
    const writer = ids.get("writer")!;
    const reader = ids.get("reader")!;
    // Both containers see the same tmpfs: what one wrote, the other reads.
    assert.equal((await rt.exec(reader, ["cat", "/data/a"])).stdout, "hi\n");
    const mounts = (await rt.exec(reader, ["cat", "/proc/mounts"])).stdout;
    const line = mounts.split("\n").find((l) => l.split(" ")[1] === "/data");
    assert(line?.startsWith("tmpfs /data tmpfs "), `/data is a tmpfs: ${line}`);
    assert.match(line!, /size=8192k/);
    // Without a sizeLimit, the pod's memory limit (48Mi + 16Mi) bounds it, as the kubelet does.
    const unsized = mounts.split("\n").find((l) => l.split(" ")[1] === "/unsized") ??
      (await rt.exec(writer, ["cat", "/proc/mounts"])).stdout.split("\n").find((l) =>
        l.split(" ")[1] === "/unsized"
      );
    assert.match(unsized ?? "", /^tmpfs \/unsized tmpfs .*size=65536k/);
    // Full at its size: writing 9 MiB into 8 MiB fails.
    const fill = await rt.exec(writer, [
      "sh",
      "-c",
      "dd if=/dev/zero of=/cache/big bs=1024 count=9216 2>&1",
    ]);
    assert.notEqual(fill.exitCode, 0, `dd into a full tmpfs fails: ${fill.stdout}`);
    assert.match(fill.stdout, /No space left on device/);

    const podDir = `${config.dataDir}/pods/${pod.metadata.uid}`;
    const onHost = await mountsUnder(await Deno.realPath(podDir));
    assert.equal(onHost.length, 2, `two tmpfs mounts under the pod's directory: ${onHost}`);
    await client.delete(PODS, "shm", { namespace: "default" });
    await waitForPodGone(client, "shm");
    assert.deepEqual(await mountsUnder(await Deno.realPath(config.dataDir)), []);
    await assert.rejects(() => Deno.stat(podDir), Deno.errors.NotFound);
  } finally {
    await stop();
  }
});

Deno.test("a pod over an emptyDir sizeLimit or an ephemeral-storage limit is evicted as the kubelet does", async () => {
  const { images, client, config, stop } = await startAgentTest({ storageCheckMs: 300 });
  // Writes `mib` MiB to `path`, then waits for SIGTERM.
  const writes = (path: string, mib: number) => [
    "sh",
    "-c",
    `dd if=/dev/urandom of=${path} bs=1024 count=${mib * 1024} && sync; ` +
    "trap 'exit 0' TERM; while :; do sleep 1; done",
  ];
  try {
    const pods = {
      // Within its limits: 1 MiB in an emptyDir of 64 MiB.
      within: boundPod("within", config.nodeName, {
        volumes: [{ name: "scratch", emptyDir: { sizeLimit: "64Mi" } }],
        containers: [{
          name: "app",
          image: images.busybox,
          command: writes("/scratch/f", 1),
          resources: { limits: { "ephemeral-storage": "64Mi" } },
          volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
        }],
      }),
      emptydir: boundPod("emptydir", config.nodeName, {
        volumes: [{ name: "scratch", emptyDir: { sizeLimit: "4Mi" } }],
        containers: [{
          name: "app",
          image: images.busybox,
          command: writes("/scratch/f", 6),
          volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
        }],
      }),
      // The pod's total (4Mi + 100Mi) holds; the one container's own limit does not.
      container: boundPod("container", config.nodeName, {
        containers: [{
          name: "app",
          image: images.busybox,
          command: writes("/tmp/f", 6),
          resources: { limits: { "ephemeral-storage": "4Mi" } },
        }, {
          name: "idle",
          image: images.busybox,
          command: SLEEP_UNTIL_TERM,
          resources: { limits: { "ephemeral-storage": "100Mi" } },
        }],
      }),
      // One container: the pod's total is checked first, as the kubelet does.
      total: boundPod("total", config.nodeName, {
        containers: [{
          name: "app",
          image: images.busybox,
          command: writes("/tmp/f", 6),
          resources: { limits: { "ephemeral-storage": "4Mi" } },
        }],
      }),
    };
    for (const p of Object.values(pods)) await createPod(client, p);
    const expected: Record<string, string> = {
      emptydir: 'Usage of EmptyDir volume "scratch" exceeds the limit "4Mi". ',
      container: 'Container app exceeded its local ephemeral storage limit "4Mi". ',
      total: "Pod ephemeral local storage usage exceeds the total limit of containers 4Mi. ",
    };
    const evicted = (p: Pod) =>
      p.status?.phase === "Failed" &&
      (p.status.containerStatuses ?? []).every((s) => !s.state.running);
    for (const [name, message] of Object.entries(expected)) {
      const p = await waitForPod(client, name, "evicted", evicted);
      assert.equal(p.status!.reason, "Evicted");
      assert.equal(p.status!.message, message);
      const target = p.status!.conditions!.find((c) => c.type === "DisruptionTarget");
      assert.deepEqual(
        { status: target?.status, reason: target?.reason, message: target?.message },
        { status: "True", reason: "TerminationByKubelet", message },
      );
    }
    const events = await waitFor("Evicted events", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      const got = list.items.filter((e) => e.reason === "Evicted").map((e) =>
        `${e.involvedObject?.name}: ${e.type} ${e.message}`
      );
      return got.length >= 3 ? got : undefined;
    });
    for (const [name, message] of Object.entries(expected)) {
      assert(events.includes(`${name}: Warning ${message}`), events.join("\n"));
    }
    // An evicted pod stays down (restartPolicy Always does not bring it back), and the pod
    // within its limits, measured as often, still runs.
    const again = await client.get<Pod>(PODS, "total", { namespace: "default" });
    assert.equal(again.status?.phase, "Failed");
    assert.equal(
      (again.status?.containerStatuses ?? []).filter((s) => s.state.running).length,
      0,
    );
    const within = await client.get<Pod>(PODS, "within", { namespace: "default" });
    assert.equal(within.status?.phase, "Running");
  } finally {
    await stop();
  }
});
