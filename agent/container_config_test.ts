/** Tests of pod-spec → Docker config translation. */

import assert from "node:assert/strict";
import {
  containerCreateOptions,
  containerHash,
  expandVars,
  resolveEnv,
} from "./container_config.ts";
import type { Container, KeyValueSource, Pod } from "./pod_types.ts";
import type { ObjectReader } from "./volumes.ts";

function pod(containers: Container[]): Pod {
  return {
    metadata: { name: "web", namespace: "demo", uid: "u-1", labels: { app: "web" } },
    spec: { nodeName: "n1", containers },
  };
}

const reader: ObjectReader = {
  getConfigMap(_ns, name): Promise<KeyValueSource | undefined> {
    return Promise.resolve(
      name === "cfg" ? { metadata: { name }, data: { color: "blue", size: "L" } } : undefined,
    );
  },
  getSecret(_ns, name): Promise<KeyValueSource | undefined> {
    return Promise.resolve(
      name === "sec" ? { metadata: { name }, data: { password: btoa("hunter2") } } : undefined,
    );
  },
  getPersistentVolumeClaim: () => Promise.resolve(undefined),
  getPersistentVolume: () => Promise.resolve(undefined),
};
const facts = { nodeName: "n1", hostIP: "127.0.0.11", podIP: "172.17.0.9" };

Deno.test("resolveEnv() resolves values, valueFrom and envFrom with $(VAR) expansion", async () => {
  const c: Container = {
    name: "app",
    envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
    env: [
      { name: "A", value: "x" },
      { name: "B", value: "$(A)-$(NOPE)-$$(A)" },
      { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
      { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
      { name: "PW", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
      {
        name: "OPT",
        valueFrom: { secretKeyRef: { name: "missing", key: "k", optional: true } },
      },
    ],
  };
  const env = await resolveEnv(pod([c]), c, { reader, facts });
  assert.deepEqual(Object.fromEntries(env), {
    CFG_color: "blue",
    CFG_size: "L",
    A: "x",
    B: "x-$(NOPE)-$(A)",
    POD: "web",
    NS: "demo",
    NODE: "n1",
    IP: "172.17.0.9",
    HOST: "127.0.0.11",
    APP: "web",
    COLOR: "blue",
    PW: "hunter2",
  });
});

Deno.test("resolveEnv() fails readably on a missing ConfigMap key or Secret", async () => {
  const missingKey: Container = {
    name: "a",
    env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope" } } }],
  };
  await assert.rejects(
    () => resolveEnv(pod([missingKey]), missingKey, { reader, facts }),
    /couldn't find key nope in ConfigMap demo\/cfg/,
  );
  const missingSecret: Container = {
    name: "a",
    env: [{ name: "X", valueFrom: { secretKeyRef: { name: "gone", key: "k" } } }],
  };
  await assert.rejects(
    () => resolveEnv(pod([missingSecret]), missingSecret, { reader, facts }),
    /secret "gone" not found/,
  );
});

Deno.test("containerCreateOptions() maps command/args, resources and joins the sandbox", () => {
  const c: Container = {
    name: "app",
    image: "img:1",
    command: ["sh", "-c"],
    args: ["echo $(MSG)"],
    workingDir: "/www",
    resources: { limits: { memory: "64Mi", cpu: "500m" }, requests: { cpu: "250m" } },
  };
  const p = pod([c]);
  const o = containerCreateOptions(p, c, {
    infraId: "abc",
    restartCount: 2,
    env: [["MSG", "hi"]],
    binds: ["/x:/y:ro"],
    image: "img:1",
  });
  assert.equal(o.name, "k8s_app_web_demo_u-1_2");
  assert.deepEqual(o.Entrypoint, ["sh", "-c"]);
  assert.deepEqual(o.Cmd, ["echo hi"]);
  assert.equal(o.WorkingDir, "/www");
  assert.deepEqual(o.Env, ["MSG=hi"]);
  assert.equal(o.HostConfig?.NetworkMode, "container:abc");
  assert.equal(o.HostConfig?.Memory, 64 * 1024 * 1024);
  assert.equal(o.HostConfig?.NanoCpus, 500_000_000);
  assert.equal(o.HostConfig?.CpuShares, 256);
  assert.equal(o.Labels?.["io.kubernetes.container.restartCount"], "2");
  assert.equal(o.Labels?.["io.kubernetes.pod.uid"], "u-1");

  // command alone drops the image's CMD; args alone keeps its ENTRYPOINT.
  const only = containerCreateOptions(p, { name: "a", command: ["true"] }, {
    infraId: "abc",
    restartCount: 0,
    env: [],
    binds: [],
    image: "i",
  });
  assert.deepEqual([only.Entrypoint, only.Cmd], [["true"], []]);
  const argsOnly = containerCreateOptions(p, { name: "a", args: ["x"] }, {
    infraId: "abc",
    restartCount: 0,
    env: [],
    binds: [],
    image: "i",
  });
  assert.deepEqual([argsOnly.Entrypoint, argsOnly.Cmd], [undefined, ["x"]]);
});

Deno.test("containerHash() ignores key order and changes with the spec", () => {
  const a = containerHash({ name: "a", image: "x", args: ["1"] });
  assert.equal(a, containerHash({ args: ["1"], image: "x", name: "a" } as Container));
  assert.notEqual(a, containerHash({ name: "a", image: "x", args: ["2"] }));
  assert.equal(expandVars("$(A)$(B)", new Map([["A", "1"]])), "1$(B)");
});
