/** Tests of the pod sandbox against real Docker: published ports and a shared localhost. */

import assert from "node:assert/strict";
import { ensureTestImages, INDEX_HTML } from "../tests/images.ts";
import { containerCreateOptions } from "./container_config.ts";
import { DockerRuntime } from "./docker_runtime.ts";
import { portMappings, sandboxCreateOptions, sandboxIP } from "./pod_sandbox.ts";
import type { Pod } from "./pod_types.ts";

Deno.test("a sandboxed pod publishes its ports on the node address and shares localhost", async () => {
  const images = await ensureTestImages();
  const node = `sb-${crypto.randomUUID().slice(0, 8)}`;
  const rt = new DockerRuntime({ nodeName: node });
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
        { name: "side", image: images.busybox, command: ["sleep", "3600"] },
      ],
    },
  };
  try {
    const infra = await rt.createContainer(
      sandboxCreateOptions(pod, {
        pauseImage: images.pause,
        nodeAddress: "127.0.0.11",
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
    assert.match(sandboxIP(info, "127.0.0.11") ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    const [m] = portMappings(pod, info, "127.0.0.11");
    assert.equal(m.hostIP, "127.0.0.11");
    assert.equal(m.containerName, "httpd");
    assert.equal(m.name, "http");
    assert(m.hostPort > 0);

    let body = "";
    for (let i = 0; i < 100 && body !== INDEX_HTML; i++) {
      body = await fetch(`http://127.0.0.11:${m.hostPort}/`).then((r) => r.text(), () => "");
      if (body !== INDEX_HTML) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(body, INDEX_HTML);

    const side = (await rt.listContainers({ "io.kubernetes.container.name": "side" }))[0];
    const r = await rt.exec(side.Id, ["wget", "-qO-", "http://localhost:80/"]);
    assert.equal(r.stdout, INDEX_HTML, r.stderr);
  } finally {
    for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
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
  const opts = { pauseImage: "pause", nodeAddress: "127.0.0.11", attempt: 0 };
  const o = sandboxCreateOptions(pod, opts);
  assert.equal(o.Hostname, "front");
  assert.equal(o.HostConfig!.NetworkMode, "bridge");
  assert.deepEqual(o.HostConfig!.PortBindings, {
    "80/udp": [{ HostIp: "127.0.0.12", HostPort: "8080" }],
  });
  const host = sandboxCreateOptions({ ...pod, spec: { ...pod.spec, hostNetwork: true } }, opts);
  assert.equal(host.HostConfig!.NetworkMode, "host");
  assert.equal(host.Hostname, undefined);
  assert.deepEqual(host.HostConfig!.PortBindings, {});
});
