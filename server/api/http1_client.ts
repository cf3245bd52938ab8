/**
 * A small HTTP/1.1 client for the proxy subresources: one request per connection
 * (`Connection: close`), headers sent exactly as given (Host included, nothing added), the
 * request body streamed with its Content-Length or chunked, and the response body handed back
 * as it arrives, still encoded (gzip stays gzip). Deno's `fetch` cannot do this: it sets its
 * own Host, Accept and User-Agent, chunks every streamed body and decompresses responses.
 *
 * `https:` backends are dialled with `node:tls` without verifying their certificate, as
 * kube-apiserver's proxy transport (`InsecureSkipVerify`) does; Deno's own TLS client always
 * verifies. The module is loaded on the first such request only (about 14 MB of resident
 * memory, measured), so a server that never proxies to TLS does not pay for it.
 */

/** A byte stream to a backend. */
export interface BackendConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
}

/** Where to dial. */
export interface DialTarget {
  scheme: "http" | "https";
  hostname: string;
  port: number;
}

/** How long a dial may take, as kube-apiserver's proxy dialer (30 s). */
export const DIAL_TIMEOUT_MS = 30_000;
/** Longest response head accepted (status line and headers). */
export const MAX_HEAD_BYTES = 64 * 1024;

/** Opens a connection to `target`; rejects with a Go-like reason (`connect: connection refused`). */
export async function dialBackend(
  target: DialTarget,
  options: { timeoutMs?: number } = {},
): Promise<BackendConn> {
  const timeoutMs = options.timeoutMs ?? DIAL_TIMEOUT_MS;
  const address = `${
    target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname
  }:${target.port}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DialError(`dial tcp ${address}: i/o timeout`)), timeoutMs);
  });
  const dialing = target.scheme === "https" ? dialTls(target) : dialTcp(target);
  try {
    return await Promise.race([dialing, timeout]);
  } catch (err) {
    // A connection made after the timeout is closed, not leaked.
    dialing.then((conn) => conn.close(), () => {});
    if (err instanceof DialError) throw err;
    throw new DialError(`dial tcp ${address}: ${goReason(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A backend that could not be reached; the message reads as Go's dial errors do. */
export class DialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DialError";
  }
}

function goReason(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "connect: connection refused";
  if (err instanceof Deno.errors.TimedOut) return "i/o timeout";
  const message = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED|refused/i.test(message)) return "connect: connection refused";
  if (/unreachable/i.test(message)) return "connect: no route to host";
  return message;
}

async function dialTcp(target: DialTarget): Promise<BackendConn> {
  const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
  return {
    readable: conn.readable,
    writable: conn.writable,
    close: () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

async function dialTls(target: DialTarget): Promise<BackendConn> {
  const [tls, net, stream] = await Promise.all([
    import("node:tls"),
    import("node:net"),
    import("node:stream"),
  ]);
  const socket = tls.connect({
    host: target.hostname,
    port: target.port,
    rejectUnauthorized: false,
    // SNI carries names only, never addresses.
    ...(net.isIP(target.hostname) ? {} : { servername: target.hostname }),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", (err: Error) => reject(err));
  });
  const web = stream.Duplex.toWeb(socket);
  return {
    readable: web.readable as ReadableStream<Uint8Array>,
    writable: web.writable as WritableStream<Uint8Array>,
    close: () => socket.destroy(),
  };
}

/** One request to send. */
export interface OutgoingRequest {
  method: string;
  /** The request target: path and query, already encoded. */
  target: string;
  /** Every header to send, in order (the client adds only the body's framing and Connection). */
  headers: [string, string][];
  body: ReadableStream<Uint8Array> | null;
  /** The body's length when known; the body goes chunked otherwise. */
  contentLength?: number;
}

/** A response's status line and headers, in the order received. */
export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
}

/** A response whose body is still coming. */
export interface IncomingResponse extends ResponseHead {
  /** Null for HEAD requests and statuses without a body. */
  body: ReadableStream<Uint8Array> | null;
  /** The body's Content-Length when the backend framed it so. */
  contentLength?: number;
}

/** The backend's answer was not HTTP/1.x. */
export class MalformedResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedResponseError";
  }
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/**
 * Sends `request` on `conn` and resolves with the response once its head has arrived (interim
 * 1xx responses are skipped). The request body keeps flowing while the response is read, as
 * an HTTP/1.1 exchange allows; the connection closes once the response body has been read or
 * cancelled, or on failure. Aborting `signal` closes it at any time.
 */
