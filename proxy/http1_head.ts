/**
 * One HTTP/1.1 message head, parsed where it lies: a single pass over the bytes in the
 * connection's read buffer finds the start line's spaces and each header line's name and value,
 * and marks which of the names asked on every request (Host, Connection, Content-Length, the
 * hop-by-hop ones, X-Forwarded-*) the head has, as bits; strings are made only for what is asked
 * for, through the connection's {@linkcode StringMemo}. The ingress's fast path reads a
 * request's host and path, a response's status and Content-Length, and copies the rest on as
 * bytes. Measured on the ingress: a head decoded to text and split into strings eagerly was the
 * largest JavaScript cost per proxied request. A head that is not HTTP/1.1 is a
 * {@linkcode BadHead} with the status to answer it with.
 *
 * A head is a view: its bytes stay valid until its connection reads again
 * ({@linkcode MessageHead.release}); asking it for anything not yet decoded after that throws.
 */

const CR = 13;
const LF = 10;
const COLON = 58;
const SPACE = 32;
const TAB = 9;

/** Per header line in {@linkcode MessageHead}'s fields: name start/end, value start/end. */
const FIELD = 4;

/** Headers about one connection only (RFC 9110 §7.6.1): a proxy never passes them on. */
export const HOP_BY_HOP_NAMES = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "upgrade",
  "expect",
] as const;
/**
 * Header names looked up on every request, as bits: {@linkcode parseHead} marks which a head
 * has, so asking for one it does not have costs no scan. `x-forwarded-` stands for every name
 * starting so.
 */
const KNOWN_NAMES = [
  "host",
  ...HOP_BY_HOP_NAMES,
  "content-length",
  "transfer-encoding",
  "x-forwarded-for",
  "x-real-ip",
  "x-forwarded-",
] as const;
const KNOWN: ReadonlyMap<string, number> = new Map(KNOWN_NAMES.map((name, i) => [name, 1 << i]));
/** The bit of each known name, for {@linkcode MessageHead.has}. */
export const HEADER = Object.fromEntries(KNOWN) as Record<typeof KNOWN_NAMES[number], number>;
/** {@linkcode HOP_BY_HOP_NAMES} as {@linkcode HEADER} bits. */
export const HOP_BY_HOP_BITS = HOP_BY_HOP_NAMES.reduce((bits, name) => bits | HEADER[name], 0);
const X_FORWARDED = KNOWN.get("x-forwarded-")!;

/** The bit of the known header named `buf[from, to)` (any case), or 0. */
function knownBit(buf: Uint8Array, from: number, to: number): number {
  const len = to - from;
  let bit = 0;
  if (len >= 12 && (buf[from] | 0x20) === 0x78 && sameName(buf, from, "x-forwarded-")) {
    bit = X_FORWARDED;
    if (len !== 15) return bit;
  }
  let name: string | undefined;
  switch (len) {
    case 2:
      name = "te";
      break;
    case 4:
      name = "host";
      break;
    case 6:
      name = "expect";
      break;
    case 7:
      name = "upgrade";
      break;
    case 9:
      name = "x-real-ip";
      break;
    case 10:
      name = (buf[from] | 0x20) === 0x63 ? "connection" : "keep-alive";
      break;
    case 14:
      name = "content-length";
      break;
    case 15:
      name = "x-forwarded-for";
      break;
    case 16:
      name = "proxy-connection";
      break;
    case 17:
      name = "transfer-encoding";
      break;
  }
  return name !== undefined && sameName(buf, from, name) ? bit | KNOWN.get(name)! : bit;
}

/** Whether the name at `buf[from…]` starts with `lower`, letters compared without case. */
function sameName(buf: Uint8Array, from: number, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = buf[from + j];
    const l = lower.charCodeAt(j);
    if (c !== l && !(c >= 65 && c <= 90 && c + 32 === l)) return false;
  }
  return true;
}

/**
 * Finds the head at `buf[from, to)`: its end (just past the empty line) and its parts, or
 * undefined when the empty line has not arrived yet. Throws on a malformed head.
 */
