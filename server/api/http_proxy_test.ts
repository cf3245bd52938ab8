/**
 * Tests for the proxy subresources' reverse proxy against backends on loopback: a raw TCP one
 * that records the exact request bytes and answers canned bytes, and Deno.serve for WebSocket.
 * The end-to-end run through kubectl is tests/kubectl_proxy_test.ts.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { ServiceUnavailableError } from "../../shared/errors.ts";
import { cleanProxyPath, proxyRequest, rewriteUrl } from "./http_proxy.ts";
import { rewriteHtml } from "./html_rewriter.ts";
import type { ProxyLocation } from "./proxy_location.ts";
import { ensurePki } from "../pki.ts";

const API = "https://127.0.0.1:6443";
const PREFIX = "/api/v1/namespaces/default/pods/web:8080/proxy";

/** A raw HTTP/1.1 backend: records each request (head and body) and answers `respond()`. */
function rawBackend(respond: (head: string, body: Uint8Array) => Uint8Array | string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: { head: string; body: Uint8Array }[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const { head, body } = await readRequest(conn);
      requests.push({ head, body });
      const answer = respond(head, body);
      await conn.write(typeof answer === "string" ? new TextEncoder().encode(answer) : answer)
        .catch(() => {});
      conn.close();
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const location: ProxyLocation = {
    scheme: "http",
    hostname: "127.0.0.1",
    port,
    authority: `127.0.0.1:${port}`,
  };
  return {
    location,
    requests,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

/** Reads one request: head, then a Content-Length or chunked body. */
async function readRequest(conn: Deno.Conn): Promise<{ head: string; body: Uint8Array }> {
  let buf = new Uint8Array(0);
  const more = async () => {
    const b = new Uint8Array(65536);
    const n = await conn.read(b);
    if (n === null) return false;
    const joined = new Uint8Array(buf.length + n);
    joined.set(buf);
    joined.set(b.subarray(0, n), buf.length);
    buf = joined;
    return true;
  };
  const text = () => new TextDecoder().decode(buf);
  while (!text().includes("\r\n\r\n")) if (!(await more())) break;
  const headEnd = text().indexOf("\r\n\r\n");
  const head = text().slice(0, headEnd);
  const rest = () => buf.subarray(headEnd + 4);
  const length = /\r\ncontent-length: (\d+)/i.exec(head);
  if (length) {
    while (rest().length < Number(length[1])) if (!(await more())) break;
    return { head, body: rest().slice() };
  }
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    while (!new TextDecoder().decode(rest()).endsWith("0\r\n\r\n")) if (!(await more())) break;
    return { head, body: rest().slice() };
  }
  return { head, body: new Uint8Array(0) };
}

const OK = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

Deno.test("proxyRequest() sends the path, query and headers kube-apiserver's proxy sends", async () => {
  const backend = rawBackend(() => OK);
  try {
    const req = new Request(`${API}${PREFIX}/metrics/a%20b/?x=1&y=%2F`, {
      headers: {
        host: "127.0.0.1:6443",
        authorization: "Bearer admin-secret",
        "impersonate-user": "alice",
        "impersonate-extra-scopes": "view",
        connection: "keep-alive, x-hop",
        "x-hop": "dropped",
        "keep-alive": "timeout=5",
        te: "trailers",
        "x-forwarded-for": "192.0.2.1",
        "x-forwarded-uri": "/spoofed",
        accept: "text/plain",
        cookie: "session=1",
      },
    });
    const res = await proxyRequest(req, {
      location: backend.location,
      proxyPath: "/metrics/a%20b/",
      clientAddress: "198.51.100.7",
    });
    equal(res.status, 200);
    equal(await res.text(), "ok");
    const lines = backend.requests[0].head.split("\r\n");
    equal(lines[0], "GET /metrics/a%20b/?x=1&y=%2F HTTP/1.1");
    deepEqual(lines.slice(1).sort(), [
      "Connection: close",
      "accept: text/plain",
      "cookie: session=1",
      "host: 127.0.0.1:6443",
      "x-forwarded-for: 192.0.2.1, 198.51.100.7",
      `x-forwarded-uri: ${PREFIX}/metrics/a%20b/`,
    ]);
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() streams a POST body with its Content-Length, or chunked", async () => {
  const backend = rawBackend((_head, body) =>
    `HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n${
      new TextDecoder().decode(body)
    }`
  );
  try {
    const sized = await proxyRequest(
      new Request(`${API}${PREFIX}/submit`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": "11" },
        body: '{"hello":1}',
      }),
      { location: backend.location, proxyPath: "/submit" },
    );
    equal(sized.status, 201);
    equal(await sized.text(), '{"hello":1}');
    match(backend.requests[0].head, /\r\nContent-Length: 11(\r\n|$)/);
    equal(/transfer-encoding/i.test(backend.requests[0].head), false);

    const streamed = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(new TextEncoder().encode("part1,"));
        ctrl.enqueue(new TextEncoder().encode("part2"));
        ctrl.close();
      },
    });
    const chunked = await proxyRequest(
      new Request(`${API}${PREFIX}/submit`, { method: "PUT", body: streamed }),
      { location: backend.location, proxyPath: "/submit" },
    );
    await chunked.body?.cancel();
    match(backend.requests[1].head, /^PUT \/submit HTTP\/1\.1\r\n/);
    match(backend.requests[1].head, /\r\nTransfer-Encoding: chunked/);
    equal(
      new TextDecoder().decode(backend.requests[1].body),
      "6\r\npart1,\r\n5\r\npart2\r\n0\r\n\r\n",
    );

    const empty = await proxyRequest(new Request(`${API}${PREFIX}/x`, { method: "DELETE" }), {
      location: backend.location,
      proxyPath: "/x",
    });
    await empty.body?.cancel();
    match(backend.requests[2].head, /^DELETE \/x HTTP\/1\.1\r\n/);
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() passes the response on: encoded body, cookies; CORS and hop-by-hop dropped", async () => {
  const gzipped = new Uint8Array(
    await new Response(
      new Blob(["compressed text"]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n" +
    `Content-Length: ${gzipped.length}\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n` +
    "Access-Control-Allow-Origin: *\r\nKeep-Alive: timeout=5\r\nConnection: x-private\r\n" +
    "X-Private: no\r\nX-Custom: yes\r\n\r\n";
  const backend = rawBackend(() => new Uint8Array([...new TextEncoder().encode(head), ...gzipped]));
  try {
    const res = await proxyRequest(new Request(`${API}${PREFIX}/`), {
      location: backend.location,
      proxyPath: "/",
    });
    equal(res.headers.get("content-encoding"), "gzip");
    equal(res.headers.get("content-length"), String(gzipped.length));
    deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
    equal(res.headers.get("x-custom"), "yes");
    for (
      const dropped of ["access-control-allow-origin", "keep-alive", "connection", "x-private"]
    ) {
      equal(res.headers.has(dropped), false, dropped);
    }
    deepEqual(new Uint8Array(await res.arrayBuffer()), gzipped);
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() decodes a chunked response and answers HEAD without a body", async () => {
  const backend = rawBackend((head) =>
    head.startsWith("HEAD")
      ? "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
      : "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
  );
  try {
    const res = await proxyRequest(new Request(`${API}${PREFIX}/c`), {
      location: backend.location,
      proxyPath: "/c",
    });
    equal(await res.text(), "hello, world");
    equal(res.headers.has("transfer-encoding"), false);
    const head = await proxyRequest(new Request(`${API}${PREFIX}/c`, { method: "HEAD" }), {
      location: backend.location,
      proxyPath: "/c",
    });
    equal(head.status, 200);
    equal(head.body, null);
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() rewrites a redirect on the backend's host under the proxy path", async () => {
  const backend = rawBackend((head) => {
    const to = head.includes("/other") ? "http://example.com/x" : "/login?next=%2F";
    return `HTTP/1.1 302 Found\r\nLocation: ${to}\r\nContent-Length: 0\r\n\r\n`;
  });
  try {
    const res = await proxyRequest(new Request(`${API}${PREFIX}/admin`), {
      location: backend.location,
      proxyPath: "/admin",
    });
    equal(res.status, 302);
    equal(res.headers.get("location"), `${PREFIX}/login?next=%2F`);
    const other = await proxyRequest(new Request(`${API}${PREFIX}/other`), {
      location: backend.location,
      proxyPath: "/other",
    });
    equal(other.headers.get("location"), "http://example.com/x");
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() rewrites the links of an HTML page", async () => {
  const page = '<html><a href="/graph">g</a><img src=rel.png><script src="/app.js"></script>' +
    '<script>var s = "<a href=\\"/no\\">";</script></html>';
  const backend = rawBackend(() =>
    `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\n\r\n${page}`
  );
  try {
    const res = await proxyRequest(new Request(`${API}${PREFIX}/`), {
      location: backend.location,
      proxyPath: "/",
    });
    equal(res.headers.has("content-length"), false);
    equal(
      await res.text(),
      `<html><a href="${PREFIX}/graph">g</a><img src=rel.png><script src="${PREFIX}/app.js"></script>` +
        '<script>var s = "<a href=\\"/no\\">";</script></html>',
    );
  } finally {
    await backend.close();
  }
});

Deno.test("proxyRequest() redirects the bare proxy path to the one with a slash", async () => {
  const res = await proxyRequest(new Request(`${API}${PREFIX}?a=1`), {
    location: { scheme: "http", hostname: "127.0.0.1", port: 9, authority: "127.0.0.1:9" },
    proxyPath: "",
  });
  equal(res.status, 301);
  equal(res.headers.get("location"), `${PREFIX}/?a=1`);
});

Deno.test("proxyRequest() answers 503 when the backend cannot be reached", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await rejects(
    proxyRequest(new Request(`${API}${PREFIX}/`), {
      location: { scheme: "http", hostname: "127.0.0.1", port, authority: `127.0.0.1:${port}` },
      proxyPath: "/",
    }),
    (err: unknown) => {
      ok(err instanceof ServiceUnavailableError);
      equal(
        err.message,
        `error trying to reach service: dial tcp 127.0.0.1:${port}: connect: connection refused`,
      );
      return true;
    },
  );
  // A backend that does not speak HTTP.
  const garbage = rawBackend(() => "SSH-2.0-OpenSSH\r\n\r\n");
  try {
    await rejects(
      proxyRequest(new Request(`${API}${PREFIX}/`), { location: garbage.location, proxyPath: "/" }),
      /error trying to reach service: malformed HTTP response "SSH-2.0-OpenSSH"/,
    );
  } finally {
    await garbage.close();
  }
});

Deno.test("proxyRequest() relays a WebSocket to the backend", async () => {
  const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(`echo ${e.data} ${new URL(req.url).pathname}`);
    return response;
  });
  const location: ProxyLocation = {
    scheme: "http",
    hostname: "127.0.0.1",
    port: backend.addr.port,
    authority: `127.0.0.1:${backend.addr.port}`,
  };
  const front = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => proxyRequest(req, { location, proxyPath: "/ws" }),
  );
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${front.addr.port}${PREFIX}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("hi");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    equal(reply, "echo hi /ws");
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;
  } finally {
    await front.shutdown();
    await backend.shutdown();
  }
});

Deno.test("cleanProxyPath() resolves dot segments, keeps a trailing slash, escapes as Go", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["/", "/"],
    ["/metrics", "/metrics"],
    ["/a/b/", "/a/b/"],
    ["/a//b", "/a/b"],
    ["/a/./b/../c", "/a/c"],
    ["/../../etc/passwd", "/etc/passwd"],
    ["/a%2Fb", "/a/b"],
    ["/%2e%2e/x", "/x"],
    ["/a%20b/c:d@e$f", "/a%20b/c:d@e$f"],
    ["/q%3Fx", "/q%3Fx"],
    ["/caf%C3%A9", "/caf%C3%A9"],
  ];
  for (const [raw, clean] of cases) equal(cleanProxyPath(raw), clean, raw);
});

