/**
 * Tests for the SPDY/3.1 pieces of port-forward, using a SYN_STREAM frame captured from the real
 * kubectl 1.32 (`kubectl port-forward pod/hello 18666:8080`, first local connection). The full
 * round trip with kubectl is in tests/kubectl_wire_test.ts.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import {
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FrameType,
  HeaderCompressor,
  HeaderDecompressor,
  servePortForwardSpdy,
  SPDY_HEADER_DICTIONARY,
  SpdyFrameReader,
} from "./spdy_portforward.ts";

const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));

/** kubectl's first SYN_STREAM: stream 1, headers streamtype=error, port=8080, requestid=0. */
const KUBECTL_SYN_STREAM = hex(`
  80 03 00 01 00 00 00 3e 00 00 00 01 00 00 00 00 00 00
  78 f9 e3 c6 a7 c2 02 25 3a 70 3a 2b 29 4a 4d cc 85 16 25 ac a9 a0 80 86 14 cb 45 e0 1c
  60 61 60 61 c0 c0 c0 c0 59 04 89 c6 4c 50 f2 66 34 00 00 00 00 ff ff`);

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

Deno.test("SPDY_HEADER_DICTIONARY is the dictionary kubectl's zlib stream names", () => {
  equal(SPDY_HEADER_DICTIONARY.byteLength, 1423);
  // A zlib header with FDICT carries the dictionary's Adler-32 in bytes 2..5.
  const dictId = new DataView(KUBECTL_SYN_STREAM.buffer).getUint32(18 + 2);
  equal(adler32(SPDY_HEADER_DICTIONARY), dictId);
});

Deno.test("SpdyFrameReader reassembles frames split across WebSocket messages", () => {
  const reader = new SpdyFrameReader();
  const frames = [];
  // kubectl writes a frame in pieces (2, 2, 4, ... bytes); feed it one byte at a time.
  for (const byte of KUBECTL_SYN_STREAM) frames.push(...reader.push(new Uint8Array([byte])));
  frames.push(...reader.push(dataFrame(3, 1, new Uint8Array([9, 9]))));
  equal(frames.length, 2);
  const [syn, data] = frames;
  ok(syn.control && syn.type === FrameType.synStream && syn.data.byteLength === 62);
  deepStrictEqual(data, { control: false, streamId: 3, flags: 1, data: new Uint8Array([9, 9]) });
});

Deno.test("HeaderDecompressor reads kubectl's compressed port-forward headers", async () => {
  const decompressor = new HeaderDecompressor();
  try {
    const block = await decompressor.decompress(KUBECTL_SYN_STREAM.subarray(18));
    deepStrictEqual(decodeHeaderBlock(block), {
      streamtype: "error",
      port: "8080",
      requestid: "0",
    });
  } finally {
    decompressor.close();
  }
});

Deno.test("HeaderCompressor output is one zlib stream a SPDY reader inflates block by block", async () => {
  const compressor = new HeaderCompressor();
  const blocks = [
    encodeHeaderBlock({}),
    encodeHeaderBlock({ streamtype: "data", port: "80" }),
    encodeHeaderBlock({ big: "x".repeat(70_000) }),
  ];
  const inflate = zlib.createInflate({ dictionary: Buffer.from(SPDY_HEADER_DICTIONARY) });
  const chunks: Uint8Array[] = [];
  inflate.on("data", (c: Uint8Array) => chunks.push(c));
  try {
    for (const block of blocks) {
      inflate.write(Buffer.from(compressor.compress(block)));
      await new Promise<void>((resolve) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, resolve));
      const out = Buffer.concat(chunks.splice(0));
      deepStrictEqual(new Uint8Array(out), block);
    }
  } finally {
    inflate.close();
  }
  deepStrictEqual(decodeHeaderBlock(blocks[1]), { streamtype: "data", port: "80" });
});

/**
 * The server end of a WebSocket as servePortForwardSpdy uses it, driven directly by the test:
 * browsers' WebSocket client refuses the `SPDY/3.1+…` subprotocol name, and kubectl (which
 * does not) is the client in tests/kubectl_wire_test.ts.
 */
class TestSocket {
  readyState: number = WebSocket.OPEN;
  binaryType = "blob";
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  closeCode?: number;
  onmessage?: (e: { data: ArrayBuffer }) => void;
  onclose?: () => void;
  onerror?: () => void;

  send(frame: Uint8Array) {
    this.sent.push(frame);
  }
  close(code = 1000) {
    this.closeCode = code;
    this.readyState = WebSocket.CLOSED;
    this.onclose?.();
  }
  receive(bytes: Uint8Array) {
    this.onmessage?.({ data: bytes.slice().buffer });
  }
  /** Waits (at most ~5 s) until `n` frames have been sent or the socket closed. */
  async sentAtLeast(n: number) {
    for (let i = 0; i < 500 && this.sent.length < n && this.readyState === WebSocket.OPEN; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  /** Waits (at most ~5 s) until the session closed the socket. */
  async closed() {
    for (let i = 0; i < 500 && this.readyState === WebSocket.OPEN; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

function spdySession(connect: (port: number) => Promise<Deno.Conn>) {
  const socket = new TestSocket();
  servePortForwardSpdy(socket as unknown as WebSocket, connect);
  return socket;
}

Deno.test("servePortForwardSpdy() answers SYN_STREAM with SYN_REPLY and echoes PING", async () => {
  const socket = spdySession(() => Promise.reject(new Error("unused")));
  socket.receive(KUBECTL_SYN_STREAM);
  socket.receive(controlFrame(FrameType.ping, 0, new Uint8Array([0, 0, 0, 1])));
  await socket.sentAtLeast(2);
  socket.close();
  const [reply, ping] = new SpdyFrameReader().push(concatAll(socket.sent));
  ok(reply.control && reply.type === FrameType.synReply);
  equal(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0), 1);
  deepStrictEqual(ping, {
    control: true,
    type: FrameType.ping,
    flags: 0,
    data: new Uint8Array([0, 0, 0, 1]),
  });
});

Deno.test("servePortForwardSpdy() reports a failed connection on the error stream", async () => {
  const socket = spdySession(() => Promise.reject(new Error("connection refused")));
  const compressor = new HeaderCompressor();
  const syn = (id: number, type: string) =>
    controlFrame(
      FrameType.synStream,
      0,
      concatAll([
        new Uint8Array([0, 0, 0, id, 0, 0, 0, 0, 0, 0]),
        compressor.compress(encodeHeaderBlock({ streamtype: type, port: "8080", requestid: "7" })),
      ]),
    );
  // Our compressor's stream has no dictionary reference; a SPDY reader accepts both.
  socket.receive(syn(1, "error"));
  socket.receive(syn(3, "data"));
  // SYN_REPLY ×2, the error text, then FIN on the data and error streams.
  await socket.sentAtLeast(5);
  socket.close();
  const frames = new SpdyFrameReader().push(concatAll(socket.sent));
  const data = frames.filter((f) => !f.control);
  deepStrictEqual(
    data.map((f) => [f.streamId, f.flags, new TextDecoder().decode(f.data)]),
    [
      [1, 0, "error forwarding port 8080: connection refused"],
      [3, 1, ""],
      [1, 1, ""],
    ],
  );
});

Deno.test("servePortForwardSpdy() closes the tunnel on malformed SPDY input", async () => {
  const socket = spdySession(() => Promise.reject(new Error("unused")));
  socket.receive(hex("80 02 00 01 00 00 00 00")); // a control frame of SPDY version 2
  await socket.closed();
  equal(socket.closeCode, 1002);
});

function concatAll(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
