import assert from "node:assert/strict";
import { runLifecycleHook, runPreStopHook } from "./lifecycle_hooks.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import type { Container, Pod } from "./pod_types.ts";

const pod = {
  metadata: { name: "p", namespace: "ns", uid: "u1" },
  spec: { containers: [] },
} as Pod;
const container: Container = { name: "c", ports: [{ name: "web", containerPort: 1 }] };

function target(exec?: (cmd: string[]) => { exitCode: number; stdout: string }) {
  const rt = {
    exec: (_id: string, cmd: string[]) =>
      Promise.resolve({ ...exec!(cmd), stderr: "", timedOut: false }),
  } as unknown as DockerRuntime;
  return { rt, containerId: "id", podIP: "127.0.0.1", pod, container };
}

Deno.test("runLifecycleHook() exec: exit 0 passes, otherwise the kubelet's message", async () => {
  assert.deepEqual(
    await runLifecycleHook(
      { exec: { command: ["true"] } },
      target(() => ({ exitCode: 0, stdout: "" })),
    ),
    {},
  );
  const r = await runLifecycleHook(
    { exec: { command: ["sh", "-c", "exit 3"] } },
    target(() => ({ exitCode: 3, stdout: "nope\n" })),
  );
  assert.equal(
    r.error,
    'Exec lifecycle hook ([sh -c exit 3]) for Container "c" in Pod "p_ns(u1)" failed - error: ' +
      "command 'sh -c exit 3' exited with 3: nope\n, message: \"nope\\n\"",
  );
});

Deno.test("runLifecycleHook() httpGet: 2xx passes, other statuses and refused connections fail", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => new Response("", { status: new URL(req.url).pathname === "/ok" ? 200 : 500 }),
  );
  try {
    const port = server.addr.port;
    const c = { ...container, ports: [{ name: "web", containerPort: port }] };
    const t = { ...target(), container: c };
    assert.deepEqual(await runLifecycleHook({ httpGet: { port: "web", path: "/ok" } }, t), {});
    const bad = await runLifecycleHook({ httpGet: { port, path: "/bad" } }, t);
    assert.match(bad.error!, /^HTTP lifecycle hook \(\/bad\) for Container "c" .* status 500$/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("runLifecycleHook() tcpSocket fails when run, as in Kubernetes", async () => {
  const r = await runLifecycleHook({ tcpSocket: { port: 80 } }, target());
  assert.match(r.error!, /^Cannot run handler: invalid handler/);
});

Deno.test("runPreStopHook() stops waiting when the grace period runs out", async () => {
  const started = performance.now();
  const r = await runPreStopHook({ sleep: { seconds: 30 } }, target(), 1);
  assert.equal(r.error, undefined);
  assert.equal(r.elapsedSeconds, 1);
  assert.ok(performance.now() - started < 5000);
});
