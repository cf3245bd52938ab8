/**
 * The server side of `kubectl port-forward`: SPDY/3.1 tunnelled through a WebSocket
 * (subprotocol `SPDY/3.1+portforward.k8s.io`, kubectl 1.30+). The WebSocket's binary messages
 * are a plain byte stream of SPDY frames. For every local connection kubectl opens two SPDY
 * streams carrying the headers `streamtype` (`error` | `data`), `port` and `requestid`; we reply
 * to each, connect to the port, copy bytes both ways on the data stream, and end the error
 * stream (with a message if forwarding failed) when the connection is done — which is what
 * kubectl waits for before it forgets the connection.
 *
 * Only what port-forward needs of SPDY/3.1 is implemented: SYN_STREAM, SYN_REPLY, DATA (with
 * FIN), RST_STREAM, PING and GOAWAY. SPDY flow control is not enforced (kubectl's SPDY library
 * never sends WINDOW_UPDATE either).
 */
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import { type Logger, silentLogger } from "../log.ts";

/** The WebSocket subprotocol kubectl offers for port-forward. */
export const SPDY_PORT_FORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
/**
 * The same protocol under a name Deno's WebSocket client accepts (an HTTP token: no `/`), for a
 * hop between Skiff processes: the server relays kubectl's tunnel to the agent under it.
 */
export const SPDY_PORT_FORWARD_PROTOCOL_ALIAS = "SPDY-3.1+portforward.k8s.io";

const SPDY_VERSION = 3;
/** Control frame types (SPDY/3 §2.6). */
export const FrameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes we send. */
const RST_PROTOCOL_ERROR = 1;
const RST_REFUSED_STREAM = 3;

/** Largest DATA payload we send in one frame. */
const MAX_DATA_CHUNK = 32 * 1024;
/** A frame longer than this is refused (SPDY allows 2^24-1; port-forward frames are small). */
const MAX_FRAME_LENGTH = 1 << 24;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The zlib dictionary SPDY/3 header blocks are compressed against (SPDY/3 draft §2.6.10.1): the
 * common header names, each prefixed by its 4-byte length, then a run of common values.
 */
export const SPDY_HEADER_DICTIONARY: Uint8Array = (() => {
  const names = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
  ];
  const values =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417" +
    "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently" +
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error" +
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec" +
    " 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg," +
    "image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,public" +
    "privatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
  const parts = names.map((name) => concat([uint32(name.length), encoder.encode(name)]));
  return concat([...parts, encoder.encode(values)]);
})();

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** A parsed SPDY frame. */
export type SpdyFrame =
  | { control: true; type: number; flags: number; data: Uint8Array }
  | { control: false; streamId: number; flags: number; data: Uint8Array };

/** Splits a byte stream into SPDY frames; feed it chunks as they arrive. */
export class SpdyFrameReader {
  #buffer: Uint8Array = new Uint8Array();

  /** Appends bytes and returns every frame now complete. */
  push(chunk: Uint8Array): SpdyFrame[] {
    this.#buffer = this.#buffer.byteLength ? concat([this.#buffer, chunk]) : chunk.slice();
    const frames: SpdyFrame[] = [];
    while (this.#buffer.byteLength >= 8) {
      const b = this.#buffer;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const length = view.getUint32(4) & 0xffffff;
      if (length >= MAX_FRAME_LENGTH) throw new Error(`SPDY frame of ${length} bytes is too long`);
      if (b.byteLength < 8 + length) break;
      const flags = b[4];
      const data = b.slice(8, 8 + length);
      if (b[0] & 0x80) {
        const version = view.getUint16(0) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ control: true, type: view.getUint16(2), flags, data });
      } else {
        frames.push({ control: false, streamId: view.getUint32(0) & 0x7fffffff, flags, data });
      }
      this.#buffer = b.subarray(8 + length);
    }
    return frames;
  }
}

/** Encodes a control frame. */
export function controlFrame(type: number, flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x8000 | SPDY_VERSION);
  view.setUint16(2, type);
  view.setUint32(4, (flags << 24) | data.byteLength);
  out.set(data, 8);
  return out;
}

/** Encodes a DATA frame. */
export function dataFrame(streamId: number, flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, streamId & 0x7fffffff);
  view.setUint32(4, (flags << 24) | data.byteLength);
  out.set(data, 8);
  return out;
}

/** Serializes a header block (before compression): count, then length-prefixed names/values. */
export function encodeHeaderBlock(headers: Record<string, string>): Uint8Array {
  const entries = Object.entries(headers);
  const parts: Uint8Array[] = [uint32(entries.length)];
  for (const [name, value] of entries) {
    const n = encoder.encode(name.toLowerCase());
    const v = encoder.encode(value);
    parts.push(uint32(n.byteLength), n, uint32(v.byteLength), v);
  }
  return concat(parts);
}

