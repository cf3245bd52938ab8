import assert from "node:assert/strict";
import { BufferedConn, latin1 } from "./http1_conn.ts";
import { readAll } from "./_test_backends.ts";

/** A connected TCP pair on loopback: what one side writes, the other reads. */
async function pair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  return [a, b];
}

/** Closes each connection not closed yet. */
function closeAll(...conns: Deno.Conn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

Deno.test("latin1() writes one byte per character, ASCII or not", () => {
  assert.deepEqual([...latin1("GET / HTTP/1.1\r\n")], [
    ...new TextEncoder().encode("GET / HTTP/1.1\r\n"),
  ]);
  assert.deepEqual([...latin1("X: caf\u00e9!")], [88, 58, 32, 99, 97, 102, 0xe9, 33]);
  assert.deepEqual([...latin1("\u00ff")], [0xff]);
});

Deno.test("a head put back with unreadHead() is copied on byte for byte with its body", async () => {
  const [writer, reader] = await pair();
  const [sink, out] = await pair();
  try {
    const message = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-odd:  spaced \u00e9\r\n\r\nhello";
    await writer.write(latin1(message));
    const conn = new BufferedConn(reader);
    const head = (await conn.readHead())!;
    assert.equal(head.byteLength, message.length - 5);
    assert.deepEqual(head.headers[1], ["x-odd", "spaced \u00e9"]);
    assert.ok(conn.unreadHead(head));
    assert.ok(!conn.unreadHead(head), "only once");
    await conn.copyN(sink, head.byteLength + 5);
    sink.close();
    assert.deepEqual([...await readAll(out)], [...latin1(message)]);
  } finally {
    closeAll(writer, reader, out);
  }
});

Deno.test("unreadHead() refuses once anything after the head was read or consumed", async () => {
  const [writer, reader] = await pair();
  const [sink, out] = await pair();
  try {
    const one = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi";
    await writer.write(latin1(one + one));
    const conn = new BufferedConn(reader);
    const first = (await conn.readHead())!;
    await conn.copyN(sink, 2);
    assert.ok(!conn.unreadHead(first), "its body was consumed");
    const second = (await conn.readHead())!;
    assert.ok(!conn.unreadHead(first), "a later head was read");
    assert.ok(conn.unreadHead(second));
  } finally {
    closeAll(writer, reader, sink, out);
  }
});

Deno.test("a byte-piece prefix is sent intact when the body arrives after the head", async () => {
  const [writer, reader] = await pair();
  const [sink, out] = await pair();
  try {
    await writer.write(latin1("POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\n"));
    const conn = new BufferedConn(reader);
    const head = (await conn.readHead())!;
    // The prefix views the connection's buffer; the body's read reuses that buffer.
    const pieces = [head.bytesWithoutEnd()!, latin1("X-Added: 1\r\n\r\n")];
    const copied = conn.copyN(sink, 5, pieces);
    await new Promise((r) => setTimeout(r, 20));
    await writer.write(latin1("hello"));
    await copied;
    sink.close();
    assert.equal(
      new TextDecoder().decode(await readAll(out)),
      "POST /p HTTP/1.1\r\nContent-Length: 5\r\nX-Added: 1\r\n\r\nhello",
    );
  } finally {
    closeAll(writer, reader, out);
  }
});

Deno.test("takeHead() waits for the whole head across reads; take() only hands out what is here", async () => {
  const [writer, reader] = await pair();
  try {
    const conn = new BufferedConn(reader);
    assert.equal(conn.takeHead(), undefined);
    await writer.write(latin1("HTTP/1.1 200 OK\r\nContent-Le"));
    assert.ok(conn.filled(await conn.read()));
    assert.equal(conn.takeHead(), undefined, "half a head");
    await writer.write(latin1("ngth: 5\r\n\r\nhel"));
    assert.ok(conn.filled(await conn.read()));
    const head = conn.takeHead();
    assert.equal(head?.get("content-length"), "5");
    assert.equal(conn.take(5), undefined, "3 of 5 body bytes here");
    await writer.write(latin1("lo"));
    assert.ok(conn.filled(await conn.read()));
    assert.equal(new TextDecoder().decode(conn.take(5)), "hello");
    assert.equal(conn.buffered, 0);
    writer.close();
    assert.ok(!conn.filled(await conn.read()), "end of stream");
    assert.equal(conn.endedBeforeHead(), undefined, "cleanly, between messages");
  } finally {
    reader.close();
  }
});
