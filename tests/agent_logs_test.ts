/**
 * End-to-end: the agent API serves container logs (tail, timestamps, follow, previous) to the
 * server's credentials only, and pod deletion honours the grace period: SIGTERM first, SIGKILL
 * only for containers still running when it ends.
 */

import assert from "node:assert/strict";
import { type ContainerEvent, DockerRuntime } from "../agent/docker_runtime.ts";
import { PODS } from "../shared/client/refs.ts";
import {
  agentApiBase,
  allowPrivilegedPods,
  boundPod,
  createPod,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { waitFor } from "./test_utils.ts";

Deno.test("agent API serves logs with tail, timestamps, follow and previous, to the server only", async () => {
  const { images, client, config, stop } = await startAgentTest({ backoffInitialMs: 60_000 });
  try {
    await createPod(
      client,
      boundPod("talk", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "c",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "echo one; echo two >&2; echo three; trap 'exit 0' TERM; while :; do sleep 1; done",
          ],
        }, {
          name: "crashy",
          image: images.busybox,
          command: ["sh", "-c", "echo attempt $(cat /proc/sys/kernel/random/uuid); exit 1"],
        }],
      }),
    );
    const base = await agentApiBase(client, config.nodeName);
    const get = async (path: string, token: string | null = config.token) => {
      const res = await fetch(`${base}${path}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, text: await res.text() };
    };
    const unauth = await get("/containerLogs/default/talk/c", null);
    assert.equal(unauth.status, 401);
    assert.equal((await get("/containerLogs/default/talk/c", "wrong")).status, 401);

    const all = await waitFor("three lines", async () => {
      const r = await get("/containerLogs/default/talk/c");
      return r.text.split("\n").length === 4 ? r : undefined;
    });
    assert.equal(all.status, 200);
    assert.deepEqual(all.text.split("\n").sort(), ["", "one", "three", "two"]);
    const tail = await get("/containerLogs/default/talk/c?tailLines=1");
    assert.equal(tail.text.split("\n").length, 2);
    const ts = await get("/containerLogs/default/talk/c?timestamps=true&tailLines=1");
    assert.match(ts.text, /^\d{4}-\d\d-\d\dT[\d:.]+Z \w+\n$/);

    // follow: the stream stays open after the existing lines.
    const ac = new AbortController();
    const res = await fetch(`${base}/containerLogs/default/talk/c?follow=true`, {
      headers: { Authorization: `Bearer ${config.token}` },
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let followed = "";
    while (!followed.includes("three")) {
      const { value } = await reader.read();
      followed += new TextDecoder().decode(value);
    }
    ac.abort();
    await reader.cancel().catch(() => {});

    // previous: the log of the instance before the current one.
    await waitForPod(
      client,
      "talk",
      "crashy restarted",
      (p) =>
        (p.status?.containerStatuses?.find((s) => s.name === "crashy")?.restartCount ?? 0) >= 1,
    );
    const cur = await get("/containerLogs/default/talk/crashy");
    const prev = await get("/containerLogs/default/talk/crashy?previous=true");
    assert.match(cur.text, /^attempt \S+\n$/);
    assert.match(prev.text, /^attempt \S+\n$/);
    assert.notEqual(cur.text, prev.text);
    const none = await get("/containerLogs/default/talk/c?previous=true");
    assert.equal(none.status, 400);
    assert.equal((await get("/containerLogs/default/nope/c")).status, 404);
  } finally {
    await stop();
  }
});

Deno.test("deleting a pod sends SIGTERM, then SIGKILL after the grace period, then finishes the delete", async () => {
  const { images, client, config, stop } = await startAgentTest();
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  // hostPort/hostPath need the namespace's Pod Security level raised by an admin.
  await allowPrivilegedPods(client);
  const ac = new AbortController();
  const deaths = new Map<string, number | undefined>();
  let connected!: () => void;
  const watching = new Promise<void>((r) => connected = r);
  const events = rt.watchEvents(ac.signal, {
    onConnect: () => connected(),
    onEvent: (e: ContainerEvent) => {
      if (e.action === "die") deaths.set(e.labels["io.kubernetes.container.name"], e.exitCode);
    },
  });
  const out = await Deno.makeTempDir();
  try {
    await watching;
    await createPod(
      client,
      boundPod("bye", config.nodeName, {
        terminationGracePeriodSeconds: 2,
        volumes: [{ name: "out", hostPath: { path: out } }],
        containers: [{
          name: "polite",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "trap 'echo TERM > /out/polite; exit 0' TERM; while :; do sleep 0.1; done",
          ],
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        }, {
          name: "stubborn",
          image: images.busybox,
          command: [
            "sh",
            "-c",
            "trap 'echo TERM > /out/stubborn' TERM; while :; do sleep 0.1; done",
          ],
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        }],
      }),
    );
    await waitForPod(
      client,
      "bye",
      "Running",
      (p) => p.status?.containerStatuses?.every((s) => s.state.running) ?? false,
    );
    await client.delete(PODS, "bye", { namespace: "default" });
    await waitForPodGone(client, "bye");
    assert.equal(deaths.get("polite"), 0, "polite container exited on SIGTERM");
    assert.equal(deaths.get("stubborn"), 137, "stubborn container was SIGKILLed");
    assert.equal(await Deno.readTextFile(`${out}/polite`), "TERM\n");
    assert.equal(await Deno.readTextFile(`${out}/stubborn`), "TERM\n");
    assert.deepEqual(await rt.listContainers(), []);
  } finally {
    ac.abort();
    await events;
    await stop();
    await Deno.remove(out, { recursive: true });
  }
});
