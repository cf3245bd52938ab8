/**
 * Tests of the pod sandbox against real Docker: the pod's own address on the node's pod network,
 * only hostPorts published on the node, and a shared localhost.
 */

import assert from "node:assert/strict";
import { ensureTestImages, INDEX_HTML } from "../tests/images.ts";
import { freePort } from "../tests/server_process.ts";
import { randomClusterCidr } from "../tests/test_utils.ts";
import { containerCreateOptions } from "./container_config.ts";
import { DockerRuntime } from "./docker_runtime.ts";
import { portMappings, sandboxCreateOptions, sandboxIP } from "./pod_sandbox.ts";
import { PodNetwork } from "./pod_network.ts";
import type { Pod } from "./pod_types.ts";

async function get(url: string): Promise<string> {
  let body = "";
  for (let i = 0; i < 100 && body !== INDEX_HTML; i++) {
    body = await fetch(url).then((r) => r.text(), () => "");
    if (body !== INDEX_HTML) await new Promise((r) => setTimeout(r, 20));
  }
  return body;
}

Deno.test("a sandboxed pod has its own pod-network address, publishes only hostPorts, shares localhost", async () => {
  const images = await ensureTestImages();
  const node = `sb-${crypto.randomUUID().slice(0, 8)}`;
  const rt = new DockerRuntime({ nodeName: node });
  const podCIDR = randomClusterCidr().replace(/\/22$/, "/24");
  const network = await new PodNetwork(rt).ensure(podCIDR);
  const hostPort = freePort("127.0.0.11");
  const uid = crypto.randomUUID();
  const pod: Pod = {
    metadata: { name: "web", namespace: "default", uid },
    spec: {
      containers: [
        {
          name: "httpd",
          image: images.busybox,
          command: ["httpd", "-f", "-p", "80", "-h", "/www"],
          ports: [{ containerPort: 80, name: "http" }],
        },
        {
          name: "side",
          image: images.busybox,
          command: ["httpd", "-f", "-p", "81", "-h", "/www"],
          ports: [{ containerPort: 81, hostPort }],
        },
      ],
    },
  };
  try {
    const infra = await rt.createContainer(
      sandboxCreateOptions(pod, {
        pauseImage: images.pause,
        nodeAddress: "127.0.0.11",
        network: network.name,
        attempt: 0,
      }),
    );
    await rt.startContainer(infra);
    for (const c of pod.spec.containers) {
      const id = await rt.createContainer(
        containerCreateOptions(pod, c, {
          infraId: infra,
          restartCount: 0,
          env: [],
          binds: [],
          image: c.image!,
        }),
      );
      await rt.startContainer(id);
    }
    const info = (await rt.inspectContainer(infra))!;
    const podIP = sandboxIP(info, "127.0.0.11") ?? "";
    assert.equal(podIP.split(".").slice(0, 3).join("."), podCIDR.split(".").slice(0, 3).join("."));
    assert.notEqual(podIP, network.gateway);
    // Only the hostPort is published; the plain containerPort is reached on the pod's address.
    assert.deepEqual(portMappings(pod, info, "127.0.0.11"), [
      { containerName: "side", containerPort: 81, protocol: "TCP", hostIP: "127.0.0.11", hostPort },
    ]);
    assert.equal(await get(`http://${podIP}:80/`), INDEX_HTML);
    assert.equal(await get(`http://127.0.0.11:${hostPort}/`), INDEX_HTML);

    const side = (await rt.listContainers({ "io.kubernetes.container.name": "side" }))[0];
    const r = await rt.exec(side.Id, ["wget", "-qO-", "http://localhost:80/"]);
    assert.equal(r.stdout, INDEX_HTML, r.stderr);
  } finally {
    for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
    await rt.removeNetwork(network.name);
  }
});

Deno.test("sandboxCreateOptions() sets the hostname, host network and published ports", () => {
  const pod: Pod = {
    metadata: { name: "web", namespace: "d", uid: "u" },
    spec: {
      hostname: "front",
      containers: [{
        name: "c",
        ports: [{ containerPort: 80, hostPort: 8080, hostIP: "127.0.0.12", protocol: "UDP" }],
      }],
    },
  };
  const opts = { pauseImage: "pause", nodeAddress: "127.0.0.11", network: "pods-n1", attempt: 0 };
  const o = sandboxCreateOptions(pod, opts);
  assert.equal(o.Hostname, "front");
  assert.equal(o.HostConfig!.NetworkMode, "pods-n1");
  assert.deepEqual(o.HostConfig!.PortBindings, {
    "80/udp": [{ HostIp: "127.0.0.12", HostPort: "8080" }],
  });
  const host = sandboxCreateOptions({ ...pod, spec: { ...pod.spec, hostNetwork: true } }, opts);
  assert.equal(host.HostConfig!.NetworkMode, "host");
  assert.equal(host.Hostname, undefined);
  assert.deepEqual(host.HostConfig!.PortBindings, {});
});

Deno.test("sandboxCreateOptions() puts the sandbox in the host's IPC and PID namespaces when asked", () => {
  const pod: Pod = {
    metadata: { name: "web", namespace: "d", uid: "u" },
    spec: { containers: [] },
  };
  const opts = { pauseImage: "pause", nodeAddress: "127.0.0.11", network: "pods-n1", attempt: 0 };
  const own = sandboxCreateOptions(pod, opts).HostConfig!;
  // Its own IPC namespace, joinable by the pod's containers; its own PID namespace.
  assert.deepEqual([own.IpcMode, own.PidMode], ["shareable", undefined]);
  const host = sandboxCreateOptions(
    { ...pod, spec: { ...pod.spec, hostIPC: true, hostPID: true } },
    opts,
  ).HostConfig!;
  assert.deepEqual([host.IpcMode, host.PidMode], ["host", "host"]);
});
