/**
 * The Swagger 2.0 (OpenAPI v2) document at `GET /openapi/v2`, derived from the same per-group
 * OpenAPI v3 documents (and so from the same zod schemas) as `/openapi/v3`.
 *
 * kubectl still reads v2 for client-side validation whenever the server cannot validate a kind
 * itself — notably `kind: List` files, what `kubectl get … -o yaml` writes — and it asks for the
 * protobuf form only (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the
 * gnostic `openapi.v2.Document` message; see `openapi_v2_proto.ts`). JSON is served too, as
 * kube-apiserver does for other Accept headers. Both forms carry an ETag and answer a matching
 * `If-None-Match` with 304.
 */
import { sha256Hex } from "../../shared/crypto_util.ts";
import { openApiV3Documents } from "./openapi.ts";
import { encodeOpenApiV2 } from "./openapi_v2_proto.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const V3_REF = "#/components/schemas/";
const V2_REF = "#/definitions/";

/**
 * One v3 (OpenAPI 3.0) schema as a Swagger 2.0 schema: `$ref`s point at `definitions`, a lone
 * `allOf` reference becomes the reference itself, `nullable` goes, and `anyOf`/`oneOf` (which
 * Swagger 2.0 cannot say) become an unconstrained schema, as kube-openapi publishes such fields.
 * Objects that also allow unknown properties (zod's loose objects) are published as maps, so a
 * client never rejects a field the server accepts.
 */
export function toV2Schema(s: unknown): Json {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return {};
  const v3 = s as Json;
  if (typeof v3.$ref === "string") return { $ref: v2Ref(v3.$ref) };
  if (Array.isArray(v3.allOf) && v3.allOf.length === 1 && v3.allOf[0]?.$ref) {
    const out: Json = { $ref: v2Ref(v3.allOf[0].$ref) };
    if (v3.description) out.description = v3.description;
    return out;
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(v3)) {
    switch (k) {
      case "nullable":
      case "anyOf":
      case "oneOf":
      case "$schema":
      case "$id":
        break;
      case "properties": {
        const props: Json = {};
        for (const [name, inner] of Object.entries(v as Json)) props[name] = toV2Schema(inner);
        out.properties = props;
        break;
      }
      case "items":
        out.items = toV2Schema(v);
        break;
      case "additionalProperties":
        out.additionalProperties = typeof v === "boolean" ? v : toV2Schema(v);
        break;
      case "allOf":
        out.allOf = (v as unknown[]).map(toV2Schema);
        break;
      case "exclusiveMinimum":
      case "exclusiveMaximum":
        // 3.0 and 2.0 both spell these as booleans beside minimum/maximum; JSON Schema's numeric
        // form (zod's output for gt/lt) becomes the bound plus the flag.
        if (typeof v === "number") {
          out[k === "exclusiveMinimum" ? "minimum" : "maximum"] = v;
          out[k] = true;
        } else out[k] = v;
        break;
      default:
        out[k] = v;
    }
  }
  if ((v3.anyOf || v3.oneOf) && !v3.type) delete out.type;
  if (out.properties && out.additionalProperties !== undefined) {
    // A loose object: keep it open rather than let a client call its extra fields unknown.
    if (out.additionalProperties !== false) {
      delete out.properties;
      delete out.required;
      out.additionalProperties = {};
    } else delete out.additionalProperties;
  }
  return out;
}

function v2Ref(ref: string): string {
  return ref.startsWith(V3_REF) ? V2_REF + ref.slice(V3_REF.length) : ref;
}

/** A v3 parameter (`schema` nested) as a v2 non-body parameter (type beside the name). */
function toV2Parameter(p: Json): Json {
  const { schema, ...rest } = p;
  const out: Json = { ...rest };
  const s = toV2Schema(schema);
  out.type = typeof s.type === "string" ? s.type : "string";
  if (s.uniqueItems) out.uniqueItems = true;
  return out;
}

