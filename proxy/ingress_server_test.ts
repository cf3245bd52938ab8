import assert from "node:assert/strict";
import { Ingress } from "../shared/api/networking_v1.ts";
import { buildIngressRoutes } from "./ingress_rules.ts";
import { IngressServer } from "./ingress_server.ts";
import { RoundRobin } from "./round_robin.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A backend answering with the request's headers, and echoing WebSocket messages. */
function startBackend() {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => {
    if (req.headers.get("upgrade") === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "echo" });
      socket.onmessage = (e) => socket.send(`echo:${e.data}`);
      return response;
    }
    const path = new URL(req.url).pathname;
    if (path === "/echo") return new Response(req.body);
    if (path === "/stream") {
      // Two chunks a while apart: the first must reach the client before the second is sent.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode("data: one\n\n"));
          timer = setTimeout(() => {
            c.enqueue(new TextEncoder().encode("data: two\n\n"));
            c.close();
          }, 300);
        },
        cancel: () => clearTimeout(timer),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json({ path, headers: Object.fromEntries(req.headers) });
  });
  return { port: server.addr.port, stop: async () => (ac.abort(), await server.finished) };
}

const ingress = Ingress.parse({
  metadata: { name: "web", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: {
    rules: [{
      http: {
        paths: [{
          path: "/socket",
          pathType: "Exact",
          backend: { service: { name: "app", port: { number: 80 } } },
        }],
      },
    }, {
      host: "app.test",
      http: {
        paths: [
          {
            path: "/",
            pathType: "Prefix",
            backend: { service: { name: "app", port: { number: 80 } } },
          },
          {
            path: "/down",
            pathType: "Prefix",
            backend: { service: { name: "down", port: { number: 80 } } },
          },
        ],
      },
    }],
  },
});

Deno.test("IngressServer forwards with X-Forwarded-*, retries a refused endpoint, relays WebSockets", async () => {
  const backend = await startBackend();
  const dead = freePort(); // nothing listens there: connecting is refused
  const port = freePort();
  const server = new IngressServer({ hostname: "127.0.0.1", httpPort: port, httpsPort: 0 });
  const app = new RoundRobin([
    { address: "127.0.0.1", port: dead },
    { address: "127.0.0.1", port: backend.port },
  ]);
  server.update({
    routes: buildIngressRoutes([ingress]),
    backends: (ref) =>
      ref.service === "app" ? app : ref.service === "down" ? new RoundRobin() : undefined,
    certs: { hosts: new Map(), wildcards: new Map(), version: "" },
  });
  assert.deepEqual(await server.reconcile(), []);
  const client = Deno.createHttpClient({ allowHost: true });
  try {
    // Both turns of the rotation: one starts at the refused endpoint and moves on.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/x/y?q=1`, {
        client,
        headers: { host: "app.test:8080", "x-forwarded-for": "10.9.9.9" },
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.path, "/x/y");
      assert.equal(body.headers.host, "app.test:8080");
      assert.equal(body.headers["x-forwarded-for"], "10.9.9.9, 127.0.0.1");
      assert.equal(body.headers["x-forwarded-proto"], "http");
      assert.equal(body.headers["x-forwarded-host"], "app.test:8080");
      assert.equal(body.headers["x-real-ip"], "127.0.0.1");
    }
    // Without headers of its own to replace, the request goes on as it came plus the
    // forwarded lines, which follow the Host from one request to the next on a connection.
    for (const host of ["app.test", "app.test:8080", "app.test"]) {
      const res = await fetch(`http://127.0.0.1:${port}/x/plain`, { client, headers: { host } });
      const body = await res.json();
      assert.equal(body.path, "/x/plain");
      assert.equal(body.headers.host, host);
      assert.equal(body.headers["x-forwarded-for"], "127.0.0.1");
      assert.equal(body.headers["x-forwarded-host"], host);
      assert.equal(body.headers["x-forwarded-port"], String(port));
    }
    const unavailable = await fetch(`http://127.0.0.1:${port}/down`, {
      client,
      headers: { host: "app.test" },
    });
    assert.equal(unavailable.status, 503);
    await unavailable.body?.cancel();
    const missing = await fetch(`http://127.0.0.1:${port}/`, {
      client,
      headers: { host: "other.test" },
    });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    // Bodies both ways: Content-Length and chunked requests, a streamed response.
    const echoed = await fetch(`http://127.0.0.1:${port}/echo`, {
      client,
      method: "POST",
      headers: { host: "app.test" },
      body: "x".repeat(100_000),
    });
    assert.equal((await echoed.text()).length, 100_000);
    const chunkedBody = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("part1-"));
        c.enqueue(new TextEncoder().encode("part2"));
        c.close();
      },
    });
    const echoedChunked = await fetch(`http://127.0.0.1:${port}/echo`, {
      client,
      method: "POST",
      headers: { host: "app.test" },
      body: chunkedBody,
    });
    assert.equal(await echoedChunked.text(), "part1-part2");
    const stream = await fetch(`http://127.0.0.1:${port}/stream`, {
      client,
      headers: { host: "app.test" },
    });
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const firstAt = performance.now();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += new TextDecoder().decode(r.value);
    }
    assert.equal(first, "data: one\n\n");
    assert.equal(rest, "data: two\n\n");
    // Had the proxy held the first chunk back, both would arrive together.
    const gap = performance.now() - firstAt;
    assert.ok(gap > 150, `second event only ${gap} ms after the first`);
    const head = await fetch(`http://127.0.0.1:${port}/x`, {
      client,
      method: "HEAD",
      headers: { host: "app.test" },
    });
    assert.equal(head.status, 200);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, ["echo"]);
    // The handshake's Host is the URL's (an IP): the host-less /socket rule routes it.
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("hi");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    assert.equal(reply, "echo:hi");
    assert.equal(ws.protocol, "echo");
    const closed = new Promise((r) => ws.onclose = r);
    ws.close();
    await closed;
  } finally {
    client.close();
    await server.close();
    await backend.stop();
  }
});

