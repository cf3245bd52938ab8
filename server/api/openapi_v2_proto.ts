/**
 * Encodes the Swagger 2.0 document as the protobuf message kubectl asks `/openapi/v2` for
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): gnostic's `openapi.v2.Document`.
 *
 * The field numbers are gnostic's published wire contract (OpenAPIv2.proto); the table below is
 * ours and lists only the messages our document uses. gnostic's `Any` carries values as YAML
 * text, which is how kube-openapi reads vendor extensions such as
 * `x-kubernetes-group-version-kind` back.
 */
import protobuf from "protobufjs";
import { stringify } from "yaml";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** `[number, name, type, repeated?]` per field, by message name. */
const MESSAGES: Record<string, [number, string, string, boolean?][]> = {
  Document: [
    [1, "swagger", "string"],
    [2, "info", "Info"],
    [5, "schemes", "string", true],
    [6, "consumes", "string", true],
    [7, "produces", "string", true],
    [8, "paths", "Paths"],
    [9, "definitions", "Definitions"],
    [12, "security", "SecurityRequirement", true],
    [13, "securityDefinitions", "SecurityDefinitions"],
    [16, "vendorExtension", "NamedAny", true],
  ],
  Info: [[1, "title", "string"], [2, "version", "string"], [3, "description", "string"]],
  Any: [[2, "yaml", "string"]],
  NamedAny: [[1, "name", "string"], [2, "value", "Any"]],
  Paths: [[1, "vendorExtension", "NamedAny", true], [2, "path", "NamedPathItem", true]],
  NamedPathItem: [[1, "name", "string"], [2, "value", "PathItem"]],
  PathItem: [
    [2, "get", "Operation"],
    [3, "put", "Operation"],
    [4, "post", "Operation"],
    [5, "delete", "Operation"],
    [6, "options", "Operation"],
    [7, "head", "Operation"],
    [8, "patch", "Operation"],
    [9, "parameters", "ParametersItem", true],
    [10, "vendorExtension", "NamedAny", true],
  ],
  Operation: [
    [1, "tags", "string", true],
    [2, "summary", "string"],
    [3, "description", "string"],
    [5, "operationId", "string"],
    [6, "produces", "string", true],
    [7, "consumes", "string", true],
    [8, "parameters", "ParametersItem", true],
    [9, "responses", "Responses"],
    [10, "schemes", "string", true],
    [13, "vendorExtension", "NamedAny", true],
  ],
  ParametersItem: [[1, "parameter", "Parameter"]],
  Parameter: [[1, "bodyParameter", "BodyParameter"], [2, "nonBodyParameter", "NonBodyParameter"]],
  BodyParameter: [
    [1, "description", "string"],
    [2, "name", "string"],
    [3, "in", "string"],
    [4, "required", "bool"],
    [5, "schema", "Schema"],
  ],
  NonBodyParameter: [
    [3, "queryParameterSubSchema", "QueryParameterSubSchema"],
    [4, "pathParameterSubSchema", "PathParameterSubSchema"],
  ],
  QueryParameterSubSchema: [
    [1, "required", "bool"],
    [2, "in", "string"],
    [3, "description", "string"],
    [4, "name", "string"],
    [6, "type", "string"],
    [20, "uniqueItems", "bool"],
  ],
  PathParameterSubSchema: [
    [1, "required", "bool"],
    [2, "in", "string"],
    [3, "description", "string"],
    [4, "name", "string"],
    [5, "type", "string"],
    [19, "uniqueItems", "bool"],
  ],
  Responses: [[1, "responseCode", "NamedResponseValue", true]],
  NamedResponseValue: [[1, "name", "string"], [2, "value", "ResponseValue"]],
  ResponseValue: [[1, "response", "Response"]],
  Response: [[1, "description", "string"], [2, "schema", "SchemaItem"]],
  SchemaItem: [[1, "schema", "Schema"]],
  Schema: [
    [1, "_ref", "string"],
    [2, "format", "string"],
    [3, "title", "string"],
    [4, "description", "string"],
    [5, "default", "Any"],
    [6, "multipleOf", "double"],
    [7, "maximum", "double"],
    [8, "exclusiveMaximum", "bool"],
    [9, "minimum", "double"],
    [10, "exclusiveMinimum", "bool"],
    [11, "maxLength", "int64"],
    [12, "minLength", "int64"],
    [13, "pattern", "string"],
    [14, "maxItems", "int64"],
    [15, "minItems", "int64"],
    [16, "uniqueItems", "bool"],
    [17, "maxProperties", "int64"],
    [18, "minProperties", "int64"],
    [19, "required", "string", true],
    [20, "enum", "Any", true],
    [21, "additionalProperties", "AdditionalPropertiesItem"],
    [22, "type", "TypeItem"],
    [23, "items", "ItemsItem"],
    [24, "allOf", "Schema", true],
    [25, "properties", "Properties"],
    [27, "readOnly", "bool"],
    [30, "example", "Any"],
    [31, "vendorExtension", "NamedAny", true],
  ],
  AdditionalPropertiesItem: [[1, "schema", "Schema"], [2, "boolean", "bool"]],
  TypeItem: [[1, "value", "string", true]],
  ItemsItem: [[1, "schema", "Schema", true]],
  Properties: [[1, "additionalProperties", "NamedSchema", true]],
  NamedSchema: [[1, "name", "string"], [2, "value", "Schema"]],
  Definitions: [[1, "additionalProperties", "NamedSchema", true]],
  SecurityRequirement: [[1, "additionalProperties", "NamedStringArray", true]],
  NamedStringArray: [[1, "name", "string"], [2, "value", "StringArray"]],
  StringArray: [[1, "value", "string", true]],
  SecurityDefinitions: [[1, "additionalProperties", "NamedSecurityDefinitionsItem", true]],
  NamedSecurityDefinitionsItem: [[1, "name", "string"], [2, "value", "SecurityDefinitionsItem"]],
  SecurityDefinitionsItem: [[2, "apiKeySecurity", "ApiKeySecurity"]],
  ApiKeySecurity: [
    [1, "type", "string"],
    [2, "name", "string"],
    [3, "in", "string"],
    [4, "description", "string"],
  ],
};