export async function exchange(
  conn: BackendConn,
  request: OutgoingRequest,
  signal?: AbortSignal,
): Promise<IncomingResponse> {
  const onAbort = () => conn.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const finish = () => {
    signal?.removeEventListener("abort", onAbort);
    conn.close();
  };
  const writer = conn.writable.getWriter();
  const reader = new BufferedReader(conn.readable.getReader());
  try {
    const chunked = request.body !== null && request.contentLength === undefined;
    const lines = [`${request.method} ${request.target} HTTP/1.1`];
    for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
    if (request.contentLength !== undefined) lines.push(`Content-Length: ${request.contentLength}`);
    if (chunked) lines.push("Transfer-Encoding: chunked");
    lines.push("Connection: close", "", "");
    await writer.write(latin1(lines.join("\r\n")));
    // The body is sent alongside: a backend may answer (413, 401) before reading all of it.
    const sending = request.body ? sendBody(writer, request.body, chunked) : Promise.resolve();
    sending.catch(() => {});
    let head: ResponseHead;
    do head = parseHead(await reader.readHead(MAX_HEAD_BYTES)); while (
      head.status >= 100 && head.status < 200 && head.status !== 101
    );
    if (head.status === 101) throw new MalformedResponseError("unexpected 101 Switching Protocols");
    const bodyless = request.method === "HEAD" || head.status === 204 || head.status === 304;
    if (bodyless) {
      finish();
      return { ...head, body: null };
    }
    const transferEncoding = headerValue(head.headers, "transfer-encoding");
    const lengthValue = headerValue(head.headers, "content-length");
    if (transferEncoding !== undefined && !/(^|,)\s*chunked\s*$/i.test(transferEncoding)) {
      throw new MalformedResponseError(`unsupported Transfer-Encoding ${transferEncoding}`);
    }
    if (transferEncoding !== undefined) {
      return { ...head, body: reader.chunkedBody(finish) };
    }
    if (lengthValue !== undefined) {
      if (!/^\d+$/.test(lengthValue.trim())) {
        throw new MalformedResponseError(`bad Content-Length ${JSON.stringify(lengthValue)}`);
      }
      const length = Number(lengthValue.trim());
      return { ...head, body: reader.fixedBody(length, finish), contentLength: length };
    }
    return { ...head, body: reader.bodyUntilClose(finish) };
  } catch (err) {
    finish();
    throw err;
  }
}

