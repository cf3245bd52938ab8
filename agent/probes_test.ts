/** Tests of single probe runs (httpGet, tcpSocket) against real local sockets. */

import assert from "node:assert/strict";
import { DockerRuntime } from "./docker_runtime.ts";
import { runProbe } from "./probes.ts";

const rt = new DockerRuntime({ nodeName: "probe-test" });

Deno.test("runProbe() httpGet: 2xx/3xx pass, others fail with the status, named ports resolve", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/ok") return new Response("fine");
      if (path === "/moved") {
        return new Response(null, { status: 302, headers: { location: "/x" } });
      }
      return new Response("broken", { status: 503 });
    },
  );
  const port = server.addr.port;
  const target = {
    rt,
    containerId: "unused",
    podIP: "127.0.0.1",
    container: { name: "c", ports: [{ name: "http", containerPort: port }] },
  };
  try {
    assert.deepEqual(await runProbe({ httpGet: { path: "/ok", port: "http" } }, target), {
      ok: true,
      output: "",
    });
    assert.equal((await runProbe({ httpGet: { path: "/moved", port } }, target)).ok, true);
    const bad = await runProbe({ httpGet: { path: "/bad", port } }, target);
    assert.equal(bad.ok, false);
    assert.equal(bad.output, "HTTP probe failed with statuscode: 503", "the kubelet's words");
  } finally {
    ac.abort();
    await server.finished;
  }
  const refused = await runProbe({ httpGet: { path: "/ok", port } }, target);
  assert.deepEqual(refused, {
    ok: false,
    output:
      `Get "http://127.0.0.1:${port}/ok": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

Deno.test("runProbe() tcpSocket: an open port passes, a closed one fails", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  const target = { rt, containerId: "unused", podIP: "127.0.0.1", container: { name: "c" } };
  try {
    assert.equal((await runProbe({ tcpSocket: { port } }, target)).ok, true);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
  const closed = await runProbe({ tcpSocket: { port } }, target);
  assert.equal(closed.ok, false);
  assert.equal(closed.output, `dial tcp 127.0.0.1:${port}: connect: connection refused`);
});
