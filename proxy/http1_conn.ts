/**
 * A buffered HTTP/1.1 byte stream over one connection, for the ingress data path: read a message
 * head, then copy a body to another connection as it is framed (Content-Length, chunked, or until
 * the peer closes) without decoding it, so chunked responses and server-sent events pass through
 * as they arrive. One 64 KiB buffer per connection, reused; writes are awaited (back-pressure).
 */

const BUFFER_SIZE = 64 * 1024;
/** Longest message head accepted (request or status line plus headers). */
export const MAX_HEAD_BYTES = 32 * 1024;

const CR = 13;
const LF = 10;

/** One HTTP message head: the start line and the headers in order, names as sent. */
export interface MessageHead {
  /** `GET / HTTP/1.1` or `HTTP/1.1 200 OK`, split on spaces (the reason keeps its spaces). */
  start: [string, string, string];
  headers: [string, string][];
  /** `headers`' names in lower case, same order (lowered once, looked up many times). */
  names: string[];
  /** The head's length in bytes, as it came (start line to the empty line, inclusive). */
  byteLength: number;
}

/** The value of a header (first occurrence; `name` in lower case), or undefined. */
export function header(head: MessageHead, name: string): string | undefined {
  const i = head.names.indexOf(name);
  return i === -1 ? undefined : head.headers[i][1];
}

/** Whether a comma-separated header (Connection, Transfer-Encoding) holds a token. */
export function hasToken(value: string | undefined, token: string): boolean {
  if (!value) return false;
  return value.toLowerCase().split(",").some((t) => t.trim() === token);
}

/** Writes all of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Writes `text` (a message head: one byte per character, as {@linkcode BufferedConn.readHead}
 * decoded it) into `out` from `at`; returns the end. `out` must have room.
 */
function putLatin1(out: Uint8Array, at: number, text: string): number {
  // Heads are ASCII nearly always, and for ASCII UTF-8 is latin1: the native encoder does it in
  // one call. A character above 0x7f makes UTF-8 differ (more bytes than characters): redo those
  // heads one byte per character.
  const { read, written } = ascii.encodeInto(text, out.subarray(at, at + text.length));
  if (read !== text.length || written !== text.length) {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  }
  return at + text.length;
}

const ascii = new TextEncoder();

/** `text` as latin1 bytes (heads the proxy answers itself). */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  putLatin1(out, 0, text);
  return out;
}

