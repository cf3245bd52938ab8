/**
 * Decodes a Kubernetes protobuf request body (`Content-Type: application/vnd.kubernetes.protobuf`,
 * sent by every `kubectl create <generator>` and by `kubectl autoscale`) into the JSON object a
 * JSON client would have sent. protobufjs reads the wire format against message types built from
 * our own table ({@linkcode MESSAGES}); this module then maps the result to the JSON form: special
 * types (Time, Quantity, IntOrString, bytes), inline structs, and the zero values proto2 always
 * carries but JSON's `omitempty` drops.
 */
import protobuf from "protobufjs";
import type { KubeObject } from "../../../shared/api/object.ts";
import { ApiError, BadRequestError } from "../../../shared/errors.ts";
import {
  ANY_VERSION_KINDS,
  ENVELOPE,
  type FieldSpec,
  KINDS,
  MESSAGES,
  SPECIAL_TYPES,
} from "./schema.ts";
import { rfc3339 } from "../../../shared/time.ts";

/** The four bytes `k8s\0` that open every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC: Uint8Array = new Uint8Array([0x6b, 0x38, 0x73, 0x00]);

const SCALARS = new Set(["string", "int32", "int64", "bool", "bytes", "double"]);
const ALL_MESSAGES: Readonly<Record<string, readonly FieldSpec[]>> = {
  ...ENVELOPE,
  ...SPECIAL_TYPES,
  ...MESSAGES,
};

let root: protobuf.Root | undefined;

/** Builds the protobufjs types once, on first use. */
function types(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  for (const [name, fields] of Object.entries(ALL_MESSAGES)) {
    const type = new protobuf.Type(name);
    for (const [id, field, fieldType, flags = ""] of fields) {
      type.add(
        fieldType.startsWith("map:")
          ? new protobuf.MapField(field, id, "string", fieldType.slice(4))
          : new protobuf.Field(field, id, fieldType, flags.includes("r") ? "repeated" : "optional"),
      );
    }
    r.add(type);
  }
  r.resolveAll();
  root = r;
  return r;
}

// toObject turns int64 (Long) into numbers and bytes into base64, as Kubernetes' JSON does; it
// keeps only fields present on the wire.
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: String, defaults: false };

type Json = Record<string, unknown>;

/**
 * Decodes a protobuf body into the object's JSON form, with `apiVersion` and `kind` taken from
 * the envelope. Objects always carry `metadata`; DeleteOptions (sent with DELETE) has none.
 *
 * @throws {BadRequestError} the body is not a well-formed Kubernetes protobuf message.
 * @throws {ApiError} 415 for kinds or content encodings Skiff has no protobuf decoding for.
 */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (
    body.byteLength < PROTOBUF_MAGIC.byteLength || !PROTOBUF_MAGIC.every((b, i) => body[i] === b)
  ) {
    throw new BadRequestError(
      'the protobuf body does not start with the Kubernetes magic bytes "k8s\\x00"',
    );
  }
  const r = types();
  let envelope: {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
    contentEncoding?: string;
  };
  try {
    envelope = r.lookupType("Unknown").decode(
      body.subarray(PROTOBUF_MAGIC.byteLength),
    ) as typeof envelope;
  } catch (err) {
    throw new BadRequestError(`cannot decode the protobuf envelope: ${describe(err)}`);
  }
  const apiVersion = envelope.typeMeta?.apiVersion ?? "";
  const kind = envelope.typeMeta?.kind ?? "";
  if (!apiVersion || !kind) {
    throw new BadRequestError("the protobuf envelope has no apiVersion and kind");
  }
  if (envelope.contentEncoding) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `protobuf content encoding "${envelope.contentEncoding}" is not supported`,
    );
  }
  const message = KINDS[`${apiVersion}/${kind}`] ?? ANY_VERSION_KINDS[kind];
  if (!message) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `protobuf bodies of kind ${kind} (${apiVersion}) are not supported; send application/json`,
    );
  }
  let fields: Json;
  const raw = envelope.raw ?? new Uint8Array();
  let unknown: string | undefined;
  try {
    const type = r.lookupType(message);
    const decoded = type.decode(raw);
    fields = toJson(message, type.toObject(decoded, TO_OBJECT));
    unknown = unknownField(message, raw, "");
  } catch (err) {
    throw new BadRequestError(`cannot decode the protobuf ${kind} body: ${describe(err)}`);
  }
  if (unknown) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `protobuf ${kind} bodies with ${unknown} are not supported by Skiff; send application/json`,
    );
  }
  // Objects always get metadata; option kinds (DeleteOptions) have none.
  const hasMetadata = MESSAGES[message].some(([, name]) => name === "metadata");
  return { apiVersion, kind, ...(hasMetadata ? { metadata: {} } : {}), ...fields } as KubeObject;
}