let documentType: protobuf.Type | undefined;

function documentMessage(): protobuf.Type {
  if (documentType) return documentType;
  const root = new protobuf.Root();
  for (const [name, fields] of Object.entries(MESSAGES)) {
    const type = new protobuf.Type(name);
    for (const [id, field, fieldType, repeated] of fields) {
      type.add(new protobuf.Field(field, id, fieldType, repeated ? "repeated" : "optional"));
    }
    root.add(type);
  }
  root.resolveAll();
  documentType = root.lookupType("Document");
  return documentType;
}

const any = (value: unknown): Json => ({ yaml: stringify(value) });

function extensions(obj: Json): Json[] {
  return Object.entries(obj)
    .filter(([k]) => k.startsWith("x-"))
    .map(([name, value]) => ({ name, value: any(value) }));
}

const SCALARS = [
  "format",
  "title",
  "description",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxProperties",
  "minProperties",
  "readOnly",
];

function schema(s: Json): Json {
  const out: Json = {};
  if (s.$ref) out._ref = s.$ref;
  for (const k of SCALARS) if (s[k] !== undefined) out[k] = s[k];
  if (s.default !== undefined) out.default = any(s.default);
  if (s.example !== undefined) out.example = any(s.example);
  if (Array.isArray(s.required)) out.required = s.required;
  if (Array.isArray(s.enum)) out.enum = s.enum.map(any);
  if (typeof s.additionalProperties === "boolean") {
    out.additionalProperties = { boolean: s.additionalProperties };
  } else if (s.additionalProperties) {
    out.additionalProperties = { schema: schema(s.additionalProperties) };
  }
  if (s.type) out.type = { value: Array.isArray(s.type) ? s.type : [s.type] };
  if (s.items) out.items = { schema: [schema(s.items)] };
  if (Array.isArray(s.allOf)) out.allOf = s.allOf.map(schema);
  if (s.properties) {
    out.properties = {
      additionalProperties: Object.entries(s.properties as Json).map(([name, v]) => ({
        name,
        value: schema(v),
      })),
    };
  }
  const ext = extensions(s);
  if (ext.length) out.vendorExtension = ext;
  return out;
}

function parameter(p: Json): Json {
  if (p.in === "body") {
    return {
      parameter: {
        bodyParameter: {
          name: p.name,
          in: p.in,
          required: p.required,
          description: p.description,
          schema: schema(p.schema ?? {}),
        },
      },
    };
  }
  const sub = {
    name: p.name,
    in: p.in,
    required: p.required,
    description: p.description,
    type: p.type,
    uniqueItems: p.uniqueItems,
  };
  return {
    parameter: {
      nonBodyParameter: p.in === "path"
        ? { pathParameterSubSchema: sub }
        : { queryParameterSubSchema: sub },
    },
  };
}

function operation(op: Json): Json {
  return {
    tags: op.tags,
    summary: op.summary,
    description: op.description,
    operationId: op.operationId,
    produces: op.produces,
    consumes: op.consumes,
    schemes: op.schemes,
    parameters: (op.parameters ?? []).map(parameter),
    responses: {
      responseCode: Object.entries((op.responses ?? {}) as Json).map(([name, r]) => ({
        name,
        value: {
          response: {
            description: r.description,
            ...(r.schema ? { schema: { schema: schema(r.schema) } } : {}),
          },
        },
      })),
    },
    vendorExtension: extensions(op),
  };
}

function pathItem(item: Json): Json {
  const out: Json = { parameters: (item.parameters ?? []).map(parameter) };
  for (const m of ["get", "put", "post", "delete", "options", "head", "patch"]) {
    if (item[m]) out[m] = operation(item[m]);
  }
  out.vendorExtension = extensions(item);
  return out;
}

/** The gnostic `openapi.v2.Document` encoding of a Swagger 2.0 JSON document. */
export function encodeOpenApiV2(doc: Json): Uint8Array {
  const message = {
    swagger: doc.swagger,
    info: doc.info,
    schemes: doc.schemes,
    consumes: doc.consumes,
    produces: doc.produces,
    paths: {
      path: Object.entries(doc.paths as Json).map(([name, v]) => ({ name, value: pathItem(v) })),
    },
    definitions: {
      additionalProperties: Object.entries(doc.definitions as Json).map(([name, v]) => ({
        name,
        value: schema(v),
      })),
    },
    security: ((doc.security ?? []) as Json[]).map((req) => ({
      additionalProperties: Object.entries(req).map(([name, scopes]) => ({
        name,
        value: { value: scopes },
      })),
    })),
    securityDefinitions: {
      additionalProperties: Object.entries((doc.securityDefinitions ?? {}) as Json).map((
        [name, v],
      ) => ({ name, value: { apiKeySecurity: v } })),
    },
    vendorExtension: extensions(doc),
  };
  const type = documentMessage();
  return type.encode(type.fromObject(message)).finish();
}

/** Decodes {@linkcode encodeOpenApiV2}'s output back to plain objects (for tests and tools). */
export function decodeOpenApiV2(bytes: Uint8Array): Json {
  const type = documentMessage();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as Json;
}
