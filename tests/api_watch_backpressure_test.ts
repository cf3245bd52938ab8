/**
 * Watch streams are pull-driven (issue #11 item 8): a client that stops reading while 100,000
 * events are written costs the server a cursor, not a queue of 100,000 frames, and when it resumes
 * after the cache's history has moved past it, it gets an ERROR event with 410 Expired.
 *
 * The server (tests/fixtures/watch_server.ts) is the real watch handler on a real socket over a
 * real SQLite store and watch cache, in a child process that can measure its retained memory.
 */
import assert from "node:assert/strict";

const SERVER = new URL("./fixtures/watch_server.ts", import.meta.url).pathname;
const EVENTS = 100_000;

Deno.test("a watcher that stops reading costs a cursor; resuming too late gets 410", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-watch-bp-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", SERVER, dir, "1000"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const nextLine = async (): Promise<string> => {
    while (!pending.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) throw new Error("the watch server exited");
      pending += value;
    }
    const i = pending.indexOf("\n");
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    return line;
  };
  let conn: Deno.TcpConn | undefined;
  try {
    const [, port, rv] = (await nextLine()).split(" ");
    conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(
      new TextEncoder().encode(
        `GET /watch?watch=true&resourceVersion=${rv} HTTP/1.1\r\nHost: x\r\n\r\n`,
      ),
    );
    // Positive signal: the stream is open (headers received). Then the client stops reading.
    const buf = new Uint8Array(65536);
    const n = await conn.read(buf);
    assert.ok(n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("HTTP/1.1 200"));

    await writer.write(new TextEncoder().encode(`WRITE ${EVENTS}\n`));
    const retained = Number((await nextLine()).split(" ")[1]);
    // Queued frames would hold ~110 MB (100,000 events of ~1.1 KB); a cursor holds nothing.
    assert.ok(
      retained < 40 * 1024 * 1024,
      `the server retained ${(retained / 1048576).toFixed(1)} MiB more`,
    );

    // Resume: what the socket buffers held arrives, then a 410 (the ring moved past the cursor).
    const decoder = new TextDecoder();
    let tail = "";
    let expired = false;
    const deadline = Date.now() + 30_000;
    while (!expired && Date.now() < deadline) {
      const m = await conn.read(buf);
      if (m === null) break;
      tail = (tail + decoder.decode(buf.subarray(0, m))).slice(-4096);
      expired = /"type":"ERROR","object":\{[^\n]*"code":410/.test(tail);
    }
    assert.ok(expired, `no 410 ERROR event; the stream ended with ${tail.slice(-300)}`);
  } finally {
    conn?.close();
    await writer.write(new TextEncoder().encode("STOP\n")).catch(() => {});
    await writer.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
