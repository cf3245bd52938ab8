/**
 * Reads and decodes request bodies: a size limit (413 past it), JSON, YAML (server-side apply
 * sends `application/apply-patch+yaml`) and Kubernetes protobuf (`kubectl create <generator>`).
 * Malformed input is a 400 with the parser's message; nothing is stored.
 *
 * Hostile bodies cost milliseconds: every decoded value is checked against {@linkcode MAX_DEPTH}
 * without recursion; YAML text is scanned for its nesting before the (recursive, slow) `yaml`
 * parser sees it, its aliases are bounded, and YAML that is not JSON is limited to
 * {@linkcode MAX_YAML_BYTES}, because that parser runs at well under 1 MB/s on the event loop.
 */
import YAML from "yaml";
import {
  ApiError,
  BadRequestError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from "../../shared/errors.ts";
import { checkDepth, jsonSizeUpTo, MAX_BODY_BYTES, MAX_DEPTH, tooLarge } from "./json_limits.ts";
import { decodeProtobufObject } from "./protobuf/mod.ts";

export { MAX_BODY_BYTES, MAX_DEPTH } from "./json_limits.ts";

/**
 * Largest YAML body that is not also JSON (kubectl sends JSON even as `apply-patch+yaml`, which
 * takes the fast path). The `yaml` parser needs ~2.5 µs per byte of a long list: 128 KiB keep a
 * body under ~0.3 s of event loop on this class of machine.
 */
export const MAX_YAML_BYTES = 128 * 1024;

/** Most YAML aliases resolved in one body (the `yaml` library's own default, stated). */
export const MAX_YAML_ALIASES = 100;

/** Reads the raw body, refusing more than `limit` bytes without buffering past it. */
export async function readBodyBytes(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw new TooLargeError(limit);
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Left for the server's drain (shared/drain_body.ts), so the 413 arrives whole over h2.
      reader.releaseLock();
      throw new TooLargeError(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The media type without parameters, lower-cased (`application/json`). */
export function mediaType(contentType: string | null): string {
  return (contentType ?? "application/json").split(";")[0].trim().toLowerCase();
}

const decoder = new TextDecoder();

/** Decodes a body by its Content-Type into a JSON value. */
export async function readBody(req: Request): Promise<unknown> {
  const bytes = await readBodyBytes(req);
  if (bytes.byteLength === 0) throw new BadRequestError("the request body is empty");
  return decodeBody(bytes, mediaType(req.headers.get("content-type")));
}

/** Like {@linkcode readBody} but an empty body gives `undefined` (DELETE's optional options). */
export async function readOptionalBody(req: Request): Promise<unknown> {
  if (!req.body) return undefined;
  const bytes = await readBodyBytes(req);
  if (bytes.byteLength === 0) return undefined;
  return decodeBody(bytes, mediaType(req.headers.get("content-type")));
}

function decodeBody(bytes: Uint8Array, type: string): unknown {
  switch (type) {
    case "application/vnd.kubernetes.protobuf": {
      const value = decodeProtobufObject(bytes);
      checkDepth(value);
      return value;
    }
    case "application/yaml":
    case "application/apply-patch+yaml":
      return parseText(bytes, parseYaml);
    case "application/json":
    case "application/merge-patch+json":
    case "application/json-patch+json":
    case "application/strategic-merge-patch+json":
    case "text/plain":
    case "":
      return parseText(bytes, parseJson);
    default:
      throw new UnsupportedMediaTypeError(type);
  }
}

/** Parses the text of a body; a parser's error becomes a 400 with its message. */
function parseText(bytes: Uint8Array, parse: (text: string) => unknown): unknown {
  let value: unknown;
  try {
    value = parse(decoder.decode(bytes));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new BadRequestError(
      `the body of the request could not be decoded: ${(e as Error).message}`,
    );
  }
  checkDepth(value);
  return value;
}

/**
 * `JSON.parse`, after a scan of the text's bracket depth: V8's parser takes ~0.4 s to reject a
 * megabyte of `[`, the scan a millisecond.
 */
export function parseJson(text: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 || ch === 123) {
      if (++depth > MAX_DEPTH) {
        throw new BadRequestError(
          `the body of the request could not be decoded: the JSON is nested deeper than the limit of ${MAX_DEPTH} levels`,
        );
      }
    } else if (ch === 93 || ch === 125) depth--;
  }
  return JSON.parse(text);
}

/**
 * YAML as kube-apiserver reads it, bounded: JSON (YAML's subset, what kubectl sends) is parsed as
 * JSON; other YAML must fit {@linkcode MAX_YAML_BYTES}, nest at most {@linkcode MAX_DEPTH} deep
 * (checked on the text first), and resolve at most {@linkcode MAX_YAML_ALIASES} aliases, none of
 * them into itself. Duplicate keys keep the last value, as with Kubernetes' decoder.
 */
export function parseYaml(text: string): unknown {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return parseJson(text);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      // YAML flow syntax that is not JSON: parse it as YAML below.
    }
  }
  if (text.length > MAX_YAML_BYTES) {
    throw tooLarge(
      `Request entity too large: YAML bodies are limited to ${MAX_YAML_BYTES} bytes (send JSON for larger objects)`,
    );
  }
  const depth = yamlDepthBound(text);
  if (depth > MAX_DEPTH) {
    throw new BadRequestError(
      `the body of the request could not be decoded: the YAML is nested deeper than the limit of ${MAX_DEPTH} levels`,
    );
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) throw doc.errors[0];
  const value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  // Aliases share objects: the value may expand past the body it came from (and a self-reference
  // nests without end, which the depth check below reports).
  if (jsonSizeUpTo(value, { maxBytes: 2 * MAX_BODY_BYTES }) > 2 * MAX_BODY_BYTES) {
    throw tooLarge("Request entity too large: the YAML's aliases expand past the body limit");
  }
  return value;
}

/**
 * An upper bound of how deep a YAML text nests, without parsing it: per line, the open block
 * indentation levels, plus the block indicators (`- `, `? `, `: `) on the line, plus the open
 * flow brackets. Quoted brackets count too; real documents stay far below the limit anyway.
 */
export function yamlDepthBound(text: string): number {
  const indents: number[] = [];
  let flow = 0;
  let max = 0;
  let lineStart = true;
  let indent = 0;
  let inline = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) {
      lineStart = true;
      indent = 0;
      inline = 0;
      continue;
    }
    if (lineStart) {
      if (ch === 32) {
        indent++;
        continue;
      }
      lineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop();
        indents.push(indent);
      }
    }
    if (ch === 91 || ch === 123) flow++; // [ {
    else if ((ch === 93 || ch === 125) && flow > 0) flow--; // ] }
    else if ((ch === 45 || ch === 63 || ch === 58) && text.charCodeAt(i + 1) === 32) inline++; // "- " "? " ": "
    const depth = indents.length + inline + flow;
    if (depth > max) {
      max = depth;
      if (max > MAX_DEPTH) return max;
    }
  }
  return max;
}
