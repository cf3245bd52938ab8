/**
 * The structural OpenAPI v3 schemas of CustomResourceDefinitions (`openAPIV3Schema`) applied to
 * custom resources, as kube-apiextensions-apiserver does on every write: pruning of fields the
 * schema does not declare, defaulting from `default`, then validation (types, required, enum,
 * pattern, bounds, lengths, item counts, formats, nullable, the `x-kubernetes-*` extensions),
 * with Kubernetes' wording (`spec.replicas: Invalid value: "string": spec.replicas in body must
 * be of type integer: "string"`). Also the structural-schema checks run when a CRD is written.
 */
import { FieldErrors, isIP } from "../../shared/api/field_errors.ts";
import { isBase64, isDate, isDateTime, isUUID } from "./string_formats.ts";

/** apiextensions/v1 JSONSchemaProps, the part Skiff reads. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: boolean | JSONSchemaProps;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [extension: string]: unknown;
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function join(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

/** The schema of a map value under `additionalProperties`, if it declares one. */
function additional(s: JSONSchemaProps): JSONSchemaProps | undefined {
  return isObject(s.additionalProperties) ? s.additionalProperties as JSONSchemaProps : undefined;
}

/** Fields every object keeps at its root and at embedded resources. */
const EMBEDDED_FIELDS = ["apiVersion", "kind", "metadata"];

/**
 * Removes, in place, every field the schema does not declare (unless it preserves unknown
 * fields) and returns their paths (`spec.foo`), as kube-apiserver's pruning does. `root` keeps
 * apiVersion, kind and metadata at the top level.
 */
export function prune(
  value: unknown,
  schema: JSONSchemaProps,
  options: { root?: boolean; path?: string } = {},
): string[] {
  const pruned: string[] = [];
  walkPrune(value, schema, options.path ?? "", options.root ?? true, pruned);
  return pruned;
}

function walkPrune(
  value: unknown,
  s: JSONSchemaProps,
  path: string,
  embedded: boolean,
  out: string[],
): void {
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => walkPrune(v, s.items!, join(path, i), false, out));
    return;
  }
  if (!isObject(value)) return;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  const embeds = embedded || s["x-kubernetes-embedded-resource"] === true;
  const props = s.properties ?? {};
  const extra = additional(s);
  for (const key of Object.keys(value)) {
    const child = props[key] ?? extra;
    if (child) {
      walkPrune(value[key], child, join(path, key), false, out);
    } else if (embeds && EMBEDDED_FIELDS.includes(key)) {
      continue;
    } else if (!preserve && s.additionalProperties !== true) {
      delete value[key];
      out.push(join(path, key));
    }
  }
}

/**
 * Applies `default`s in place (top-down, so a defaulted object gets its own fields' defaults),
 * as kube-apiserver's structural defaulting: a field that is absent — or null while not
 * nullable — gets a deep copy of its default.
 */
export function applyDefaults(value: unknown, s: JSONSchemaProps): void {
  if (Array.isArray(value)) {
    if (s.items) { for (const v of value) applyDefaults(v, s.items); }
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const absent = !(key in value) || (value[key] === null && !child.nullable);
    if (absent && child.default !== undefined) value[key] = structuredClone(child.default);
    if (key in value) applyDefaults(value[key], child);
  }
  const extra = additional(s);
  if (extra) {
    for (const key of Object.keys(value)) {
      if (!(s.properties ?? {})[key]) applyDefaults(value[key], extra);
    }
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    default:
      return true;
  }
}

const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** The formats checked (kube-openapi's cheap ones); other formats are accepted as is. */
function formatOk(format: string, v: unknown): boolean {
  if (typeof v === "number") {
    if (format === "int32") return v >= -2147483648 && v <= 2147483647;
    return true;
  }
  if (typeof v !== "string") return true;
  switch (format) {
    case "date-time":
      return isDateTime(v);
    case "date":
      return isDate(v);
    case "uuid":
      return isUUID(v);
    case "byte":
      return isBase64(v);
    case "ipv4":
      return isIP(v) && !v.includes(":");
    case "ipv6":
      return isIP(v) && v.includes(":");
    case "hostname":
      return v.length <= 253 && HOSTNAME.test(v);
    default:
      return true;
  }
}

/**
 * Validates `value` against the schema, adding Kubernetes field errors to `errs`. `path` is the
 * field path of `value` (`""` at the root of the object).
 */
export function validateValue(
  value: unknown,
  s: JSONSchemaProps,
  path: string,
  errs: FieldErrors,
): void {
  const where = path || "<root>";
  if (value === null) {
    if (s.nullable || s["x-kubernetes-preserve-unknown-fields"] && !s.type) return;
    if (s.type || s["x-kubernetes-int-or-string"]) {
      errs.invalid(path, "null", `${where} in body must be of type ${s.type ?? "string"}: "null"`);
    }
    return;
  }
  if (s["x-kubernetes-int-or-string"]) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      errs.invalid(
        path,
        typeName(value),
        `${where} in body must be of type integer,string: "${typeName(value)}"`,
      );
      return;
    }
  } else if (s.type && !typeMatches(s.type, value)) {
    errs.invalid(
      path,
      typeName(value),
      `${where} in body must be of type ${s.type}: "${typeName(value)}"`,
    );
    return;
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.notSupported(path, value, s.enum);
  }
  if (s.format && !formatOk(s.format, value)) {
    errs.invalid(
      path,
      value,
      `${where} in body must be of type ${s.format}: ${JSON.stringify(value)}`,
    );
  }
  if (typeof value === "number") validateNumber(value, s, path, errs);
  if (typeof value === "string") validateString(value, s, path, errs);
  if (Array.isArray(value)) validateArray(value, s, path, errs);
  if (isObject(value)) validateObject(value, s, path, errs);
  validateCombinators(value, s, path, errs);
}