async function sendBody(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.byteLength === 0) continue;
      if (chunked) {
        await writer.write(latin1(`${value.byteLength.toString(16)}\r\n`));
        await writer.write(value);
        await writer.write(CRLF);
      } else {
        await writer.write(value);
      }
    }
    if (chunked) await writer.write(latin1("0\r\n\r\n"));
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/** `text` as one byte per character (HTTP heads are latin1). */
function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** The first value of a header (names compared without case), or undefined. */
export function headerValue(headers: [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** Parses a response head (without its blank line). */
export function parseHead(bytes: Uint8Array): ResponseHead {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  const lines = text.split(/\r?\n/);
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!status) {
    throw new MalformedResponseError(
      `malformed HTTP response ${JSON.stringify(lines[0].slice(0, 100))}`,
    );
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) {
      throw new MalformedResponseError(`malformed MIME header line: ${line.slice(0, 100)}`);
    }
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { status: Number(status[1]), statusText: status[2] ?? "", headers };
}

/** Reads a connection through a buffer: heads by their blank line, bodies by their framing. */
class BufferedReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** Reads more into the buffer; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    if (this.#buf.length === 0) this.#buf = value;
    else {
      const joined = new Uint8Array(this.#buf.length + value.length);
      joined.set(this.#buf);
      joined.set(value, this.#buf.length);
      this.#buf = joined;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The bytes up to the next CRLF (or LF), without it; undefined at the stream's end. */
  async #line(max: number): Promise<string | undefined> {
    for (;;) {
      const lf = this.#buf.indexOf(10);
      if (lf >= 0) {
        const line = this.#take(lf + 1);
        let text = "";
        for (let i = 0; i < line.length - 1; i++) text += String.fromCharCode(line[i]);
        return text.endsWith("\r") ? text.slice(0, -1) : text;
      }
      if (this.#buf.length > max) throw new MalformedResponseError("line too long");
      if (!(await this.#fill())) return undefined;
    }
  }

  /** A message head: everything up to the first empty line. */
  async readHead(max: number): Promise<Uint8Array> {
    let from = 0;
    for (;;) {
      for (let i = from; i < this.#buf.length; i++) {
        if (this.#buf[i] !== 10) continue;
        // LF LF or LF CR LF ends the head.
        if (this.#buf[i + 1] === 10) return this.#head(i, 2);
        if (this.#buf[i + 1] === 13 && this.#buf[i + 2] === 10) return this.#head(i, 3);
      }
      from = Math.max(0, this.#buf.length - 2);
      if (this.#buf.length > max) throw new MalformedResponseError("response head too large");
      if (!(await this.#fill())) {
        throw new MalformedResponseError(
          this.#buf.length === 0 ? "EOF" : "unexpected EOF in the response head",
        );
      }
    }
  }

  #head(lfAt: number, separator: number): Uint8Array {
    const head = this.#take(lfAt + separator);
    return head.subarray(0, head[lfAt - 1] === 13 ? lfAt - 1 : lfAt);
  }

  #stream(
    next: () => Promise<Uint8Array | undefined>,
    finish: () => void,
  ): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (ctrl) => {
        try {
          const chunk = await next();
          if (chunk === undefined) {
            finish();
            ctrl.close();
          } else ctrl.enqueue(chunk);
        } catch (err) {
          finish();
          ctrl.error(err);
        }
      },
      cancel: () => finish(),
    }, { highWaterMark: 0 });
  }

  /** The next buffered bytes, at most `max`, reading when the buffer is empty. */
  async #some(max: number): Promise<Uint8Array | undefined> {
    if (this.#buf.length === 0 && !(await this.#fill())) return undefined;
    return this.#take(Math.min(max, this.#buf.length)).slice();
  }

  fixedBody(length: number, finish: () => void): ReadableStream<Uint8Array> {
    let left = length;
    return this.#stream(async () => {
      if (left === 0) return undefined;
      const chunk = await this.#some(left);
      if (chunk === undefined) throw new MalformedResponseError("unexpected EOF in the body");
      left -= chunk.length;
      return chunk;
    }, finish);
  }

  bodyUntilClose(finish: () => void): ReadableStream<Uint8Array> {
    return this.#stream(() => this.#some(Infinity), finish);
  }

  chunkedBody(finish: () => void): ReadableStream<Uint8Array> {
    let left = 0;
    let ended = false;
    return this.#stream(async () => {
      if (ended) return undefined;
      if (left === 0) {
        const line = await this.#line(4096);
        if (line === undefined) throw new MalformedResponseError("unexpected EOF in the body");
        const size = parseInt(line.split(";")[0].trim(), 16);
        if (!Number.isFinite(size) || size < 0) {
          throw new MalformedResponseError(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
        }
        if (size === 0) {
          // Trailers (dropped) up to the empty line.
          for (;;) {
            const trailer = await this.#line(MAX_HEAD_BYTES);
            if (trailer === undefined || trailer === "") break;
          }
          ended = true;
          return undefined;
        }
        left = size;
      }
      const chunk = await this.#some(left);
      if (chunk === undefined) throw new MalformedResponseError("unexpected EOF in the body");
      left -= chunk.length;
      if (left === 0 && (await this.#line(2)) !== "") {
        throw new MalformedResponseError("chunk not followed by CRLF");
      }
      return chunk;
    }, finish);
  }
}
