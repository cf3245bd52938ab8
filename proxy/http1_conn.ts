/**
 * A buffered HTTP/1.1 byte stream over one connection, for the ingress data path: read a message
 * head, then copy a body to another connection as it is framed (Content-Length, chunked, or until
 * the peer closes) without decoding it, so chunked responses and server-sent events pass through
 * as they arrive. One 64 KiB buffer per connection, reused; writes are awaited (back-pressure).
 * Besides the awaiting methods (readHead, copyN, …) it offers their synchronous halves (takeHead,
 * read/filled, take, staged) so a hot loop can await the connection's own promises directly:
 * each async layer between costs a promise per message, which measured more than the parsing.
 */

import { BadHead, latin1Of, type MessageHead, parseHead, StringMemo } from "./http1_head.ts";

const BUFFER_SIZE = 64 * 1024;
/** Longest message head accepted (request or status line plus headers). */
export const MAX_HEAD_BYTES = 32 * 1024;

const LF = 10;

/** What goes before a copied body: a head as latin1 text, or as byte pieces in order. */
export type Prefix = string | readonly Uint8Array[];

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

/**
 * `buf[0, n)`: `last` again when it is that view already. Keep-alive messages tend to repeat
 * their sizes, so the views handed out per message are mostly not new allocations.
 */