/** A connection with a read buffer. */
export class BufferedConn {
  readonly conn: Deno.Conn;
  readonly #buf = new Uint8Array(BUFFER_SIZE);
  /**
   * Where a head and the first body bytes are joined for one write, reused: no allocation per
   * message (only this connection's copies write from it, one at a time).
   */
  #out?: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  /**
   * The last head read and where its bytes ended in the buffer, until a read moves the buffer's
   * contents (then it can no longer be put back).
   */
  #lastHead?: { head: MessageHead; end: number };

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Bytes read but not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Reads more bytes; false at end of stream. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    this.#lastHead = undefined;
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) throw new Error("message head too large");
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** The index just past the next CRLF CRLF (or LF LF) in the buffer, or -1. */
  #headEnd(): number {
    // Search the unread bytes only: past #end lies whatever an earlier read left.
    const b = this.#buf.subarray(0, this.#end);
    let i = this.#start;
    while (true) {
      i = b.indexOf(LF, i);
      if (i === -1) return -1;
      if (i + 1 < this.#end && b[i + 1] === LF) return i + 2;
      if (i + 2 < this.#end && b[i + 1] === CR && b[i + 2] === LF) return i + 3;
      i++;
    }
  }

  /**
   * Reads one message head; undefined when the stream ends cleanly before one starts. Throws on
   * a malformed or oversized head, or a stream cut inside it.
   */
  async readHead(): Promise<MessageHead | undefined> {
    let end = this.#headEnd();
    while (end === -1) {
      if (this.buffered > MAX_HEAD_BYTES) throw new Error("message head too large");
      if (!await this.#fill()) {
        if (this.buffered === 0) return undefined;
        throw new Error("stream ended inside a message head");
      }
      end = this.#headEnd();
    }
    // Heads are ASCII (latin1 for odd bytes): one byte per character.
    const text = latin1Text(this.#buf.subarray(this.#start, end));
    const byteLength = end - this.#start;
    this.#start = end;
    let eol = lineEnd(text, 0);
    const first = text.slice(0, eol);
    const a = first.indexOf(" ");
    const b = first.indexOf(" ", a + 1);
    if (a <= 0) throw new Error(`malformed start line: ${first.slice(0, 80)}`);
    const start: [string, string, string] = b === -1
      ? [first.slice(0, a), first.slice(a + 1), ""]
      : [first.slice(0, a), first.slice(a + 1, b), first.slice(b + 1)];
    const headers: [string, string][] = [];
    const names: string[] = [];
    for (let at = text.indexOf("\n", eol) + 1; at < text.length; at = text.indexOf("\n", eol) + 1) {
      eol = lineEnd(text, at);
      if (eol === at) break; // the empty line ending the head
      const c = text.indexOf(":", at);
      if (c <= at || c > eol) throw new Error(`malformed header line: ${text.slice(at, eol)}`);
      const name = text.slice(at, c).trim();
      headers.push([name, text.slice(c + 1, eol).trim()]);
      names.push(name.toLowerCase());
    }
    const head = { start, headers, names, byteLength };
    this.#lastHead = { head, end };
    return head;
  }

  /**
   * Puts `head`, the head just read, back in front of the unread bytes so that it can be copied
   * on exactly as it came, with its body (no re-encoding). False, and nothing done, when anything
   * was read or consumed since.
   */
  unreadHead(head: MessageHead): boolean {
    const last = this.#lastHead;
    if (last?.head !== head || last.end !== this.#start) return false;
    this.#start -= head.byteLength;
    this.#lastHead = undefined;
    return true;
  }

  /** An output buffer of at least `n` bytes. */
  #outFor(n: number): Uint8Array {
    if (!this.#out || this.#out.length < n) this.#out = new Uint8Array(Math.max(n, 4096));
    return this.#out;
  }

  /** Writes `text` (a head) and then `part` to `dst`, in one write when they fit together. */
  async #writeJoined(dst: Deno.Conn, text: string, part?: Uint8Array): Promise<void> {
    const n = text.length + (part?.length ?? 0);
    if (n > BUFFER_SIZE) {
      await writeAll(dst, latin1(text));
      if (part) await writeAll(dst, part);
      return;
    }
    const out = this.#outFor(n);
    const at = putLatin1(out, 0, text);
    if (part) out.set(part, at);
    await writeAll(dst, out.subarray(0, n));
  }

  /** Reads one CRLF-terminated line (chunk sizes, trailers), without the line end. */
  async #readLine(): Promise<string> {
    while (true) {
      const i = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
      if (i !== -1) {
        const text = latin1Text(this.#buf.subarray(this.#start, this.#start + i));
        this.#start += i + 1;
        return text.endsWith("\r") ? text.slice(0, -1) : text;
      }
      if (this.buffered > MAX_HEAD_BYTES) throw new Error("line too long");
      if (!await this.#fill()) throw new Error("stream ended inside a chunked body");
    }
  }

  /**
   * Copies exactly `n` bytes to `dst`, `prefix` (a head, latin1 text) written together with the
   * first bytes so a small message leaves in one write.
   */
  async copyN(dst: Deno.Conn, n: number, prefix?: string): Promise<void> {
    let left = n;
    let pre = prefix;
    while (left > 0 || pre !== undefined) {
      if (this.buffered === 0 && left > 0 && !await this.#fill()) {
        throw new Error("stream ended inside a body");
      }
      const take = Math.min(left, this.buffered);
      const part = this.#buf.subarray(this.#start, this.#start + take);
      if (pre !== undefined) {
        await this.#writeJoined(dst, pre, part);
        pre = undefined;
      } else {
        await writeAll(dst, part);
      }
      this.#start += take;
      left -= take;
    }
  }

  /** Copies a chunked body (sizes, data, the last chunk and trailers) to `dst` as it comes. */
  async copyChunked(dst: Deno.Conn, prefix?: string): Promise<void> {
    let pre = prefix ?? "";
    while (true) {
      const line = await this.#readLine();
      const size = parseInt(line.split(";")[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size: ${line}`);
      const out = `${pre}${line}\r\n`;
      pre = "";
      if (size === 0) {
        // Trailers, then the empty line that ends the body.
        let trailers = "";
        while (true) {
          const t = await this.#readLine();
          trailers += `${t}\r\n`;
          if (t === "") break;
        }
        await this.#writeJoined(dst, out + trailers);
        return;
      }
      await this.copyN(dst, size + 2, out); // the chunk's data and its CRLF
    }
  }

  /** Copies everything until the stream ends. */
  async copyToEnd(dst: Deno.Conn, prefix?: string): Promise<void> {
    if (prefix !== undefined) await this.#writeJoined(dst, prefix);
    while (true) {
      if (this.buffered > 0) {
        await writeAll(dst, this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end;
      }
      if (!await this.#fill()) return;
    }
  }
}

/**
 * Bytes as text, one character per byte (ISO-8859-1; not TextDecoder's "latin1", which is
 * windows-1252 and would not write back to the same bytes).
 */
function latin1Text(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The end of the line starting at `from` (before its CR LF or LF, or the text's end). */
function lineEnd(text: string, from: number): number {
  const lf = text.indexOf("\n", from);
  if (lf === -1) return text.length;
  return lf > from && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
}
