/**
 * Tests for the WebSocket channel protocol, with a real WebSocket client against a real server
 * on 127.0.0.1 (kubectl itself is exercised in tests/kubectl_wire_test.ts).
 */
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { BadRequestError } from "../errors.ts";
import {
  Channel,
  decodeFrame,
  encodeFrame,
  execExitStatus,
  type ExecIO,
  parseExecOptions,
  serveExecWebSocket,
  type TerminalSize,
} from "./websocket_channels.ts";
import { servePortForwardWebSocket } from "./websocket_portforward.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("encodeFrame() and decodeFrame() put the channel in the first byte", () => {
  deepStrictEqual([...encodeFrame(Channel.stdout, "hi")], [1, 104, 105]);
  deepStrictEqual([...encodeFrame(Channel.close, new Uint8Array([0]))], [255, 0]);
  const frame = decodeFrame(new Uint8Array([2, 7, 8]));
  equal(frame?.channel, 2);
  deepStrictEqual([...frame!.payload], [7, 8]);
  equal(decodeFrame(new Uint8Array()), undefined);
});

Deno.test("execExitStatus() gives Success, or NonZeroExitCode with the code as the cause", () => {
  deepStrictEqual(execExitStatus(0), { metadata: {}, status: "Success" });
  const failure = execExitStatus(3);
  equal(failure.status, "Failure");
  equal(failure.reason, "NonZeroExitCode");
  deepStrictEqual(failure.details, { causes: [{ reason: "ExitCode", message: "3" }] });
});

Deno.test("parseExecOptions() reads kubectl's exec query", () => {
  const url = new URL(
    "http://x/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=echo%20hi&container=c&stdin=true&stdout=true&tty=1",
  );
  deepStrictEqual(parseExecOptions(url), {
    command: ["sh", "-c", "echo hi"],
    container: "c",
    stdin: true,
    stdout: true,
    stderr: false,
    tty: true,
  });
});

Deno.test("serveExecWebSocket() refuses plain requests and unknown subprotocols", () => {
  throws(
    () => serveExecWebSocket(new Request("http://x/exec"), () => Promise.resolve({ exitCode: 0 })),
    BadRequestError,
  );
  const req = new Request("http://x/exec", {
    headers: { upgrade: "websocket", "sec-websocket-protocol": "v3.channel.k8s.io" },
  });
  throws(
    () => serveExecWebSocket(req, () => Promise.resolve({ exitCode: 0 })),
    /unsupported exec subprotocols/,
  );
});