function validateNumber(v: number, s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  const where = path || "<root>";
  if (s.minimum !== undefined) {
    if (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum) {
      errs.invalid(
        path,
        v,
        `${where} in body should be greater than ${
          s.exclusiveMinimum ? "" : "or equal to "
        }${s.minimum}`,
      );
    }
  }
  if (s.maximum !== undefined) {
    if (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum) {
      errs.invalid(
        path,
        v,
        `${where} in body should be less than ${
          s.exclusiveMaximum ? "" : "or equal to "
        }${s.maximum}`,
      );
    }
  }
  if (s.multipleOf !== undefined && s.multipleOf > 0) {
    const q = v / s.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) {
      errs.invalid(path, v, `${where} in body should be a multiple of ${s.multipleOf}`);
    }
  }
}

function validateString(v: string, s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  const where = path || "<root>";
  const length = [...v].length;
  if (s.minLength !== undefined && length < s.minLength) {
    errs.invalid(path, v, `${where} in body should be at least ${s.minLength} chars long`);
  }
  if (s.maxLength !== undefined && length > s.maxLength) {
    errs.causes.push({
      reason: "FieldValueTooLong",
      message: `Too long: may not be more than ${s.maxLength} bytes`,
      field: path,
    });
  }
  if (s.pattern !== undefined) {
    const re = compilePattern(s.pattern);
    if (re && !re.test(v)) errs.invalid(path, v, `${where} in body should match '${s.pattern}'`);
  }
}

const patterns = new Map<string, RegExp | null>();

/** ECMA-262 regexes, as the schema's `pattern` is; an invalid one is refused at CRD creation. */
export function compilePattern(pattern: string): RegExp | null {
  let re = patterns.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, "u");
    } catch {
      re = null;
    }
    if (patterns.size > 1000) patterns.clear();
    patterns.set(pattern, re);
  }
  return re;
}

function validateArray(v: unknown[], s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  const where = path || "<root>";
  if (s.minItems !== undefined && v.length < s.minItems) {
    errs.invalid(path, v.length, `${where} in body should have at least ${s.minItems} items`);
  }
  if (s.maxItems !== undefined && v.length > s.maxItems) {
    errs.causes.push({
      reason: "FieldValueTooMany",
      message: `Too many: ${v.length}: must have at most ${s.maxItems} items`,
      field: path,
    });
  }
  if (s.uniqueItems) {
    const seen = new Set<string>();
    v.forEach((item, i) => {
      const k = JSON.stringify(item);
      if (seen.has(k)) errs.duplicate(join(path, i), item);
      seen.add(k);
    });
  }
  if (s.items) v.forEach((item, i) => validateValue(item, s.items!, join(path, i), errs));
}

function validateObject(v: Obj, s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  const where = path || "<root>";
  for (const r of s.required ?? []) {
    if (!(r in v)) errs.required(join(path, r));
  }
  const n = Object.keys(v).length;
  if (s.minProperties !== undefined && n < s.minProperties) {
    errs.invalid(path, n, `${where} in body should have at least ${s.minProperties} properties`);
  }
  if (s.maxProperties !== undefined && n > s.maxProperties) {
    errs.invalid(path, n, `${where} in body should have at most ${s.maxProperties} properties`);
  }
  const extra = additional(s);
  for (const [key, child] of Object.entries(v)) {
    const cs = s.properties?.[key] ?? extra;
    if (cs) validateValue(child, cs, join(path, key), errs);
  }
  if (s["x-kubernetes-embedded-resource"]) {
    if (typeof v.apiVersion !== "string" || v.apiVersion === "") {
      errs.required(join(path, "apiVersion"));
    }
    if (typeof v.kind !== "string" || v.kind === "") errs.required(join(path, "kind"));
  }
}