export function parseHead(
  buf: Uint8Array,
  from: number,
  to: number,
  memo?: StringMemo,
): MessageHead | undefined {
  // The start line, and its first two spaces.
  let sp1 = -1;
  let sp2 = -1;
  let i = from;
  for (; i < to; i++) {
    const c = buf[i];
    if (c === LF) break;
    if (c === SPACE) {
      if (sp1 === -1) sp1 = i;
      else if (sp2 === -1) sp2 = i;
    }
  }
  if (i >= to) return undefined;
  let crlf = i > from && buf[i - 1] === CR;
  const startEnd = crlf ? i - 1 : i;
  if (sp1 <= from || sp1 >= startEnd) throw malformed("start line", buf, from, startEnd);
  if (sp2 >= startEnd) sp2 = -1;
  const fields: number[] = [];
  let known = 0;
  for (let line = i + 1; line < to;) {
    // The empty line ends the head.
    if (buf[line] === LF) {
      return new MessageHead(buf, from, line + 1, sp1, sp2, startEnd, fields, false, known, memo);
    }
    if (buf[line] === CR) {
      if (line + 1 >= to) return undefined;
      if (buf[line + 1] === LF) {
        const end = line + 2;
        return new MessageHead(buf, from, end, sp1, sp2, startEnd, fields, crlf, known, memo);
      }
    }
    // A header line: the name up to the colon (names are short: scanned here), then the line's
    // end found natively (values can be long).
    let colon = line;
    while (colon < to && buf[colon] !== COLON && buf[colon] !== LF) colon++;
    if (colon >= to) return undefined;
    const lf = buf.indexOf(LF, colon);
    // indexOf may find a stale LF past `to`, from an earlier read: not arrived yet.
    if (lf === -1 || lf >= to) return undefined;
    let eol = lf;
    if (eol > line && buf[eol - 1] === CR) eol--;
    else crlf = false;
    if (colon === lf || colon === line) throw malformed("header line", buf, line, eol);
    let ns = line, ne = colon, vs = colon + 1, ve = eol;
    while (ns < ne && isSpace(buf[ns])) ns++;
    while (ne > ns && isSpace(buf[ne - 1])) ne--;
    if (ns === ne) throw malformed("header line", buf, line, eol);
    while (vs < ve && isSpace(buf[vs])) vs++;
    while (ve > vs && isSpace(buf[ve - 1])) ve--;
    fields.push(ns, ne, vs, ve);
    known |= knownBit(buf, ns, ne);
    line = lf + 1;
  }
  return undefined;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** A head that cannot be read as HTTP/1.1, with the status a server answers it with. */
export class BadHead extends Error {
  /** 400 (malformed) or 431 (too large). */
  readonly status: 400 | 431;

  constructor(message: string, status: 400 | 431) {
    super(message);
    this.status = status;
  }
}

function malformed(what: string, buf: Uint8Array, from: number, to: number): BadHead {
  return new BadHead(`malformed ${what}: ${latin1Of(buf, from, Math.min(to, from + 80))}`, 400);
}

/** A parsed head: offsets into its connection's buffer, strings made on demand. */
export class MessageHead {
  #buf: Uint8Array | undefined;
  /** Where the head starts in the buffer. */
  readonly #from: number;
  /** The head's length in bytes (start line to the empty line, inclusive). */
  readonly byteLength: number;
  readonly #sp1: number;
  readonly #sp2: number;
  readonly #startEnd: number;
  /** Per header line, flat: name start, name end, value start, value end (trimmed). */
  readonly #fields: number[];
  /** Every line ends in CR LF (so the header lines can be copied on as they are). */
  readonly #crlf: boolean;
  /** The {@linkcode KNOWN} headers present, as bits. */
  readonly #known: number;
  readonly #memo: StringMemo | undefined;
  #start?: [string, string, string];

  constructor(
    buf: Uint8Array,
    from: number,
    end: number,
    sp1: number,
    sp2: number,
    startEnd: number,
    fields: number[],
    crlf: boolean,
    known: number,
    memo?: StringMemo,
  ) {
    this.#known = known;
    this.#memo = memo;
    this.#buf = buf;
    this.#from = from;
    this.byteLength = end - from;
    this.#sp1 = sp1;
    this.#sp2 = sp2;
    this.#startEnd = startEnd;
    this.#fields = fields;
    this.#crlf = crlf;
  }

  /** The buffer while the head's bytes are in it. */
  #bytes(): Uint8Array {
    if (!this.#buf) throw new Error("message head used after its connection read on");
    return this.#buf;
  }

  /** The bytes at `[from, to)` as text (through the connection's memo when it has one). */
  #text(from: number, to: number): string {
    const b = this.#bytes();
    return this.#memo ? this.#memo.of(b, from, to) : latin1Of(b, from, to);
  }

  /** Called by the connection before it reads again: the bytes are about to be overwritten. */
  release(): void {
    this.#buf = undefined;
  }

  /** `GET / HTTP/1.1` or `HTTP/1.1 200 OK`, split on spaces (the reason keeps its spaces). */
  get start(): [string, string, string] {
    if (!this.#start) {
      const f = this.#from, a = this.#sp1, s = this.#sp2, e = this.#startEnd;
      this.#start = s === -1
        ? [this.#text(f, a), this.#text(a + 1, e), ""]
        : [this.#text(f, a), this.#text(a + 1, s), this.#text(s + 1, e)];
    }
    return this.#start;
  }

  /** Whether start-line part `index` (0, 1 or 2) is exactly `text` (ASCII), without decoding. */
  startIs(index: number, text: string): boolean {
    const b = this.#bytes();
    const [from, to] = index === 0
      ? [this.#from, this.#sp1]
      : index === 1
      ? [this.#sp1 + 1, this.#sp2 === -1 ? this.#startEnd : this.#sp2]
      : [this.#sp2 === -1 ? this.#startEnd : this.#sp2 + 1, this.#startEnd];
    if (to - from !== text.length) return false;
    for (let i = 0; i < text.length; i++) if (b[from + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  /** A response's status code (the start line's second part as a number; NaN if not digits). */
  get statusCode(): number {
    const b = this.#bytes();
    const to = this.#sp2 === -1 ? this.#startEnd : this.#sp2;
    let n = 0;
    for (let i = this.#sp1 + 1; i < to; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) return NaN;
      n = n * 10 + d;
    }
    return to > this.#sp1 + 1 ? n : NaN;
  }

  /** Whether the head has any of the known headers in `bits` (from {@linkcode HEADER}). */
  has(bits: number): boolean {
    return (this.#known & bits) !== 0;
  }

  /** How many header lines there are. */
  get count(): number {
    return this.#fields.length / FIELD;
  }

  /** The headers in order, names as sent. */
  get headers(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.nameAt(i, false), this.valueAt(i)]);
    return out;
  }

  /** The headers' names in lower case, in order. */
  get names(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.nameAt(i));
    return out;
  }

  /**
   * The index of the first header named `lower` (a lower-case name; with `prefix`, the first
   * whose name starts so), or -1. Compares bytes: nothing is decoded.
   */
  indexOf(lower: string, prefix = false): number {
    const bit = prefix && lower !== "x-forwarded-" ? undefined : KNOWN.get(lower);
    if (bit !== undefined && (this.#known & bit) === 0) return -1;
    const b = this.#bytes();
    const f = this.#fields;
    for (let i = 0; i < f.length; i += FIELD) {
      const from = f[i];
      const len = f[i + 1] - from;
      if (prefix ? len < lower.length : len !== lower.length) continue;
      if (sameName(b, from, lower)) return i / FIELD;
    }
    return -1;
  }

  /** The value of the header at `index` (as from {@linkcode indexOf}). */
  valueAt(index: number): string {
    const f = this.#fields;
    return this.#text(f[index * FIELD + 2], f[index * FIELD + 3]);
  }

  /** The name of the header at `index`, lower case unless `lower` is false. */
  nameAt(index: number, lower = true): string {
    const f = this.#fields;
    const name = this.#text(f[index * FIELD], f[index * FIELD + 1]);
    return lower ? name.toLowerCase() : name;
  }

  /** The value of a header (first occurrence; `lower` a lower-case name), or undefined. */
  get(lower: string): string | undefined {
    const i = this.indexOf(lower);
    return i === -1 ? undefined : this.valueAt(i);
  }

  /** The header line at `index`, normalized to `Name: value` and CR LF. */
  lineAt(index: number): string {
    return `${this.nameAt(index, false)}: ${this.valueAt(index)}\r\n`;
  }

  /**
   * The head's bytes as they came without its last (empty) line — the start line and the
   * header lines — or undefined when a line ended in a bare LF. A view into the connection's
   * buffer, valid until it reads again.
   */
  bytesWithoutEnd(): Uint8Array | undefined {
    if (!this.#crlf) return undefined;
    return this.#bytes().subarray(this.#from, this.#from + this.byteLength - 2);
  }
}

/** Strings a {@linkcode StringMemo} keeps, and the longest it keeps. */
const MEMO_SIZE = 8;
const MEMO_MAX_LENGTH = 128;

/**
 * The strings one connection's heads were last decoded to, handed out again when the same bytes
 * come again — a keep-alive connection sends the same method, version, host and often path on
 * every request — so that a repeat costs a compare, not an allocation.
 */
export class StringMemo {
  readonly #strings: string[] = [];
  #next = 0;

  /** `buf[from, to)` as latin1 text. */
  of(buf: Uint8Array, from: number, to: number): string {
    const len = to - from;
    const strings = this.#strings;
    next: for (let k = 0; k < strings.length; k++) {
      const s = strings[k];
      if (s.length !== len) continue;
      for (let i = 0; i < len; i++) if (s.charCodeAt(i) !== buf[from + i]) continue next;
      return s;
    }
    const s = latin1Of(buf, from, to);
    if (len <= MEMO_MAX_LENGTH) {
      strings[this.#next] = s;
      this.#next = (this.#next + 1) % MEMO_SIZE;
    }
    return s;
  }
}

const asciiDecoder = new TextDecoder();

/**
 * `buf[from, to)` as text, one character per byte (ISO-8859-1; not TextDecoder's "latin1",
 * which is windows-1252 and would not write back to the same bytes). Short pieces are built in
 * JavaScript (cheaper than a call into the decoder); long ASCII ones decoded natively.
 */
export function latin1Of(buf: Uint8Array, from: number, to: number): string {
  if (to - from <= 16) {
    let s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  let ascii = true;
  for (let i = from; i < to && ascii; i++) ascii = buf[i] < 0x80;
  const bytes = buf.subarray(from, to);
  return ascii
    ? asciiDecoder.decode(bytes)
    : String.fromCharCode.apply(null, bytes as unknown as number[]);
}