/** A v3 operation as a v2 one: the request body becomes an `in: body` parameter. */
function toV2Operation(op: Json): Json {
  const { requestBody, responses, parameters, ...rest } = op;
  const out: Json = { ...rest };
  const params = ((parameters ?? []) as Json[]).map(toV2Parameter);
  const consumes = new Set<string>();
  if (requestBody?.content) {
    const entries = Object.entries(requestBody.content as Record<string, Json>);
    for (const [type] of entries) consumes.add(type);
    params.push({
      name: "body",
      in: "body",
      required: requestBody.required === true,
      schema: toV2Schema(entries[0]?.[1]?.schema),
    });
  }
  if (params.length) out.parameters = params;
  if (consumes.size) out.consumes = [...consumes];
  out.produces = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
  out.schemes = ["https"];
  const rs: Json = {};
  for (const [code, r] of Object.entries((responses ?? {}) as Record<string, Json>)) {
    const schema = r.content?.["application/json"]?.schema;
    rs[code] = schema
      ? { description: r.description, schema: toV2Schema(schema) }
      : { description: r.description };
  }
  out.responses = rs;
  return out;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];

function toV2PathItem(item: Json): Json {
  const out: Json = {};
  if (Array.isArray(item.parameters) && item.parameters.length) {
    out.parameters = item.parameters.map(toV2Parameter);
  }
  for (const m of METHODS) if (item[m]) out[m] = toV2Operation(item[m]);
  return out;
}

let cached: Json | undefined;

/**
 * The whole v2 document as JSON: every served group-version in one document, with the custom
 * resource documents (`custom`) after the built-in ones. Built once when there are none.
 */
export function openApiV2(custom: Iterable<Json> = []): Json {
  const docs = [...custom];
  if (cached && docs.length === 0) return cached;
  const paths: Json = {};
  const definitions: Json = {};
  for (const doc of [...openApiV3Documents(), ...docs]) {
    for (const [p, item] of Object.entries(doc.paths as Json)) paths[p] = toV2PathItem(item);
    for (const [id, s] of Object.entries(doc.components.schemas as Json)) {
      definitions[id] ??= toV2Schema(s);
    }
  }
  const sortedPaths: Json = {};
  for (const p of Object.keys(paths).sort()) sortedPaths[p] = paths[p];
  const sortedDefs: Json = {};
  for (const id of Object.keys(definitions).sort()) sortedDefs[id] = definitions[id];
  const out = {
    swagger: "2.0",
    info: { title: "Skiff", version: "v1.32.0" },
    paths: sortedPaths,
    definitions: sortedDefs,
    securityDefinitions: {
      BearerToken: {
        type: "apiKey",
        name: "authorization",
        in: "header",
        description: "Bearer Token authentication",
      },
    },
    security: [{ BearerToken: [] }],
  };
  if (docs.length === 0) cached = out;
  return out;
}

/**
 * The media type of the protobuf form. kubectl asks for the older spelling with `@v1.0`, which
 * is not a valid media type to answer with: kube-openapi accepts both and answers with this one.
 */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/** Whether an Accept header asks for the protobuf form (either spelling). */
export function wantsOpenApiV2Protobuf(accept: string): boolean {
  return accept.includes("com.github.proto-openapi.spec.v2");
}

/** The served forms of the v2 document, encoded once, with one ETag per form. */
export interface ServedOpenApiV2 {
  json: { body: string; etag: string };
  protobuf: { body: Uint8Array<ArrayBuffer>; etag: string };
}

let served: (ServedOpenApiV2 & { generation: number }) | undefined;

/**
 * {@linkcode openApiV2} serialised as JSON and as protobuf, with strong ETags; rebuilt when the
 * custom resource documents change (`custom.generation` moves), so the ETag changes with them.
 */
export async function servedOpenApiV2(
  custom: { generation: number; documents: () => Iterable<Json> } = {
    generation: 0,
    documents: () => [],
  },
): Promise<ServedOpenApiV2> {
  if (served && served.generation === custom.generation) return served;
  const doc = openApiV2(custom.documents());
  const json = JSON.stringify(doc);
  const proto = new Uint8Array(encodeOpenApiV2(doc));
  const etag = async (bytes: Uint8Array) => `"${(await sha256Hex(bytes)).slice(0, 32)}"`;
  served = {
    generation: custom.generation,
    json: { body: json, etag: await etag(new TextEncoder().encode(json)) },
    protobuf: { body: proto, etag: await etag(proto) },
  };
  return served;
}