function validateCombinators(
  value: unknown,
  s: JSONSchemaProps,
  path: string,
  errs: FieldErrors,
): void {
  const where = path || "<root>";
  const failures = (sub: JSONSchemaProps) => {
    const e = new FieldErrors();
    validateValue(value, sub, path, e);
    return e;
  };
  for (const sub of s.allOf ?? []) errs.add(failures(sub).causes);
  if (s.anyOf && !s.anyOf.some((sub) => failures(sub).empty)) {
    errs.invalid(
      path,
      value,
      `${where} in body must be valid against at least one schema of anyOf`,
    );
  }
  if (s.oneOf && s.oneOf.filter((sub) => failures(sub).empty).length !== 1) {
    errs.invalid(path, value, `${where} in body must validate one and only one schema (oneOf)`);
  }
  if (s.not && failures(s.not).empty) {
    errs.invalid(path, value, `${where} in body must not validate the schema (not)`);
  }
}

const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);

/**
 * The structural-schema rules a CRD's `openAPIV3Schema` must follow (kube-apiextensions'
 * `ValidateStructural` plus the checks of `ValidateCustomResourceDefinitionOpenAPISchema` that
 * matter to a server which reads the schema): every field has a type (or int-or-string /
 * preserve-unknown-fields), the root is an object, arrays have items, properties and
 * additionalProperties are exclusive, patterns compile, defaults validate, and `metadata` at the
 * root declares at most name and generateName.
 */
export function structuralErrors(s: unknown, path: string): FieldErrors {
  const errs = new FieldErrors();
  if (!isObject(s)) {
    errs.required(path, "must be an object schema");
    return errs;
  }
  checkNode(s as JSONSchemaProps, path, errs, { root: true, inCombinator: false });
  return errs;
}

function checkNode(
  s: JSONSchemaProps,
  path: string,
  errs: FieldErrors,
  at: { root: boolean; inCombinator: boolean },
): void {
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (s.type !== undefined && (typeof s.type !== "string" || !TYPES.has(s.type))) {
    errs.notSupported(join(path, "type"), s.type, [...TYPES]);
  }
  if (at.inCombinator) {
    if (s.type !== undefined) {
      errs.forbidden(join(path, "type"), "must be empty to be structural");
    }
    if (s.default !== undefined) {
      errs.forbidden(join(path, "default"), "must be undefined to be structural");
    }
  } else if (!s.type && !intOrString && !(preserve && !at.root)) {
    errs.required(join(path, "type"), "must not be empty for specified object fields");
  }
  if (at.root && s.type && s.type !== "object") {
    errs.invalid(join(path, "type"), s.type, "must be object at the root");
  }
  if (intOrString && s.type) {
    errs.forbidden(join(path, "type"), "must be empty if x-kubernetes-int-or-string is true");
  }
  if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    errs.forbidden(
      join(path, "additionalProperties"),
      "additionalProperties and properties are mutual exclusive",
    );
  }
  if (s.type === "array" && !s.items && !at.inCombinator) {
    errs.required(join(path, "items"), "must be specified");
  }
  if (s.pattern !== undefined && (typeof s.pattern !== "string" || !compilePattern(s.pattern))) {
    errs.invalid(join(path, "pattern"), s.pattern, "must be a valid regular expression");
  }
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const p = `${path}.properties[${key}]`;
    if (!isObject(child)) {
      errs.invalid(p, child, "must be a schema object");
      continue;
    }
    if (at.root && key === "metadata") checkRootMetadata(child, p, errs);
    checkNode(child, p, errs, { root: false, inCombinator: at.inCombinator });
  }
  if (s.items !== undefined) {
    if (!isObject(s.items)) errs.invalid(join(path, "items"), s.items, "must be a schema object");
    else {checkNode(s.items, join(path, "items"), errs, {
        root: false,
        inCombinator: at.inCombinator,
      });}
  }
  const extra = additional(s);
  if (extra) checkNode(extra, join(path, "additionalProperties"), errs, { ...at, root: false });
  for (const key of ["allOf", "anyOf", "oneOf"] as const) {
    (s[key] ?? []).forEach((sub, i) => {
      if (isObject(sub)) {
        checkNode(sub, `${path}.${key}[${i}]`, errs, { root: false, inCombinator: true });
      }
    });
  }
  if (isObject(s.not)) checkNode(s.not, `${path}.not`, errs, { root: false, inCombinator: true });
  if (s.default !== undefined && !at.inCombinator) {
    // A default must itself be valid (kube-apiextensions validates it like an object's value).
    validateValue(structuredClone(s.default), s, join(path, "default"), errs);
  }
}

function checkRootMetadata(s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  if (s.type !== undefined && s.type !== "object") {
    errs.invalid(join(path, "type"), s.type, "must be object");
  }
  for (const key of Object.keys(s.properties ?? {})) {
    if (key !== "name" && key !== "generateName") {
      errs.forbidden(
        `${path}.properties[${key}]`,
        "must not specify anything other than name and generateName, but metadata is implicitly specified",
      );
    }
  }
}