function viewFromStart(buf: Uint8Array, n: number, last?: Uint8Array): Uint8Array {
  return last?.buffer === buf.buffer && last.byteOffset === buf.byteOffset && last.length === n
    ? last
    : buf.subarray(0, n);
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
  #lastHead?: MessageHead;
  #lastHeadEnd = 0;
  /** Views handed out by take() and staged(), reused for the next of the same length. */
  #takenView?: Uint8Array;
  #stagedView?: Uint8Array;
  readonly #memo = new StringMemo();

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Bytes read but not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Where the next read goes (the buffer compacted first when its end is reached). */
  #room(): Uint8Array {
    this.#lastHead?.release();
    this.#lastHead = undefined;
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) throw new Error("message head too large");
    // An empty buffer (the usual case between keep-alive messages) is read into whole: no view
    // to allocate per read.
    return this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
  }

  /** Reads more bytes; false at end of stream. */
  async #fill(): Promise<boolean> {
    return this.filled(await this.read());
  }

  /**
   * The next message head if all of it is buffered (then consumed), else undefined: read more
   * with {@linkcode read} and {@linkcode filled}. Throws on a malformed or oversized head. The
   * head is valid until this connection reads again (see {@linkcode MessageHead.release}).
   */
  takeHead(): MessageHead | undefined {
    const head = parseHead(this.#buf, this.#start, this.#end, this.#memo);
    if (!head) {
      if (this.buffered > MAX_HEAD_BYTES) throw new BadHead("message head too large", 431);
      return undefined;
    }
    this.#start += head.byteLength;
    this.#lastHead = head;
    this.#lastHeadEnd = this.#start;
    return head;
  }

  /**
   * One read into the buffer, to be passed to {@linkcode filled}: the connection's own read
   * promise, so a caller that awaits it directly adds no promise of its own (the ingress's cost
   * per request is mostly such per-message overhead, not parsing).
   */
  read(): Promise<number | null> {
    return this.#eof ? Promise.resolve(null) : this.conn.read(this.#room());
  }

  /** Records what {@linkcode read} returned; false at end of stream. */
  filled(n: number | null): boolean {
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /**
   * For a stream that ended while a head was awaited: undefined when it ended cleanly between
   * messages, else throws.
   */
  endedBeforeHead(): undefined {
    if (this.buffered === 0) return undefined;
    throw new Error("stream ended inside a message head");
  }

  /**
   * Reads one message head; undefined when the stream ends cleanly before one starts. Throws on
   * a malformed or oversized head, or a stream cut inside it.
   */
  async readHead(): Promise<MessageHead | undefined> {
    let head = this.takeHead();
    while (head === undefined) {
      if (!this.filled(await this.read())) return this.endedBeforeHead();
      head = this.takeHead();
    }
    return head;
  }

  /**
   * The next `n` bytes if all are buffered (then consumed), as a view valid until the next
   * read; else undefined.
   */
  take(n: number): Uint8Array | undefined {
    if (n > this.buffered) return undefined;
    const at = this.#start;
    this.#start += n;
    if (at !== 0) return this.#buf.subarray(at, at + n);
    return this.#takenView = viewFromStart(this.#buf, n, this.#takenView);
  }

  /** `prefix` (a head) in the output buffer, as a view valid until this connection's next copy. */
  staged(prefix: Prefix): Uint8Array {
    const n = this.#stage(prefix, 0);
    return this.#stagedView = viewFromStart(this.#out!, n, this.#stagedView);
  }

  /**
   * Puts `head`, the head just read, back in front of the unread bytes so that it can be copied
   * on exactly as it came, with its body (no re-encoding). False, and nothing done, when anything
   * was read or consumed since.
   */
  unreadHead(head: MessageHead): boolean {
    if (this.#lastHead !== head || this.#lastHeadEnd !== this.#start) return false;
    this.#start -= head.byteLength;
    this.#lastHead = undefined;
    return true;
  }

  /** An output buffer of at least `n` bytes; its first `keep` bytes are kept if it grows. */
  #outFor(n: number, keep = 0): Uint8Array {
    if (!this.#out || this.#out.length < n) {
      const next = new Uint8Array(Math.max(n, 4096));
      if (keep > 0 && this.#out) next.set(this.#out.subarray(0, keep));
      this.#out = next;
    }
    return this.#out;
  }

  /**
   * Copies `prefix` (a head: latin1 text, or byte pieces) to the start of the output buffer,
   * with room for `more` bytes after it; returns its length. Pieces may be views into a buffer
   * that a read is about to overwrite: they are copied before any read.
   */
  #stage(prefix: Prefix, more: number): number {
    if (typeof prefix === "string") {
      return putLatin1(this.#outFor(prefix.length + more), 0, prefix);
    }
    let len = 0;
    for (const p of prefix) len += p.length;
    const out = this.#outFor(len + more);
    let at = 0;
    for (const p of prefix) {
      out.set(p, at);
      at += p.length;
    }
    return len;
  }

  /** Writes `text` (a head) to `dst`. */
  async #writeHead(dst: Deno.Conn, text: string): Promise<void> {
    const n = this.#stage(text, 0);
    await writeAll(dst, this.#out!.subarray(0, n));
  }

  /** Reads one CRLF-terminated line (chunk sizes, trailers), without the line end. */
  async #readLine(): Promise<string> {
    while (true) {
      const i = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
      if (i !== -1) {
        const text = latin1Of(this.#buf, this.#start, this.#start + i);
        this.#start += i + 1;
        return text.endsWith("\r") ? text.slice(0, -1) : text;
      }
      if (this.buffered > MAX_HEAD_BYTES) throw new Error("line too long");
      if (!await this.#fill()) throw new Error("stream ended inside a chunked body");
    }
  }

  /**
   * Copies exactly `n` bytes to `dst`, `prefix` (a head) written together with the first bytes,
   * so a small message leaves in one write (awaited directly: no promise per layer).
   */
  async copyN(dst: Deno.Conn, n: number, prefix?: Prefix): Promise<void> {
    let staged = prefix === undefined ? -1 : this.#stage(prefix, Math.min(n, this.buffered));
    let left = n;
    while (left > 0 || staged !== -1) {
      if (this.buffered === 0 && left > 0 && !await this.#fill()) {
        throw new Error("stream ended inside a body");
      }
      const take = Math.min(left, this.buffered);
      let data: Uint8Array = this.#buf.subarray(this.#start, this.#start + take);
      this.#start += take;
      left -= take;
      if (staged !== -1) {
        const out = this.#outFor(staged + take, staged);
        out.set(data, staged);
        data = out.subarray(0, staged + take);
        staged = -1;
      }
      const written = await dst.write(data);
      if (written < data.length) await writeAll(dst, data.subarray(written));
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
        await this.#writeHead(dst, out + trailers);
        return;
      }
      await this.copyN(dst, size + 2, out); // the chunk's data and its CRLF
    }
  }

  /** Copies everything until the stream ends. */
  async copyToEnd(dst: Deno.Conn, prefix?: string): Promise<void> {
    if (prefix !== undefined) await this.#writeHead(dst, prefix);
    while (true) {
      if (this.buffered > 0) {
        await writeAll(dst, this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end;
      }
      if (!await this.#fill()) return;
    }
  }
}