Deno.test("rewriteUrl() moves absolute paths on the backend's or no host under the proxy", () => {
  const options = {
    pathPrepend: PREFIX,
    backendAuthority: "10.42.0.7:8080",
    requestHost: "127.0.0.1:8001",
  };
  const cases: [string, string][] = [
    ["/login", `${PREFIX}/login`],
    ["/login/?a=b#top", `${PREFIX}/login/?a=b#top`],
    ["http://10.42.0.7:8080/x", `${PREFIX}/x`],
    ["http://127.0.0.1:8001/x", `http://127.0.0.1:8001${PREFIX}/x`],
    ["//10.42.0.7:8080/x", `${PREFIX}/x`],
    [`${PREFIX}/already`, `${PREFIX}/already`],
    ["relative/path", "relative/path"],
    ["http://example.com/x", "http://example.com/x"],
    ["mailto:someone@example.com", "mailto:someone@example.com"],
  ];
  for (const [from, to] of cases) equal(rewriteUrl(from, options), to, from);
});

Deno.test("rewriteHtml() rewrites URL attributes only, in markup only", () => {
  const rewrite = (u: string) => u.startsWith("/") ? `/P${u}` : u;
  equal(
    rewriteHtml(
      `<!DOCTYPE html><!-- <a href="/c"> --><A HREF='/x' title="/t">` +
        `<form action=/f method=post><link rel=stylesheet href="/s.css"/>` +
        `<style>a{background:url(/bg)}</style><textarea><a href="/in-text"></textarea>` +
        `<div data-src="/d">1 < 2</div><a href="rel">`,
      rewrite,
    ),
    `<!DOCTYPE html><!-- <a href="/c"> --><A HREF='/P/x' title="/t">` +
      `<form action=/P/f method=post><link rel=stylesheet href="/P/s.css"/>` +
      `<style>a{background:url(/bg)}</style><textarea><a href="/in-text"></textarea>` +
      `<div data-src="/d">1 < 2</div><a href="rel">`,
  );
});