/**
 * The first field in `bytes` (a `message`) that the table does not list and that carries a
 * value, as `field 18 of PodSpec (at spec.template.spec)`; undefined when there is none.
 * protobufjs skips unknown fields silently, and Go's proto2 marshalling writes every non-pointer
 * field, set or not: a zero value (0, empty, or a message of zero values) is no data lost.
 */
function unknownField(
  message: string,
  bytes: Uint8Array,
  at: string,
  fields: readonly FieldSpec[] = ALL_MESSAGES[message],
): string | undefined {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = fields.find(([n]) => n === id);
    if (!field) {
      if (!isZeroValue(reader, wire)) {
        return `field ${id} of ${message}${at ? ` (at ${at})` : ""}`;
      }
      continue;
    }
    const [, name, type, flags = ""] = field;
    const path = flags.includes("i") ? at : at ? `${at}.${name}` : name;
    const valueType = type.startsWith("map:") ? type.slice(4) : type;
    if (wire !== 2 || !(valueType in ALL_MESSAGES)) {
      reader.skipType(wire);
      continue;
    }
    // A map's entry is a message of its own: key 1, value 2 (named as the map's path).
    const found = type.startsWith("map:")
      ? unknownField(valueType, reader.bytes(), path, mapEntry(valueType))
      : unknownField(valueType, reader.bytes(), path);
    if (found) return found;
  }
  return undefined;
}

function mapEntry(valueType: string): readonly FieldSpec[] {
  return [[1, "key", "string"], [2, "value", valueType, "i"]];
}

/** Reads one value of wire type `wire`: whether it is a zero (0, empty, or all-zero message). */
function isZeroValue(reader: protobuf.Reader, wire: number): boolean {
  switch (wire) {
    case 0:
      return isZeroLong(reader.uint64());
    case 1:
      return isZeroLong(reader.fixed64());
    case 5:
      return reader.fixed32() === 0;
    case 2: {
      const bytes = reader.bytes();
      return bytes.length === 0 || isZeroMessage(bytes);
    }
    default:
      reader.skipType(wire);
      return false;
  }
}

/** A 64-bit value from protobufjs: a Long (with the `long` package, as here) or a number. */
function isZeroLong(v: unknown): boolean {
  return typeof v === "number" ? v === 0 : (v as { isZero(): boolean }).isZero();
}

/** Whether `bytes` read as a message holds only zero values (false when it is not one). */
function isZeroMessage(bytes: Uint8Array): boolean {
  try {
    const reader = protobuf.Reader.create(bytes);
    while (reader.pos < reader.len) {
      if (!isZeroValue(reader, reader.uint32() & 7)) return false;
    }
    return true;
  } catch {
    return false; // not a message: a string or bytes with content
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Maps one decoded message (a protobufjs plain object) to its Kubernetes JSON form. */
function toJson(message: string, value: Json): Json {
  const out: Json = {};
  for (const [, name, type, flags = ""] of MESSAGES[message]) {
    const v = value[name];
    if (v === undefined || v === null) continue;
    if (flags.includes("r")) {
      const items = (v as unknown[]).map((item) => convert(type, item));
      if (items.length > 0) out[name] = items;
    } else if (type.startsWith("map:")) {
      const entries = Object.entries(v as Json);
      if (entries.length === 0) continue;
      const valueType = type.slice(4);
      out[name] = Object.fromEntries(entries.map(([k, item]) => [k, convert(valueType, item)]));
    } else {
      const converted = convert(type, v);
      if (converted === undefined) continue;
      if (!flags.includes("k") && isZero(converted)) continue;
      if (flags.includes("i")) Object.assign(out, converted);
      else out[name] = converted;
    }
  }
  return out;
}

/** Converts one value of `type`; `undefined` means "absent" (a zero Time). */
function convert(type: string, value: unknown): unknown {
  if (SCALARS.has(type)) return value;
  const v = value as Json;
  switch (type) {
    case "Time":
      return timeToJson(v);
    case "Quantity":
      // A Quantity is always marshalled with its canonical string; "0" is its zero.
      return typeof v.string === "string" ? v.string : "0";
    case "IntOrString":
      return Number(v.type ?? 0) === 1 ? (v.strVal ?? "") : (v.intVal ?? 0);
    default:
      return toJson(type, v);
  }
}

/** meta/v1 Time: a zero time is marshalled as an empty message and means "unset". */
function timeToJson(v: Json): string | undefined {
  if (v.seconds === undefined) return undefined;
  const ms = Number(v.seconds) * 1000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`time ${v.seconds}s is out of range`);
  return rfc3339(date);
}

function isZero(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}
