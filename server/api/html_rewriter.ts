/**
 * Rewrites the links of an HTML page proxied through `pods/proxy`, `services/proxy` or
 * `nodes/proxy`, as kube-apiserver's proxy transport does, so that a dashboard's absolute
 * links (`<a href="/graph">`, `<script src="/static/app.js">`) stay under the proxy path: the
 * URL-valued attributes of kube-apiserver's table (`href`, `src`, `action`, …) go through the
 * caller's rewrite; everything else is copied as it came, comments, scripts and styles
 * included. gzip and deflate bodies are decompressed, rewritten and compressed again; other
 * encodings pass unchanged.
 *
 * kube-apiserver reads the whole page into memory for this. Here a page is held up to
 * {@linkcode MAX_HTML_BYTES} (compressed and decompressed alike); a larger one is passed on
 * unchanged, as it arrived.
 */
import type { Logger } from "../../shared/log.ts";

/** The largest HTML page rewritten (bytes, as received and once decompressed). */
export const MAX_HTML_BYTES = 4 * 1024 * 1024;

/** Which attributes of which elements hold URLs (kube-apiserver's `atomsToAttrs`). */
const URL_ATTRIBUTES: Record<string, readonly string[]> = {
  a: ["href"],
  applet: ["codebase"],
  area: ["href"],
  audio: ["src"],
  base: ["href"],
  blockquote: ["cite"],
  body: ["background"],
  button: ["formaction"],
  command: ["icon"],
  del: ["cite"],
  embed: ["src"],
  form: ["action"],
  frame: ["longdesc", "src"],
  head: ["profile"],
  html: ["manifest"],
  iframe: ["longdesc", "src"],
  img: ["longdesc", "src", "usemap"],
  input: ["src", "usemap", "formaction"],
  ins: ["cite"],
  link: ["href"],
  object: ["classid", "codebase", "data", "usemap"],
  q: ["cite"],
  script: ["src"],
  source: ["src"],
  video: ["poster", "src"],
};

/** Elements whose content is text up to their end tag, not markup (the HTML tokenizer's). */
const RAW_TEXT = new Set([
  "script",
  "style",
  "textarea",
  "title",
  "xmp",
  "iframe",
  "noembed",
  "noframes",
  "noscript",
  "plaintext",
]);

/** Rewrites every URL-valued attribute of `html` with `rewrite`. */
export function rewriteHtml(html: string, rewrite: (url: string) => string): string {
  let out = "";
  let i = 0;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt < 0) break;
    out += html.slice(i, lt);
    i = lt;
    if (html.startsWith("<!--", i)) {
      const end = html.indexOf("-->", i + 4);
      const stop = end < 0 ? n : end + 3;
      out += html.slice(i, stop);
      i = stop;
      continue;
    }
    const next = html[i + 1] ?? "";
    if (next === "!" || next === "?" || next === "/") {
      const end = html.indexOf(">", i + 1);
      const stop = end < 0 ? n : end + 1;
      out += html.slice(i, stop);
      i = stop;
      continue;
    }
    if (!/[a-zA-Z]/.test(next)) {
      out += "<";
      i++;
      continue;
    }
    const tag = startTag(html, i, rewrite);
    out += tag.text;
    i = tag.end;
    if (RAW_TEXT.has(tag.name) && !tag.selfClosing) {
      // Copy the element's content up to its end tag (any case) untouched.
      const close = html.toLowerCase().indexOf(`</${tag.name}`, i);
      const stop = close < 0 ? n : close;
      out += html.slice(i, stop);
      i = stop;
    }
  }
  return out + html.slice(i);
}