/** Serves one handler on 127.0.0.1 for the duration of `fn`. */
async function withServer(
  handler: (req: Request) => Response,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`ws://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

interface Session {
  socket: WebSocket;
  frames: { channel: number; text: string; bytes: number[] }[];
  closed: Promise<CloseEvent>;
  opened: Promise<void>;
}

function open(url: string, protocols: string[]): Session {
  const socket = new WebSocket(url, protocols);
  socket.binaryType = "arraybuffer";
  const frames: Session["frames"] = [];
  socket.onmessage = (e) => {
    const frame = decodeFrame(new Uint8Array(e.data as ArrayBuffer))!;
    frames.push({
      channel: frame.channel,
      text: dec.decode(frame.payload),
      bytes: [...frame.payload],
    });
  };
  const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
  const opened = new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = (e) => reject(new Error(`websocket error: ${(e as ErrorEvent).message}`));
  });
  return { socket, frames, closed, opened };
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("serveExecWebSocket() runs the command and ends with the exit status (v5)", async () => {
  const sizes: TerminalSize[] = [];
  let got = "";
  const run = async (io: ExecIO) => {
    equal(io.protocol, "v5.channel.k8s.io");
    const sizesDone = (async () => {
      for await (const size of io.resize) sizes.push(size);
    })();
    got = await readText(io.stdin);
    const out = io.stdout.getWriter();
    await out.write(enc.encode(`got ${got.length} bytes`));
    out.releaseLock();
    const err = io.stderr.getWriter();
    await err.write(enc.encode("warning"));
    err.releaseLock();
    await sizesDone;
    return { exitCode: 7 };
  };
  await withServer((req) => serveExecWebSocket(req, run), async (url) => {
    const s = open(url, ["v5.channel.k8s.io"]);
    await s.opened;
    equal(s.socket.protocol, "v5.channel.k8s.io");
    s.socket.send(encodeFrame(Channel.resize, JSON.stringify({ Width: 120, Height: 40 })));
    s.socket.send(encodeFrame(Channel.stdin, "hello "));
    s.socket.send(encodeFrame(Channel.stdin, "world"));
    s.socket.send(encodeFrame(Channel.close, new Uint8Array([Channel.resize])));
    s.socket.send(encodeFrame(Channel.close, new Uint8Array([Channel.stdin])));
    const closeEvent = await s.closed;
    equal(closeEvent.code, 1000);
    equal(got, "hello world");
    deepStrictEqual(sizes, [{ width: 120, height: 40 }]);
    deepStrictEqual(s.frames.slice(0, 2).map((f) => [f.channel, f.text]), [
      [1, "got 11 bytes"],
      [2, "warning"],
    ]);
    const status = JSON.parse(s.frames[2].text);
    equal(s.frames[2].channel, Channel.error);
    equal(status.reason, "NonZeroExitCode");
    deepStrictEqual(status.details.causes, [{ reason: "ExitCode", message: "7" }]);
  });
});

Deno.test("serveExecWebSocket() speaks v4 to clients that offer only v4", async () => {
  await withServer(
    (req) => serveExecWebSocket(req, () => Promise.resolve({ exitCode: 0 })),
    async (url) => {
      const s = open(url, ["v4.channel.k8s.io"]);
      await s.opened;
      equal(s.socket.protocol, "v4.channel.k8s.io");
      await s.closed;
      deepStrictEqual(s.frames.map((f) => [f.channel, f.text]), [
        [3, '{"metadata":{},"status":"Success"}'],
      ]);
    },
  );
});

Deno.test("serveExecWebSocket() reports a run that throws as a Failure status", async () => {
  await withServer(
    (req) => serveExecWebSocket(req, () => Promise.reject(new Error("container not running"))),
    async (url) => {
      const s = open(url, ["v5.channel.k8s.io"]);
      await s.closed;
      const status = JSON.parse(s.frames[0].text);
      deepStrictEqual([status.status, status.message], ["Failure", "container not running"]);
    },
  );
});

Deno.test("serveExecWebSocket() aborts the run's signal when the client leaves", async () => {
  let aborted!: () => void;
  const abortSeen = new Promise<void>((resolve) => (aborted = resolve));
  const run = async (io: ExecIO) => {
    await new Promise<void>((resolve) => io.signal.addEventListener("abort", () => resolve()));
    aborted();
    // stdin ends as well, and writing after the client left is harmless.
    equal(await readText(io.stdin), "");
    const out = io.stdout.getWriter();
    await out.write(enc.encode("late"));
    out.releaseLock();
    return { exitCode: 0 };
  };
  await withServer((req) => serveExecWebSocket(req, run), async (url) => {
    const s = open(url, ["v5.channel.k8s.io"]);
    await s.opened;
    s.socket.close();
    await s.closed;
    await abortSeen;
  });
});

/** A TCP echo server; connections end at the client's EOF. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conns: Promise<void>[] = [];
    for await (const conn of listener) {
      conns.push(conn.readable.pipeTo(conn.writable).catch(() => {}));
    }
    await Promise.all(conns);
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await done;
    },
  };
}

Deno.test("servePortForwardWebSocket() forwards per-port data/error channel pairs", async () => {
  const echo = echoServer();
  const asked: number[] = [];
  const connect = (port: number) => {
    asked.push(port);
    if (port === 9999) return Promise.reject(new Error("connection refused"));
    return Deno.connect({ hostname: "127.0.0.1", port: echo.port });
  };
  try {
    await withServer((req) => servePortForwardWebSocket(req, connect), async (url) => {
      const s = open(`${url}/portforward?ports=8080,9999`, ["v4.channel.k8s.io"]);
      await s.opened;
      equal(s.socket.protocol, "v4.channel.k8s.io");
      s.socket.send(encodeFrame(0, "ping"));
      // Wait (bounded) for the echo and for port 9999's error before closing.
      const seen = () =>
        s.frames.some((f) => f.channel === 0 && f.text === "ping") &&
        s.frames.some((f) => f.channel === 3 && f.bytes.length > 2);
      for (let i = 0; i < 500 && !seen(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      s.socket.close();
      await s.closed;
      const le = (port: number) => [port & 0xff, port >> 8];
      deepStrictEqual(s.frames.slice(0, 4).map((f) => [f.channel, f.bytes]), [
        [0, le(8080)],
        [1, le(8080)],
        [2, le(9999)],
        [3, le(9999)],
      ]);
      ok(
        s.frames.some((f) =>
          f.channel === 3 && /error forwarding port 9999: connection refused/.test(f.text)
        ),
      );
      deepStrictEqual(asked, [8080, 9999]);
    });
  } finally {
    await echo.close();
  }
});

Deno.test("servePortForwardWebSocket() requires valid ports for the channel protocol", () => {
  const req = (query: string) =>
    new Request(`http://x/portforward${query}`, {
      headers: { upgrade: "websocket", "sec-websocket-protocol": "portforward.k8s.io" },
    });
  const connect = () => Promise.reject(new Error("unused"));
  throws(() => servePortForwardWebSocket(req(""), connect), /"ports" is required/);
  throws(() => servePortForwardWebSocket(req("?ports=0"), connect), /invalid port "0"/);
  throws(() => servePortForwardWebSocket(req("?ports=http"), connect), /invalid port "http"/);
});