Deno.test("proxyRequest() reaches an https backend without verifying its certificate", async () => {
  // A certificate from a CA nobody trusts, for a name that is not the address dialled: as
  // kube-apiserver (InsecureSkipVerify), the proxy takes it.
  const dir = await Deno.makeTempDir();
  const { certPem, keyPem } = await ensurePki(dir, ["pod.invalid"]);
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: certPem, key: keyPem, onListen: () => {} },
    (req) => new Response(`tls ${new URL(req.url).pathname}`),
  );
  try {
    const port = backend.addr.port;
    const res = await proxyRequest(new Request(`${API}${PREFIX}/secure`), {
      location: { scheme: "https", hostname: "127.0.0.1", port, authority: `127.0.0.1:${port}` },
      proxyPath: "/secure",
    });
    equal(res.status, 200);
    equal(await res.text(), "tls /secure");
  } finally {
    await backend.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxyRequest() sends an upgrade other than WebSocket on as a plain request", async () => {
  const backend = rawBackend(() => OK);
  try {
    const res = await proxyRequest(
      new Request(`${API}${PREFIX}/h2`, {
        headers: {
          host: "127.0.0.1:6443",
          connection: "Upgrade, HTTP2-Settings",
          upgrade: "h2c",
          "http2-settings": "AAMAAABkAAQAoAAAAAIAAAAA",
        },
      }),
      { location: backend.location, proxyPath: "/h2" },
    );
    equal(await res.text(), "ok");
    const head = backend.requests[0].head.toLowerCase();
    match(head, /^get \/h2 http\/1\.1\r\n/);
    equal(/\r\n(upgrade|http2-settings):/.test(head), false, head);
    match(head, /\r\nconnection: close(\r\n|$)/);
  } finally {
    await backend.close();
  }
});
