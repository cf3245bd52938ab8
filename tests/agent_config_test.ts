/**
 * End-to-end container configuration: env from values, ConfigMaps, Secrets and the downward API;
 * configMap, secret and emptyDir volumes (the emptyDir shared between containers and removed
 * with the pod); resource limits reaching Docker; a missing ConfigMap key reported as
 * CreateContainerConfigError.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { CONFIGMAPS, PODS } from "../shared/client/refs.ts";
import {
  boundPod,
  createPod,
  createSecret,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
  waitForPodGone,
  waitForWaitingReason,
} from "./agent_test_utils.ts";

Deno.test("agent configures containers from the pod spec: env, ConfigMap/Secret/emptyDir volumes, limits", async () => {
  const { images, client, config, stop } = await startAgentTest();
  try {
    await client.create(CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: "default" },
      data: { color: "blue", "app.conf": "port=80\n" },
    });
    await createSecret(client, "sec", { password: "hunter2" });
    await createPod(
      client,
      boundPod("cfg", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: "conf", configMap: { name: "cfg" } },
          { name: "creds", secret: { secretName: "sec" } },
          { name: "shared", emptyDir: {} },
        ],
        containers: [{
          name: "app",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "echo $GREETING > /shared/hello; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
          workingDir: "/etc/conf",
          env: [
            { name: "NAME", value: "world" },
            { name: "GREETING", value: "hello $(NAME)" },
            { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
          ],
          resources: { limits: { memory: "64Mi", cpu: "500m" }, requests: { cpu: "100m" } },
          volumeMounts: [
            { name: "conf", mountPath: "/etc/conf" },
            { name: "creds", mountPath: "/etc/creds" },
            { name: "shared", mountPath: "/shared" },
          ],
        }, {
          name: "reader",
          image: images.busybox,
          command: SLEEP_UNTIL_TERM,
          volumeMounts: [{ name: "shared", mountPath: "/data" }],
        }],
      }),
    );
    const pod = await waitForPod(
      client,
      "cfg",
      "Running",
      (p) => p.status?.containerStatuses?.every((s) => s.state.running) ?? false,
    );
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const [app, reader] = pod.status!.containerStatuses!.map((s) =>
      s.containerID!.slice("docker://".length)
    );
    const env = await rt.exec(app, ["env"]);
    const vars = Object.fromEntries(env.stdout.trim().split("\n").map((l) => l.split(/=(.*)/s)));
    assert.equal(vars.GREETING, "hello world");
    assert.equal(vars.COLOR, "blue");
    assert.equal(vars.PASSWORD, "hunter2");
    assert.equal(vars.POD_NAME, "cfg");
    assert.equal(vars.NODE, config.nodeName);
    assert.equal(vars.HOST_IP, "127.0.0.11");
    assert.equal((await rt.exec(app, ["pwd"])).stdout, "/etc/conf\n");
    assert.equal((await rt.exec(app, ["cat", "/etc/conf/app.conf"])).stdout, "port=80\n");
    assert.equal((await rt.exec(app, ["cat", "/etc/creds/password"])).stdout, "hunter2");
    const write = await rt.exec(app, ["sh", "-c", "echo x > /etc/conf/new"]);
    assert.notEqual(write.exitCode, 0, "configMap volumes are read-only");
    assert.equal((await rt.exec(reader, ["cat", "/data/hello"])).stdout, "hello world\n");
    const info = (await rt.inspectContainer(app))!;
    assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    assert.equal(info.HostConfig.CpuShares, 102);

    const podDir = `${config.dataDir}/pods/${pod.metadata.uid}`;
    assert((await Deno.stat(`${podDir}/volumes/empty-dir/shared/hello`)).isFile);
    await client.delete(PODS, "cfg", { namespace: "default" });
    await waitForPodGone(client, "cfg");
    await assert.rejects(() => Deno.stat(podDir), Deno.errors.NotFound);

    await createPod(
      client,
      boundPod("badcfg", config.nodeName, {
        containers: [{
          name: "app",
          image: images.busybox,
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "missing" } } }],
        }],
      }),
    );
    const bad = await waitForWaitingReason(client, "badcfg", "CreateContainerConfigError");
    assert.equal(
      bad.status!.containerStatuses![0].state.waiting!.message,
      "couldn't find key missing in ConfigMap default/cfg",
    );
  } finally {
    await stop();
  }
});

Deno.test("init containers run in order to completion before the app containers start", async () => {
  const { images, client, config, stop } = await startAgentTest();
  try {
    await createPod(
      client,
      boundPod("init", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: "work", emptyDir: {} }],
        initContainers: [
          { name: "first", image: images.busybox, command: ["sh", "-c", "echo 1 >> /work/log"] },
          { name: "second", image: images.busybox, command: ["sh", "-c", "echo 2 >> /work/log"] },
        ].map((c) => ({ ...c, volumeMounts: [{ name: "work", mountPath: "/work" }] })),
        containers: [{
          name: "app",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "echo 3 >> /work/log; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        }],
      }),
    );
    const pod = await waitForPod(
      client,
      "init",
      "Running",
      (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state.running,
    );
    const inits = pod.status!.initContainerStatuses!;
    assert.deepEqual(inits.map((s) => [s.name, s.state.terminated?.reason]), [
      ["first", "Completed"],
      ["second", "Completed"],
    ]);
    assert.equal(pod.status!.conditions!.find((c) => c.type === "Initialized")?.status, "True");
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const app = pod.status!.containerStatuses![0].containerID!.slice("docker://".length);
    assert.equal((await rt.exec(app, ["cat", "/work/log"])).stdout, "1\n2\n3\n");

    // The sandbox dies: in the new one the init containers run again, in order, then the app.
    const sandbox = (await rt.listContainers()).find((c) =>
      c.Labels["io.skiff.kind"] === "sandbox" && c.Labels["io.kubernetes.pod.name"] === "init"
    );
    assert.ok(sandbox, "the pod's sandbox");
    await rt.killContainer(sandbox.Id);
    const again = await waitForPod(client, "init", "running in a new sandbox", (p) => {
      const id = p.status?.containerStatuses?.[0]?.containerID?.slice("docker://".length);
      return !!id && id !== app && !!p.status!.containerStatuses![0].state.running;
    });
    const newApp = again.status!.containerStatuses![0].containerID!.slice("docker://".length);
    assert.equal((await rt.exec(newApp, ["cat", "/work/log"])).stdout, "1\n2\n3\n1\n2\n3\n");
    assert.deepEqual(again.status!.initContainerStatuses!.map((s) => s.restartCount), [1, 1]);
  } finally {
    await stop();
  }
});
