/**
 * Reads and decodes request bodies: a size limit (413 past it), JSON, YAML (server-side apply
 * sends `application/apply-patch+yaml`) and Kubernetes protobuf (`kubectl create <generator>`).
 * Malformed input is a 400 with the parser's message; nothing is stored.
 */
import YAML from "yaml";
import { BadRequestError, TooLargeError, UnsupportedMediaTypeError } from "../../shared/errors.ts";
import { decodeProtobufObject } from "./protobuf/mod.ts";

/** Largest body accepted (kube-apiserver's limit is 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

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
      await reader.cancel();
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
    case "application/vnd.kubernetes.protobuf":
      return decodeProtobufObject(bytes);
    case "application/yaml":
    case "application/apply-patch+yaml":
      return parseText(bytes, YAML.parse);
    case "application/json":
    case "application/merge-patch+json":
    case "application/json-patch+json":
    case "application/strategic-merge-patch+json":
    case "text/plain":
    case "":
      return parseText(bytes, JSON.parse);
    default:
      throw new UnsupportedMediaTypeError(type);
  }
}

/** Parses the text of a body; a parser's error becomes a 400 with its message. */
function parseText(bytes: Uint8Array, parse: (text: string) => unknown): unknown {
  try {
    return parse(decoder.decode(bytes));
  } catch (e) {
    throw new BadRequestError(
      `the body of the request could not be decoded: ${(e as Error).message}`,
    );
  }
}