/** Parses an uncompressed header block; multiple values of one name (NUL-separated) keep the first. */
export function decodeHeaderBlock(block: Uint8Array): Record<string, string> {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  let offset = 0;
  const read = () => {
    if (offset + 4 > block.byteLength) throw new Error("truncated SPDY header block");
    const length = view.getUint32(offset);
    offset += 4;
    if (offset + length > block.byteLength) throw new Error("truncated SPDY header block");
    const text = decoder.decode(block.subarray(offset, offset + length));
    offset += length;
    return text;
  };
  const count = block.byteLength >= 4 ? view.getUint32(0) : 0;
  offset = 4;
  const headers: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const name = read().toLowerCase();
    headers[name] = read().split("\0")[0];
  }
  return headers;
}

/**
 * Compresses header blocks for one session's zlib stream. We never need compression, so each
 * block is a stored (uncompressed) deflate block followed by an empty one — the "sync flush"
 * marker that tells the reader the block is complete — after a zlib header on the first block.
 */
export class HeaderCompressor {
  #started = false;

  /** The compressed form of one header block. */
  compress(block: Uint8Array): Uint8Array {
    const parts: Uint8Array[] = [];
    if (!this.#started) parts.push(new Uint8Array([0x78, 0x01]));
    this.#started = true;
    let offset = 0;
    do {
      const piece = block.subarray(offset, offset + 0xffff);
      parts.push(storedBlockHeader(piece.byteLength), piece);
      offset += 0xffff;
    } while (offset < block.byteLength);
    parts.push(storedBlockHeader(0));
    return concat(parts);
  }
}

function storedBlockHeader(length: number): Uint8Array {
  // BFINAL=0, BTYPE=00, then LEN and its one's complement, little-endian.
  return new Uint8Array([0x00, length & 0xff, length >> 8, ~length & 0xff, (~length >> 8) & 0xff]);
}

/** Decompresses the header blocks of one session: a single zlib stream with the SPDY dictionary. */
export class HeaderDecompressor {
  #inflate = zlib.createInflate({ dictionary: Buffer.from(SPDY_HEADER_DICTIONARY) });
  #chunks: Uint8Array[] = [];
  #error: Error | undefined;

  constructor() {
    this.#inflate.on("data", (chunk: Uint8Array) => this.#chunks.push(chunk));
    this.#inflate.on("error", (err: Error) => (this.#error = err));
  }

  /** Inflates one compressed header block (the sender sync-flushes after each). */
  decompress(compressed: Uint8Array): Promise<Uint8Array> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#inflate.write(Buffer.from(compressed));
      this.#inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.#error) return reject(this.#error);
        const out = concat(this.#chunks);
        this.#chunks = [];
        resolve(out);
      });
    });
  }

  /** Releases the zlib stream. */
  close(): void {
    this.#inflate.close();
  }
}

/** One forwarded connection: kubectl's error and data streams for one `requestid`. */
interface ForwardRequest {
  id: string;
  port: number;
  errorStream?: number;
  dataStream?: number;
  conn?: Promise<Deno.Conn | undefined>;
  /** Writes to the connection, chained so that frames arrive in order. */
  writes: Promise<unknown>;
  /** Both streams have been ended; later frames for them are dropped. */
  finished?: boolean;
}

/** Options for {@linkcode servePortForwardSpdy}. */
export interface SpdyPortForwardOptions {
  logger?: Logger;
}

/**
 * Serves SPDY port-forwarding on an upgraded WebSocket (from `Deno.upgradeWebSocket` with
 * {@linkcode SPDY_PORT_FORWARD_PROTOCOL}) until the client closes it; every connection made by
 * `connect` is closed when the socket closes.
 */