Deno.test("a pooled connection the endpoint closed while idle is replaced, and the request still answered", async () => {
  // An endpoint that keeps connections alive by the protocol but closes each one soon after its
  // first answer (as an idle timeout does).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      (async () => {
        const buf = new Uint8Array(4096);
        let text = "";
        while (!text.includes("\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) return conn.close();
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        const body = `conn ${accepted}`;
        await conn.write(
          new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ),
        );
        setTimeout(() => conn.close(), 20);
      })().catch(() => {});
    }
  })().catch(() => {});
  const port = freePort();
  const server = new IngressServer({ hostname: "127.0.0.1", httpPort: port, httpsPort: 0 });
  const app = new RoundRobin([{ address: "127.0.0.1", port: listener.addr.port }]);
  server.update({
    routes: buildIngressRoutes([ingress]),
    backends: () => app,
    certs: { hosts: new Map(), wildcards: new Map(), version: "" },
  });
  assert.deepEqual(await server.reconcile(), []);
  const client = Deno.createHttpClient({ allowHost: true });
  try {
    for (const expected of ["conn 1", "conn 2", "conn 3"]) {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        client,
        headers: { host: "app.test" },
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), expected);
      await new Promise((r) => setTimeout(r, 100)); // the endpoint closes the pooled connection
    }
    assert.equal(accepted, 3);
  } finally {
    client.close();
    await server.close();
    listener.close();
    await serving;
  }
});

Deno.test("a request head that is not HTTP/1.1 is answered 400, one too large 431, then closed", async () => {
  const port = freePort();
  const server = new IngressServer({ hostname: "127.0.0.1", httpPort: port, httpsPort: 0 });
  server.update({
    routes: buildIngressRoutes([ingress]),
    backends: () => undefined,
    certs: { hosts: new Map(), wildcards: new Map(), version: "" },
  });
  assert.deepEqual(await server.reconcile(), []);
  const exchange = async (request: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode(request)).catch(() => 0);
      let text = "";
      const buf = new Uint8Array(4096);
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf).catch(() => null)) {
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text; // read to the end: the ingress closed the connection
    } finally {
      conn.close();
    }
  };
  try {
    const folded = await exchange("GET / HTTP/1.1\r\nHost: app.test\r\nX-Long: a\r\n b\r\n\r\n");
    assert.match(folded, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(folded, /Connection: close/);
    assert.match(await exchange("NONSENSE\r\n\r\n"), /^HTTP\/1\.1 400 Bad Request\r\n/);
    const huge = await exchange(`GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${"a".repeat(40_000)}`);
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  } finally {
    await server.close();
  }
});