/** Reads the start tag at `from` (`<` then a letter), rewriting its URL attributes. */
function startTag(
  html: string,
  from: number,
  rewrite: (url: string) => string,
): { text: string; end: number; name: string; selfClosing: boolean } {
  const n = html.length;
  let i = from + 1;
  while (i < n && !/[\s/>]/.test(html[i])) i++;
  const name = html.slice(from + 1, i).toLowerCase();
  const urlAttributes = URL_ATTRIBUTES[name] ?? [];
  let text = html.slice(from, i);
  let selfClosing = false;
  while (i < n) {
    const c = html[i];
    if (c === ">") {
      return { text: text + ">", end: i + 1, name, selfClosing };
    }
    if (/\s/.test(c) || c === "/") {
      selfClosing = c === "/";
      text += c;
      i++;
      continue;
    }
    selfClosing = false;
    // An attribute: its name, then maybe `=` and a value.
    const nameStart = i;
    while (i < n && !/[\s/>=]/.test(html[i])) i++;
    if (i === nameStart) i++; // a stray `=`: take it as a name, as the tokenizer does
    const attribute = html.slice(nameStart, i).toLowerCase();
    text += html.slice(nameStart, i);
    let j = i;
    while (j < n && /\s/.test(html[j])) j++;
    if (html[j] !== "=") continue;
    j++;
    while (j < n && /\s/.test(html[j])) j++;
    text += html.slice(i, j);
    i = j;
    const open = i;
    let valueStart: number, valueEnd: number, after: number;
    const quote = html[i];
    if (quote === '"' || quote === "'") {
      valueStart = i + 1;
      const close = html.indexOf(quote, valueStart);
      valueEnd = close < 0 ? n : close;
      after = close < 0 ? n : close + 1;
    } else {
      valueStart = i;
      while (i < n && !/[\s>]/.test(html[i])) i++;
      valueEnd = i;
      after = i;
    }
    const value = html.slice(valueStart, valueEnd);
    const replaced = urlAttributes.includes(attribute) ? rewrite(value) : value;
    text += html.slice(open, valueStart) + replaced + html.slice(valueEnd, after);
    i = after;
  }
  return { text, end: n, name, selfClosing };
}

/** The outcome of {@linkcode rewriteHtmlResponse}. */
export interface RewrittenBody {
  body: ReadableStream<Uint8Array>;
  /** False when the body passes unchanged (too large, unknown encoding, not decodable). */
  rewritten: boolean;
}

/**
 * Reads an HTML response body and returns it with its links rewritten, compressed again as
 * it came; a body over {@linkcode MAX_HTML_BYTES} or in an encoding other than gzip or
 * deflate is returned unchanged (what was read first, then the rest as it comes).
 */
export async function rewriteHtmlResponse(
  body: ReadableStream<Uint8Array>,
  options: {
    contentEncoding: string | null;
    rewrite: (url: string) => string;
    logger: Logger;
  },
): Promise<RewrittenBody> {
  const encoding = (options.contentEncoding ?? "").trim().toLowerCase();
  if (encoding !== "" && encoding !== "gzip" && encoding !== "deflate") {
    options.logger.info("not rewriting the links of an HTML page in an unknown encoding", {
      encoding,
    });
    return { body, rewritten: false };
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > MAX_HTML_BYTES) {
      options.logger.info("not rewriting the links of an HTML page over the size limit", {
        limit: MAX_HTML_BYTES,
      });
      return { body: prepend(chunks, reader), rewritten: false };
    }
  }
  const raw = concat(chunks, size);
  let html: Uint8Array;
  try {
    html = encoding === "" ? raw : await transform(raw, new DecompressionStream(encoding));
  } catch {
    return { body: once(raw), rewritten: false };
  }
  if (html.byteLength > MAX_HTML_BYTES) return { body: once(raw), rewritten: false };
  const text = rewriteHtml(new TextDecoder().decode(html), options.rewrite);
  let out: Uint8Array = new TextEncoder().encode(text);
  if (encoding !== "") {
    out = await transform(out, new CompressionStream(encoding as CompressionFormat));
  }
  return { body: once(out), rewritten: true };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function transform(
  data: Uint8Array,
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> },
): Promise<Uint8Array> {
  const result = new Response(stream.readable).arrayBuffer();
  const writer = stream.writable.getWriter();
  await writer.write(data as Uint8Array<ArrayBuffer>);
  await writer.close();
  return new Uint8Array(await result);
}

function once(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(ctrl) {
      ctrl.enqueue(data);
      ctrl.close();
    },
  });
}

/** `chunks` then whatever `reader` still has. */
function prepend(
  chunks: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const head = chunks.shift();
      if (head) return ctrl.enqueue(head);
      const { done, value } = await reader.read();
      if (done) ctrl.close();
      else ctrl.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
