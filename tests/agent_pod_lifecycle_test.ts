/**
 * Pod-spec features of the container lifecycle against real Docker: postStart and preStop hooks
 * (exec, httpGet, sleep, and tcpSocket failing as in Kubernetes) with their ordering and events,
 * termination messages (file, custom path, fallback to logs, the 4096-byte cap),
 * shareProcessNamespace, activeDeadlineSeconds, pod sysctls (safe, allowed unsafe, forbidden),
 * and memory/CPU limits (OOMKilled with exit code 137, the CPU quota in the cgroup).
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import type { Pod } from "../agent/pod_types.ts";
import { PODS } from "../shared/client/refs.ts";
import {
  allowPrivilegedPods,
  boundPod,
  createPod,
  eventFor,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { waitFor } from "./test_utils.ts";

const idOf = (p: Pod, i = 0) => p.status!.containerStatuses![i].containerID!.slice(9);

Deno.test("agent pod lifecycle: hooks, termination messages, process namespace, deadlines, sysctls, limits", async (t) => {
  const { images, client, config, stop } = await startAgentTest({
    allowedUnsafeSysctls: ["net.core.somaxconn"],
  });
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  const markers = await Deno.makeTempDir({ prefix: "skiff-hooks-" });
  try {
    await allowPrivilegedPods(client);

    await t.step({
      name: "exec hooks: postStart runs before the container is Running, preStop before SIGTERM",
      fn: async () => {
        await createPod(
          client,
          boundPod("hooks", config.nodeName, {
            terminationGracePeriodSeconds: 10,
            volumes: [{ name: "m", hostPath: { path: markers } }],
            containers: [{
              name: "app",
              image: images.busybox,
              command: [
                "sh",
                "-c",
                "trap 'echo term >> /m/log; exit 0' TERM; while :; do sleep 1; done",
              ],
              volumeMounts: [{ name: "m", mountPath: "/m" }],
              lifecycle: {
                postStart: { exec: { command: ["sh", "-c", "echo poststart >> /m/log; sleep 1"] } },
                preStop: { exec: { command: ["sh", "-c", "sleep 1; echo prestop >> /m/log"] } },
              },
            }],
          }),
        );
        await waitForPod(
          client,
          "hooks",
          "Running",
          (p) => !!p.status?.containerStatuses?.[0]?.state.running,
        );
        // Reported running only once the hook has returned.
        assert.equal(await Deno.readTextFile(`${markers}/log`), "poststart\n");
        await client.delete(PODS, "hooks", { namespace: "default" });
        await waitForPodGone(client, "hooks");
        assert.equal(await Deno.readTextFile(`${markers}/log`), "poststart\nprestop\nterm\n");
      },
    });

    await t.step({
      name: "httpGet and sleep hooks run against the pod, in order, within the grace period",
      fn: async () => {
        const seen: string[] = [];
        const ac = new AbortController();
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
          (req) => {
            seen.push(`${new URL(req.url).pathname} ${req.headers.get("x-hook")}`);
            return new Response("ok");
          },
        );
        try {
          const port = server.addr.port;
          await createPod(
            client,
            boundPod("httphooks", config.nodeName, {
              terminationGracePeriodSeconds: 10,
              containers: [{
                name: "app",
                image: images.busybox,
                command: SLEEP_UNTIL_TERM,
                ports: [{ name: "hook", containerPort: port }],
                lifecycle: {
                  postStart: {
                    httpGet: {
                      host: "127.0.0.1",
                      port: "hook",
                      path: "/start",
                      httpHeaders: [{ name: "X-Hook", value: "post" }],
                    },
                  },
                  preStop: { httpGet: { host: "127.0.0.1", port, path: "/stop" } },
                },
              }, {
                name: "sleeper",
                image: images.busybox,
                command: SLEEP_UNTIL_TERM,
                lifecycle: { preStop: { sleep: { seconds: 2 } } },
              }],
            }),
          );
          await waitForPod(
            client,
            "httphooks",
            "Running",
            (p) => p.status?.containerStatuses?.every((s) => s.state.running) ?? false,
          );
          assert.deepEqual(seen, ["/start post"]);
          const sleeper = idOf(
            await client.get<Pod>(PODS, "httphooks", { namespace: "default" }),
            1,
          );
          const t0 = Date.now();
          await client.delete(PODS, "httphooks", { namespace: "default" });
          await waitForPodGone(client, "httphooks");
          assert.deepEqual(seen, ["/start post", "/stop null"]);
          // The sleep hook held the container's SIGTERM back for its 2 s.
          assert((await rt.inspectContainer(sleeper)) === undefined);
          assert(Date.now() - t0 >= 2000, `deleted after ${Date.now() - t0} ms`);
        } finally {
          ac.abort();
          await server.finished;
        }
      },
    });

    await t.step({
      name: "a failing postStart kills the container (FailedPostStartHook); tcpSocket hooks fail",
      fn: async () => {
        await createPod(
          client,
          boundPod("badhook", config.nodeName, {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "app",
              image: images.busybox,
              command: ["sleep", "3600"],
              lifecycle: {
                postStart: { exec: { command: ["sh", "-c", "echo nope; exit 3"] } },
                preStop: { tcpSocket: { port: 80 } },
              },
            }],
          }),
        );
        const e = await eventFor(client, "badhook", "FailedPostStartHook");
        assert.equal(e.type, "Warning");
        assert.equal(e.message, "PostStartHook failed");
        // The kill after the failed hook runs the preStop hook, which fails as tcpSocket does.
        assert.equal(
          (await eventFor(client, "badhook", "FailedPreStopHook")).message,
          "PreStopHook failed",
        );
        const p = await waitForPod(
          client,
          "badhook",
          "Failed",
          (p) => p.status?.phase === "Failed" && !!p.status.containerStatuses?.[0].state.terminated,
        );
        assert.equal(p.status!.containerStatuses![0].state.terminated?.exitCode, 137);
        await client.delete(PODS, "badhook", { namespace: "default" });
        await waitForPodGone(client, "badhook");
      },
    });

    await t.step({
      name: "a pod deleted while its postStart hook hangs is terminated without waiting for it",
      fn: async () => {
        await createPod(
          client,
          boundPod("hang", config.nodeName, {
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "app",
              image: images.busybox,
              command: SLEEP_UNTIL_TERM,
              lifecycle: { postStart: { exec: { command: ["sleep", "3600"] } } },
            }],
          }),
        );
        // The container runs (its hook too) while the pod still says it is being created.
        await waitFor(
          "the hooked container running",
          async () =>
            (await rt.listContainers({ "io.kubernetes.pod.name": "hang" })).some((c) =>
              c.Labels["io.skiff.kind"] === "container" && c.State === "running"
            ),
        );
        const p = await client.get<Pod>(PODS, "hang", { namespace: "default" });
        assert.ok(!p.status?.containerStatuses?.[0]?.state.running);
        await client.delete(PODS, "hang", { namespace: "default" });
        await waitForPodGone(client, "hang");
      },
    });

    await t.step({
      name: "lifecycle.stopSignal: deletion stops the container with its own signal",
      fn: async () => {
        await createPod(
          client,
          boundPod("stopsig", config.nodeName, {
            os: { name: "linux" },
            terminationGracePeriodSeconds: 10,
            volumes: [{ name: "m", hostPath: { path: markers } }],
            containers: [{
              name: "app",
              image: images.busybox,
              command: [
                "sh",
                "-c",
                "trap 'echo usr1 > /m/stop; exit 0' USR1; trap 'echo term > /m/stop; exit 0' TERM;" +
                " while :; do sleep 1; done",
              ],
              volumeMounts: [{ name: "m", mountPath: "/m" }],
              lifecycle: { stopSignal: "SIGUSR1" },
            }],
          }),
        );
        const p = await waitForPod(
          client,
          "stopsig",
          "Running",
          (p) => !!p.status?.containerStatuses?.[0]?.state.running,
        );
        assert.equal(p.status!.containerStatuses![0].stopSignal, "SIGUSR1");
        await client.delete(PODS, "stopsig", { namespace: "default" });
        await waitForPodGone(client, "stopsig");
        assert.equal(await Deno.readTextFile(`${markers}/stop`), "usr1\n");
      },
    });

    await t.step({
      name: "termination messages: file, custom path, fallback to logs, 4096-byte cap",
      fn: async () => {
        const big = "x".repeat(5000);
        await createPod(
          client,
          boundPod("msgs", config.nodeName, {
            restartPolicy: "Never",
            containers: [{
              name: "file",
              image: images.busybox,
              securityContext: { runAsUser: 1000 },
              command: ["sh", "-c", "printf bye > /dev/termination-log; exit 3"],
            }, {
              name: "custom",
              image: images.busybox,
              terminationMessagePath: "/tmp/why",
              command: ["sh", "-c", "printf done > /tmp/why"],
            }, {
              name: "logs",
              image: images.busybox,
              terminationMessagePolicy: "FallbackToLogsOnError",
              // stderr counts; only the log's last 80 lines are kept.
              command: ["sh", "-c", "seq 1 100 >&2; exit 2"],
            }, {
              name: "logsok",
              image: images.busybox,
              terminationMessagePolicy: "FallbackToLogsOnError",
              command: ["sh", "-c", "echo fine"],
            }, {
              name: "big",
              image: images.busybox,
              command: [
                "sh",
                "-c",
                `printf a > /dev/termination-log; printf ${big} >> /dev/termination-log`,
              ],
            }],
          }),
        );
        const p = await waitForPod(client, "msgs", "Failed", (p) =>
          p.status?.phase === "Failed" &&
          (p.status.containerStatuses ?? []).every((s) => s.state.terminated));
        const msg = (name: string) =>
          p.status!.containerStatuses!.find((s) => s.name === name)!.state.terminated!.message;
        assert.equal(msg("file"), "bye");
        assert.equal(msg("custom"), "done");
        const lines = Array.from({ length: 80 }, (_, i) => `${i + 21}\n`).join("");
        assert.equal(msg("logs"), lines);
        assert.equal(msg("logsok"), undefined);
        assert.equal(msg("big"), big.slice(-4096));
        await client.delete(PODS, "msgs", { namespace: "default" });
        await waitForPodGone(client, "msgs");
      },
    });

    await t.step({
      name: "shareProcessNamespace: containers see each other's processes",
      fn: async () => {
        await createPod(
          client,
          boundPod("sharepid", config.nodeName, {
            shareProcessNamespace: true,
            terminationGracePeriodSeconds: 1,
            containers: [
              { name: "a", image: images.busybox, command: SLEEP_UNTIL_TERM },
              { name: "b", image: images.busybox, command: ["sleep", "4321"] },
            ],
          }),
        );
        const p = await waitForPod(
          client,
          "sharepid",
          "Running",
          (p) => p.status?.containerStatuses?.every((s) => s.state.running) ?? false,
        );
        const ps = await rt.exec(idOf(p, 0), ["ps", "-o", "pid,args"]);
        assert.match(ps.stdout, /sleep 4321/);
        // The pause process is PID 1 of the pod.
        assert.match(ps.stdout, /^\s*1 .*sh -c trap/m);
        await client.delete(PODS, "sharepid", { namespace: "default" });
        await waitForPodGone(client, "sharepid");
      },
    });

    await t.step({
      name: "activeDeadlineSeconds: the pod fails with DeadlineExceeded and its containers stop",
      fn: async () => {
        await createPod(
          client,
          boundPod("deadline", config.nodeName, {
            activeDeadlineSeconds: 3,
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
          }),
        );
        await waitForPod(client, "deadline", "Running", (p) => p.status?.phase === "Running");
        const p = await waitForPod(
          client,
          "deadline",
          "Failed",
          (p) => p.status?.phase === "Failed",
        );
        assert.equal(p.status!.reason, "DeadlineExceeded");
        assert.equal(
          p.status!.message,
          "Pod was active on the node longer than the specified deadline",
        );
        assert(p.status!.containerStatuses![0].state.terminated);
        assert.equal((await eventFor(client, "deadline", "DeadlineExceeded")).type, "Normal");
        await client.delete(PODS, "deadline", { namespace: "default" });
        await waitForPodGone(client, "deadline");
      },
    });

    await t.step({
      name: "pod sysctls: the safe set and allowed unsafe ones are set; others reject the pod",
      fn: async () => {
        await createPod(
          client,
          boundPod("sysctls", config.nodeName, {
            terminationGracePeriodSeconds: 1,
            securityContext: {
              sysctls: [
                { name: "net.ipv4.ip_local_port_range", value: "40000 41000" },
                { name: "kernel.shm_rmid_forced", value: "1" },
                { name: "net.core.somaxconn", value: "777" },
              ],
            },
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
          }),
        );
        const p = await waitForPod(
          client,
          "sysctls",
          "Running",
          (p) => !!p.status?.containerStatuses?.[0]?.state.running,
        );
        const read = async (path: string) =>
          (await rt.exec(idOf(p), ["cat", path])).stdout.trim().replace(/\s+/g, " ");
        assert.equal(await read("/proc/sys/net/ipv4/ip_local_port_range"), "40000 41000");
        assert.equal(await read("/proc/sys/kernel/shm_rmid_forced"), "1");
        assert.equal(await read("/proc/sys/net/core/somaxconn"), "777");
        await client.delete(PODS, "sysctls", { namespace: "default" });

        await createPod(
          client,
          boundPod("badsysctl", config.nodeName, {
            securityContext: { sysctls: [{ name: "net.ipv4.tcp_max_syn_backlog", value: "10" }] },
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
          }),
        );
        const bad = await waitForPod(
          client,
          "badsysctl",
          "rejected",
          (p) => p.status?.phase === "Failed",
        );
        assert.equal(bad.status!.reason, "SysctlForbidden");
        assert.equal(
          bad.status!.message,
          'Pod was rejected: forbidden sysctl: "net.ipv4.tcp_max_syn_backlog" not allowlisted',
        );
        assert.deepEqual(await rt.listContainers({ "io.kubernetes.pod.name": "badsysctl" }), []);
        await client.delete(PODS, "badsysctl", { namespace: "default" });
        await waitForPodGone(client, "sysctls");
        await waitForPodGone(client, "badsysctl");
      },
    });

    await t.step({
      name: "limits: a memory limit ends in OOMKilled with exit code 137; the CPU quota is set",
      fn: async () => {
        await createPod(
          client,
          boundPod("oom", config.nodeName, {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "hog",
              image: images.busybox,
              resources: { limits: { memory: "16Mi" } },
              // tail keeps the whole (newline-free) input in memory.
              command: ["sh", "-c", "head -c 200000000 /dev/zero | tail > /dev/null"],
            }, {
              name: "cpu",
              image: images.busybox,
              resources: { limits: { cpu: "250m", memory: "32Mi" } },
              // cgroup v2, or v1's quota and period.
              command: [
                "sh",
                "-c",
                "cat /sys/fs/cgroup/cpu.max 2>/dev/null ||" +
                " cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
              ],
            }],
          }),
        );
        const p = await waitForPod(client, "oom", "Failed", (p) =>
          p.status?.phase === "Failed" &&
          (p.status.containerStatuses ?? []).every((s) => s.state.terminated));
        const hog = p.status!.containerStatuses!.find((s) => s.name === "hog")!.state.terminated!;
        assert.equal(hog.reason, "OOMKilled");
        assert.equal(hog.exitCode, 137);
        const cpu = p.status!.containerStatuses!.find((s) => s.name === "cpu")!;
        const log = await new Response(await rt.logs(cpu.containerID!.slice(9))).text();
        assert.equal(log.trim().replace(/\s+/g, " "), "25000 100000");
        await client.delete(PODS, "oom", { namespace: "default" });
        await waitForPodGone(client, "oom");
      },
    });
  } finally {
    await stop();
    await Deno.remove(markers, { recursive: true }).catch(() => {});
  }
});