export function servePortForwardSpdy(
  socket: WebSocket,
  connect: (port: number) => Promise<Deno.Conn>,
  options: SpdyPortForwardOptions = {},
): void {
  const logger = options.logger ?? silentLogger;
  socket.binaryType = "arraybuffer";
  const reader = new SpdyFrameReader();
  const compressor = new HeaderCompressor();
  const decompressor = new HeaderDecompressor();
  const requests = new Map<string, ForwardRequest>();
  const streams = new Map<number, ForwardRequest>();
  const conns = new Set<Deno.Conn>();
  let closed = false;
  // Frames are handled one at a time: header decompression is asynchronous but stateful.
  let queue: Promise<void> = Promise.resolve();

  const send = (frame: Uint8Array) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  };
  const sendData = async (streamId: number, bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.byteLength; offset += MAX_DATA_CHUNK) {
      send(dataFrame(streamId, 0, bytes.subarray(offset, offset + MAX_DATA_CHUNK)));
    }
    while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > 1 << 20) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const sendFin = (streamId: number | undefined) => {
    if (streamId !== undefined) send(dataFrame(streamId, FLAG_FIN, new Uint8Array()));
  };
  const reset = (streamId: number, status: number) => {
    const body = concat([uint32(streamId), uint32(status)]);
    send(controlFrame(FrameType.rstStream, 0, body));
  };
  /** Ends both streams of a request (with an error message if `err`), once. */
  const finish = (request: ForwardRequest, err?: unknown) => {
    if (request.finished) return;
    request.finished = true;
    requests.delete(request.id);
    if (request.errorStream !== undefined) streams.delete(request.errorStream);
    if (request.dataStream !== undefined) streams.delete(request.dataStream);
    request.conn?.then((conn) => conn && closeConn(conn));
    if (closed) return;
    if (err !== undefined && request.errorStream !== undefined) {
      const message = err instanceof Error ? err.message : String(err);
      logger.debug("port-forward connection failed", { port: request.port, error: message });
      // kubectl prints this as "an error occurred forwarding <local> -> <port>: <message>".
      const text = encoder.encode(`error forwarding port ${request.port}: ${message}`);
      send(dataFrame(request.errorStream, 0, text));
    }
    sendFin(request.dataStream);
    sendFin(request.errorStream);
  };
  const closeConn = (conn: Deno.Conn) => {
    conns.delete(conn);
    closeQuietly(conn);
  };
  const shutdown = () => {
    if (closed) return;
    closed = true;
    for (const conn of conns) closeQuietly(conn);
    conns.clear();
    decompressor.close();
  };

  const start = (request: ForwardRequest) => {
    request.conn = connect(request.port).then((conn) => {
      if (closed || request.finished) {
        closeQuietly(conn);
        return undefined;
      }
      conns.add(conn);
      pump(request, conn);
      return conn;
    }, (err) => {
      finish(request, err);
      return undefined;
    });
    request.writes = request.conn;
  };
  const pump = async (request: ForwardRequest, conn: Deno.Conn) => {
    try {
      for await (const chunk of conn.readable) await sendData(request.dataStream!, chunk);
      finish(request);
    } catch (err) {
      finish(request, request.finished ? undefined : err);
    }
  };

  const onSynStream = async (frame: SpdyFrame & { control: true }) => {
    const view = new DataView(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    if (frame.data.byteLength < 10) throw new Error("short SYN_STREAM frame");
    const streamId = view.getUint32(0) & 0x7fffffff;
    const headers = decodeHeaderBlock(await decompressor.decompress(frame.data.subarray(10)));
    const port = Number(headers["port"]);
    const type = headers["streamtype"];
    const id = headers["requestid"] ?? "";
    if (
      !Number.isInteger(port) || port < 1 || port > 65535 || (type !== "error" && type !== "data")
    ) {
      logger.debug("refusing port-forward stream", { headers });
      return reset(streamId, RST_PROTOCOL_ERROR);
    }
    // Reply first: kubectl's CreateStream waits for it.
    send(
      controlFrame(
        FrameType.synReply,
        0,
        concat([uint32(streamId), compressor.compress(encodeHeaderBlock({}))]),
      ),
    );
    let request = requests.get(id);
    if (!request) {
      request = { id, port, writes: Promise.resolve() };
      requests.set(id, request);
    }
    if (
      request.port !== port ||
      (type === "error" ? request.errorStream : request.dataStream) !== undefined
    ) {
      return reset(streamId, RST_REFUSED_STREAM);
    }
    if (type === "error") request.errorStream = streamId;
    else request.dataStream = streamId;
    streams.set(streamId, request);
    if (request.errorStream !== undefined && request.dataStream !== undefined) start(request);
  };

  const onData = (frame: SpdyFrame & { control: false }) => {
    const request = streams.get(frame.streamId);
    // Bytes on the error stream (kubectl writes none) and frames of finished streams are dropped.
    if (!request || frame.streamId !== request.dataStream) return;
    const data = frame.data;
    const fin = (frame.flags & FLAG_FIN) !== 0;
    request.writes = request.writes.then(async () => {
      const conn = await request.conn;
      if (!conn) return;
      if (data.byteLength > 0) await writeAll(conn, data);
      // The client half-closed: pass it on so the server sees EOF and can answer.
      if (fin) await conn.closeWrite();
    }).catch((err) => finish(request, err));
  };

  const onFrame = async (frame: SpdyFrame) => {
    if (!frame.control) return onData(frame);
    switch (frame.type) {
      case FrameType.synStream:
        return await onSynStream(frame);
      case FrameType.rstStream: {
        if (frame.data.byteLength < 4) return;
        const streamId = new DataView(frame.data.buffer, frame.data.byteOffset).getUint32(0) &
          0x7fffffff;
        const request = streams.get(streamId);
        if (request) finish(request);
        return;
      }
      case FrameType.ping:
        return send(controlFrame(FrameType.ping, 0, frame.data));
      case FrameType.goAway:
        return socket.close(1000);
      default:
        return; // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for port-forward
    }
  };

  socket.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return;
    const bytes = new Uint8Array(event.data);
    queue = queue.then(async () => {
      if (closed) return;
      for (const frame of reader.push(bytes)) await onFrame(frame);
    }).catch((err) => {
      logger.warn("closing port-forward: bad SPDY input", { error: err });
      if (socket.readyState === WebSocket.OPEN) socket.close(1002, "protocol error");
      shutdown();
    });
  };
  socket.onerror = () => {};
  socket.onclose = shutdown;
}

/** Writes all of `bytes` to a connection. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
