/**
 * End-to-end: a real agent against a real API server and the real Docker engine runs pods —
 * published ports, a shared localhost, status, events, logs and graceful deletion.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { EVENTS, NODES, PODS } from "../shared/client/refs.ts";
import { INDEX_HTML } from "./images.ts";
import {
  allowPrivilegedPods,
  boundPod,
  createPod,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { waitFor } from "./test_utils.ts";

Deno.test("agent runs an httpd pod reachable on its own pod IP (no port published), then deletes it gracefully", async () => {
  const { images, client, config, stop } = await startAgentTest({}, {});
  try {
    const node = await waitFor(
      "node registered",
      () => client.get(NODES, config.nodeName).catch(() => undefined),
    );
    assert.equal(node.metadata.labels?.["kubernetes.io/hostname"], config.nodeName);

    await createPod(
      client,
      boundPod("web", config.nodeName, {
        containers: [{
          name: "httpd",
          image: images.busybox,
          command: ["httpd", "-f", "-p", "80", "-h", "/www"],
          ports: [{ containerPort: 80, name: "http" }],
          readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
        }, {
          name: "side",
          image: images.busybox,
          command: ["sh", "-c", "echo side started; trap 'exit 0' TERM; while :; do sleep 1; done"],
        }],
      }),
    );
    const pod = await waitForPod(
      client,
      "web",
      "Ready",
      (p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    );
    assert.equal(pod.status?.phase, "Running");
    assert.equal(pod.status?.hostIP, "127.0.0.11");
    const self = await client.get(NODES, config.nodeName);
    const podIP = pod.status?.podIP ?? "";
    const prefix = (self.spec?.podCIDR as string).split(".").slice(0, 3).join(".");
    assert.equal(podIP.split(".").slice(0, 3).join("."), prefix, "an address of the podCIDR");
    assert.deepEqual(pod.status?.podIPs, [{ ip: podIP }]);
    const statuses = pod.status?.containerStatuses ?? [];
    assert.deepEqual(statuses.map((s) => [s.name, s.ready, s.restartCount]), [
      ["httpd", true, 0],
      ["side", true, 0],
    ]);
    assert.match(statuses[0].containerID ?? "", /^docker:\/\/[0-9a-f]{64}$/);
    // A declared containerPort without hostPort is not published on the node.
    assert.deepEqual(pod.status?.portMappings ?? [], []);
    const body = await fetch(`http://${podIP}:80/`).then((r) => r.text());
    assert.equal(body, INDEX_HTML);

    // The sidecar reaches httpd over the pod's shared localhost.
    const rt = new DockerRuntime({ nodeName: config.nodeName });
    const sideId = statuses[1].containerID!.slice("docker://".length);
    const r = await rt.exec(sideId, ["wget", "-qO-", "http://127.0.0.1:80/"]);
    assert.equal(r.stdout, INDEX_HTML);

    const events = await waitFor("Started events", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      const reasons = list.items.filter((e) => e.involvedObject?.name === "web").map((e) =>
        e.reason as string
      );
      return reasons.filter((x) => x === "Started").length === 2 ? reasons : undefined;
    });
    assert(events.includes("Created") && events.includes("Pulled"), events.join(","));

    // Graceful delete: the agent stops the containers, removes them, then finishes the delete.
    await client.delete(PODS, "web", { namespace: "default" });
    await waitForPodGone(client, "web");
    assert.deepEqual(await rt.listContainers(), []);
  } finally {
    await stop();
  }
});

Deno.test("a hostPort conflict is reported on the pod, and the message clears once it runs", async () => {
  const { images, client, config, stop } = await startAgentTest({ backoffInitialMs: 500 });
  // hostPort/hostPath need the namespace's Pod Security level raised by an admin.
  await allowPrivilegedPods(client);
  const l = Deno.listen({ hostname: "127.0.0.11", port: 0 });
  const hostPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const spec = (name: string) =>
    boundPod(name, config.nodeName, {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "web",
        image: images.busybox,
        command: ["httpd", "-f", "-p", "80", "-h", "/www"],
        ports: [{ containerPort: 80, hostPort }],
      }],
    });
  try {
    await createPod(client, spec("first"));
    await waitForPod(client, "first", "Running", (p) => p.status?.phase === "Running");
    await createPod(client, spec("second"));
    const blocked = await waitForPod(
      client,
      "second",
      "port conflict reported",
      (p) => /already allocated|address already in use/.test(p.status?.message ?? ""),
    );
    assert.equal(blocked.status?.phase, "Pending");
    await client.delete(PODS, "first", { namespace: "default" });
    const running = await waitForPod(
      client,
      "second",
      "Running",
      (p) => p.status?.phase === "Running",
    );
    assert.equal(running.status?.message, undefined);
    assert.equal(running.status?.portMappings?.[0].hostPort, hostPort);
  } finally {
    await stop();
  }
});
