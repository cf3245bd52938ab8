/** Tests of pod-spec → Docker config translation. */

import assert from "node:assert/strict";
import {
  containerCreateOptions,
  containerHash,
  expandVars,
  resolveEnv,
  verifyRunAsNonRoot,
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

Deno.test("containerCreateOptions() maps the security context, stdinOnce and tty", () => {
  const c: Container = {
    name: "app",
    image: "img",
    stdin: true,
    stdinOnce: true,
    tty: true,
    securityContext: {
      runAsGroup: 3000,
      capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      seccompProfile: { type: "Unconfined" },
    },
  };
  const p = pod([c]);
  p.spec.securityContext = {
    runAsUser: 1000,
    runAsGroup: 2000,
    supplementalGroups: [4000, 5000],
    appArmorProfile: { type: "Unconfined" },
  };
  const ctx = { infraId: "infra", restartCount: 0, env: [], binds: [], image: "img" };
  const o = containerCreateOptions(p, c, ctx);
  // The container's own value wins; the pod's fills in the rest.
  assert.equal(o.User, "1000:3000");
  assert.deepEqual([o.OpenStdin, o.StdinOnce, o.Tty], [true, true, true]);
  const h = o.HostConfig!;
  assert.equal(h.Privileged, false);
  assert.deepEqual(h.CapAdd, ["NET_BIND_SERVICE"]);
  assert.deepEqual(h.CapDrop, ["ALL"]);
  assert.equal(h.ReadonlyRootfs, true);
  assert.deepEqual(h.GroupAdd, ["4000", "5000"]);
  assert.deepEqual(h.SecurityOpt, [
    "no-new-privileges",
    "seccomp=unconfined",
    "apparmor=unconfined",
  ]);
  // RuntimeDefault profiles and unset fields leave Docker's defaults alone.
  const plain: Container = {
    name: "plain",
    image: "img",
    securityContext: { privileged: true, seccompProfile: { type: "RuntimeDefault" } },
  };
  const po = containerCreateOptions(pod([plain]), plain, ctx);
  assert.equal(po.HostConfig!.Privileged, true);
  assert.equal(po.HostConfig!.SecurityOpt, undefined);
  assert.equal(po.User, undefined);
  assert.equal(po.StdinOnce, undefined);
});

Deno.test("containerCreateOptions() joins the host's PID and IPC namespaces and adds the fsGroup", () => {
  const c: Container = { name: "app", image: "img" };
  const ctx = { infraId: "infra", restartCount: 0, env: [], binds: [], image: "img" };
  const modes = (spec: Partial<Pod["spec"]>) => {
    const p = pod([c]);
    Object.assign(p.spec, spec);
    const h = containerCreateOptions(p, c, ctx).HostConfig!;
    return [h.IpcMode, h.PidMode];
  };
  // Private PID namespace, the sandbox's IPC namespace.
  assert.deepEqual(modes({}), ["container:infra", undefined]);
  assert.deepEqual(modes({ shareProcessNamespace: true }), ["container:infra", "container:infra"]);
  assert.deepEqual(modes({ hostPID: true }), ["container:infra", "host"]);
  assert.deepEqual(modes({ hostIPC: true }), ["host", undefined]);

  const p = pod([c]);
  p.spec.securityContext = { fsGroup: 1001, supplementalGroups: [1001, 4000] };
  assert.deepEqual(containerCreateOptions(p, c, ctx).HostConfig!.GroupAdd, ["1001", "4000"]);
  p.spec.securityContext = { fsGroup: 0 };
  assert.deepEqual(containerCreateOptions(p, c, ctx).HostConfig!.GroupAdd, ["0"]);
});

Deno.test("verifyRunAsNonRoot() refuses to run as root with the kubelet's messages", () => {
  const c: Container = { name: "app", image: "img", securityContext: { runAsNonRoot: true } };
  const p = pod([c]);
  const who = '(pod: "web_demo(u-1)", container: app)';
  assert.throws(
    () => verifyRunAsNonRoot(p, c, ""),
    { message: `container has runAsNonRoot and image will run as root ${who}` },
  );
  assert.throws(
    () => verifyRunAsNonRoot(p, c, "0:0"),
    { message: `container has runAsNonRoot and image will run as root ${who}` },
  );
  assert.throws(() => verifyRunAsNonRoot(p, c, "nobody"), {
    message:
      `container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root ${who}`,
  });
  verifyRunAsNonRoot(p, c, "1000");
  p.spec.securityContext = { runAsUser: 0 };
  assert.throws(
    () => verifyRunAsNonRoot(p, c, "1000"),
    { message: `container's runAsUser breaks non-root policy ${who}` },
  );
  p.spec.securityContext = { runAsUser: 65534 };
  verifyRunAsNonRoot(p, c, "");
  // Without runAsNonRoot nothing is checked.
  verifyRunAsNonRoot(pod([{ name: "x", image: "img" }]), { name: "x", image: "img" }, "");
});

Deno.test("resolveEnv() gives a container's own cpu and memory for resourceFieldRef", async () => {
  const c: Container = {
    name: "app",
    resources: { limits: { cpu: "1500m", memory: "64Mi" }, requests: { cpu: "250m" } },
    env: [
      { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
      { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
      { name: "REQ", valueFrom: { resourceFieldRef: { resource: "requests.cpu" } } },
    ],
  };
  const env = Object.fromEntries(await resolveEnv(pod([c]), c, { reader, facts }));
  // Kubernetes rounds cpu up to whole cores with the default divisor of 1.
  assert.deepEqual(env, { CPU: "2", MEM: String(64 * 1024 * 1024), REQ: "1" });
});
