/**
 * CRD validation rules (`x-kubernetes-validations`), as kube-apiextensions-apiserver runs them:
 * every rule of a CRD's schema is compiled when the CRD is written (a rule that does not compile,
 * does not yield a bool, or names a bad `fieldPath`/`reason` refuses the CRD with a 422 naming
 * it), and evaluated on every write of a custom resource, with `self` bound to the value at the
 * rule's place in the schema — integers as CEL ints, `date-time` strings as timestamps, property
 * names escaped as Kubernetes escapes them (`foo-bar` is `self.foo__dash__bar`), the root's
 * metadata reduced to `name` and `generateName`.
 *
 * Transition rules (those that read `oldSelf`) run only on updates where the old value exists at
 * the same place (objects by property, maps by key, `listType: map` lists by their keys; `set`
 * and atomic lists do not correlate items), unless `optionalOldSelf` makes `oldSelf` an optional.
 * As with Kubernetes' validation ratcheting, a rule that does not read `oldSelf` is not
 * re-checked on a value an update leaves unchanged. A failed rule is a field error at the rule's
 * place (plus its `fieldPath`), with its `reason`, its `message`, its `messageExpression`'s
 * result, or `failed rule: <rule>`; an evaluation error says `<error> evaluating rule: <rule>`.
 *
 * Unlike kube-apiserver, no CEL cost budget is estimated or enforced: only the request size
 * bounds what a rule iterates over.
 */
import { Optional } from "@marcbachmann/cel-js";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import { jsonEqual } from "../../shared/api/validation.ts";
import { validationRuleEnvironment } from "./cel_library.ts";
import type { JSONSchemaProps } from "./schema.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** One entry of `x-kubernetes-validations`. */
interface ValidationRule {
  rule?: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  optionalOldSelf?: boolean;
}

const REASONS = [
  "FieldValueInvalid",
  "FieldValueForbidden",
  "FieldValueRequired",
  "FieldValueDuplicate",
];

/** The environments of rules without and with `optionalOldSelf`. */
const envs = [validationRuleEnvironment(false), validationRuleEnvironment(true)];

function envOf(r: ValidationRule) {
  return envs[r.optionalOldSelf ? 1 : 0];
}

type Program = (context: Obj) => unknown;

/** Compiled expressions by source text (CRDs share few distinct rules; bounded anyway). */
const programs = new Map<string, Program>();
const MAX_PROGRAMS = 10_000;

function program(r: ValidationRule, expression: string): Program {
  const key = `${r.optionalOldSelf ? 1 : 0}${expression}`;
  let p = programs.get(key);
  if (!p) {
    if (programs.size >= MAX_PROGRAMS) programs.clear();
    p = envOf(r).parse(expression) as unknown as Program;
    programs.set(key, p);
  }
  return p;
}

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function rulesOf(s: JSONSchemaProps): ValidationRule[] {
  const rules = s["x-kubernetes-validations"];
  return Array.isArray(rules) ? rules as ValidationRule[] : [];
}

/** Whether a rule reads `oldSelf` (a transition rule). */
function readsOldSelf(expression: string): boolean {
  return /\boldSelf\b/.test(expression);
}

function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? text;
}

// ---- CRD time: compile every rule ----

/** Field errors of the rules in `schema` (a CRD version's `openAPIV3Schema` at `path`). */
export function validationRuleErrors(schema: JSONSchemaProps, path: string): FieldErrors {
  const errs = new FieldErrors();
  checkRulesAt(schema, path, errs);
  return errs;
}

function checkRulesAt(s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  rulesOf(s).forEach((r, i) => checkRule(r, s, `${path}.x-kubernetes-validations[${i}]`, errs));
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    if (isObject(child)) checkRulesAt(child, `${path}.properties[${key}]`, errs);
  }
  if (isObject(s.items)) checkRulesAt(s.items, `${path}.items`, errs);
  if (isObject(s.additionalProperties)) {
    checkRulesAt(s.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`, errs);
  }
}

function checkRule(r: ValidationRule, s: JSONSchemaProps, path: string, errs: FieldErrors): void {
  if (typeof r.rule !== "string" || r.rule.trim() === "") {
    errs.required(`${path}.rule`, "rule is not specified");
    return;
  }
  const compiled = envOf(r).check(r.rule);
  if (!compiled.valid) {
    errs.invalid(
      `${path}.rule`,
      r.rule,
      `compilation failed: ${firstLine(compiled.error?.message ?? "invalid expression")}`,
    );
  } else if (compiled.type !== "bool" && compiled.type !== "dyn") {
    errs.invalid(
      `${path}.rule`,
      r.rule,
      `compilation failed: must evaluate to a bool, not ${compiled.type}`,
    );
  }
  if (r.rule.includes("\n") && !r.message && !r.messageExpression) {
    errs.required(`${path}.message`, "message must be specified if rule contains line breaks");
  }
  if (r.message !== undefined && r.message.includes("\n")) {
    errs.invalid(`${path}.message`, r.message, "message must not contain line breaks");
  }
  if (r.messageExpression !== undefined) {
    const m = envOf(r).check(r.messageExpression);
    if (!m.valid) {
      errs.invalid(
        `${path}.messageExpression`,
        r.messageExpression,
        `messageExpression compilation failed: ${firstLine(m.error?.message ?? "invalid")}`,
      );
    } else if (m.type !== "string" && m.type !== "dyn") {
      errs.invalid(
        `${path}.messageExpression`,
        r.messageExpression,
        `must evaluate to a string, not ${m.type}`,
      );
    }
  }
  if (r.reason !== undefined && !REASONS.includes(r.reason)) {
    errs.notSupported(`${path}.reason`, r.reason, REASONS);
  }
  if (r.optionalOldSelf && !readsOldSelf(r.rule)) {
    errs.invalid(
      `${path}.optionalOldSelf`,
      true,
      "may not be set if rule does not use oldSelf",
    );
  }
  if (r.fieldPath !== undefined) {
    const segments = fieldPathSegments(r.fieldPath);
    if (!segments) {
      errs.invalid(`${path}.fieldPath`, r.fieldPath, "fieldPath must be a valid path");
    } else if (!schemaHasPath(s, segments)) {
      errs.invalid(
        `${path}.fieldPath`,
        r.fieldPath,
        "fieldPath must be a valid path: does not refer to a valid field",
      );
    }
  }
}

/** `.a.b['c.d']` → ["a", "b", "c.d"]; undefined when not a relative path of that form. */
function fieldPathSegments(fieldPath: string): string[] | undefined {
  const out: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]/y;
  let at = 0;
  while (at < fieldPath.length) {
    re.lastIndex = at;
    const m = re.exec(fieldPath);
    if (!m) return undefined;
    out.push(m[1] ?? m[2]);
    at = re.lastIndex;
  }
  return out.length ? out : undefined;
}

function schemaHasPath(s: JSONSchemaProps, segments: string[]): boolean {
  let node: JSONSchemaProps | undefined = s;
  for (const seg of segments) {
    if (!node) return false;
    if (node.properties?.[seg]) node = node.properties[seg];
    else if (isObject(node.additionalProperties)) {
      node = node.additionalProperties as JSONSchemaProps;
    } else if (node["x-kubernetes-preserve-unknown-fields"]) return true;
    else return false;
  }
  return true;
}

// ---- write time: evaluate ----

/** Whether any rule sits in `schema` (cached: most CRDs have none). */
const hasRulesCache = new WeakMap<JSONSchemaProps, boolean>();

export function schemaHasRules(s: JSONSchemaProps): boolean {
  let has = hasRulesCache.get(s);
  if (has === undefined) {
    has = rulesOf(s).length > 0 ||
      Object.values(s.properties ?? {}).some((c) => isObject(c) && schemaHasRules(c)) ||
      (isObject(s.items) && schemaHasRules(s.items)) ||
      (isObject(s.additionalProperties) &&
        schemaHasRules(s.additionalProperties as JSONSchemaProps));
    hasRulesCache.set(s, has);
  }
  return has;
}

/** No old value at this place (a create, or an item that does not correlate). */
const NO_OLD = Symbol("no old value");
type Old = unknown | typeof NO_OLD;

/**
 * Evaluates every rule of `schema` against a custom resource (`old`: the stored version, on
 * updates) and adds the failures to `errs`.
 */
export function checkValidationRules(
  obj: Obj,
  old: Obj | undefined,
  schema: JSONSchemaProps,
  errs: FieldErrors,
): void {
  if (!schemaHasRules(schema)) return;
  walk(rootView(obj), old ? rootView(old) : NO_OLD, schema, "", errs);
}

/** The object as rules at the root see it: metadata reduced to name and generateName. */
function rootView(obj: Obj): Obj {
  const meta: Obj = {};
  if (obj.metadata?.name !== undefined) meta.name = obj.metadata.name;
  if (obj.metadata?.generateName !== undefined) meta.generateName = obj.metadata.generateName;
  return { ...obj, metadata: meta };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function walk(value: unknown, old: Old, s: JSONSchemaProps, path: string, errs: FieldErrors) {
  if (value === null || value === undefined || !schemaHasRules(s)) return;
  const rules = rulesOf(s);
  if (rules.length) runRules(rules, value, old, s, path, errs);
  if (Array.isArray(value)) {
    if (!isObject(s.items)) return;
    const correlate = itemCorrelation(s, old);
    value.forEach((item, i) => walk(item, correlate(item), s.items!, `${path}[${i}]`, errs));
    return;
  }
  if (!isObject(value)) return;
  const oldObj = isObject(old) ? old : undefined;
  const extra = isObject(s.additionalProperties)
    ? s.additionalProperties as JSONSchemaProps
    : undefined;
  for (const [key, v] of Object.entries(value)) {
    const child = s.properties?.[key] ?? extra;
    if (!child) continue;
    const o = oldObj && key in oldObj ? oldObj[key] : NO_OLD;
    walk(v, o, child, join(path, key), errs);
  }
}

/** How the items of a list find their old selves (Kubernetes' list-type correlation). */
function itemCorrelation(s: JSONSchemaProps, old: Old): (item: unknown) => Old {
  if (!Array.isArray(old)) return () => NO_OLD;
  const listType = s["x-kubernetes-list-type"];
  if (listType === "map") {
    const keys = (s["x-kubernetes-list-map-keys"] ?? []) as string[];
    return (item) => {
      if (!isObject(item)) return NO_OLD;
      const found = old.find((o) => isObject(o) && keys.every((k) => o[k] === item[k]));
      return found === undefined ? NO_OLD : found;
    };
  }
  if (listType === "set") {
    return (item) => old.some((o) => jsonEqual(o, item)) ? item : NO_OLD;
  }
  return () => NO_OLD;
}

function runRules(
  rules: ValidationRule[],
  value: unknown,
  old: Old,
  s: JSONSchemaProps,
  path: string,
  errs: FieldErrors,
): void {
  const unchanged = old !== NO_OLD && jsonEqual(value, old);
  let self: unknown, oldSelf: unknown;
  let converted = false;
  for (const r of rules) {
    if (typeof r.rule !== "string") continue;
    const transition = readsOldSelf(r.rule);
    if (transition && old === NO_OLD && !r.optionalOldSelf) continue;
    if (!transition && unchanged) continue;
    if (!converted) {
      self = toCel(value, s);
      oldSelf = old === NO_OLD ? undefined : toCel(old, s);
      converted = true;
    }
    const context = {
      self,
      oldSelf: r.optionalOldSelf
        ? (old === NO_OLD ? Optional.none() : Optional.of(oldSelf))
        : oldSelf,
    };
    let result: unknown;
    try {
      result = program(r, r.rule)(context);
    } catch (e) {
      errs.invalid(
        path,
        s.type ?? "",
        `${firstLine((e as Error).message)} evaluating rule: ${r.rule.trim()}`,
      );
      continue;
    }
    if (result === true) continue;
    if (result !== false) {
      errs.invalid(path, s.type ?? "", `rule did not evaluate to a bool: ${r.rule.trim()}`);
      continue;
    }
    const where = r.fieldPath ? joinFieldPath(path, r.fieldPath) : path;
    report(errs, where, s.type ?? "", r.reason, failureMessage(r, context));
  }
}

function failureMessage(r: ValidationRule, context: Obj): string {
  if (r.messageExpression) {
    try {
      const m = program(r, r.messageExpression)(context);
      if (typeof m === "string" && m.trim() !== "" && !m.includes("\n") && m.length <= 5120) {
        return m;
      }
    } catch {
      // Kubernetes falls back to the static message when messageExpression fails.
    }
  }
  return r.message || `failed rule: ${r.rule!.trim()}`;
}

function report(
  errs: FieldErrors,
  path: string,
  type: string,
  reason: string | undefined,
  message: string,
): void {
  switch (reason) {
    case "FieldValueForbidden":
      errs.forbidden(path, message);
      break;
    case "FieldValueRequired":
      errs.required(path, message);
      break;
    case "FieldValueDuplicate":
      errs.duplicate(path, type);
      break;
    default:
      errs.invalid(path, type, message);
  }
}

function joinFieldPath(path: string, fieldPath: string): string {
  let out = path;
  for (const seg of fieldPathSegments(fieldPath) ?? []) out = join(out, seg);
  return out;
}

// ---- values as CEL sees them ----

const RESERVED = new Set([
  "true",
  "false",
  "null",
  "in",
  "as",
  "break",
  "const",
  "continue",
  "else",
  "for",
  "function",
  "if",
  "import",
  "let",
  "loop",
  "package",
  "namespace",
  "return",
  "var",
  "void",
  "while",
]);

/**
 * A property name as CEL rules spell it (Kubernetes' escaping), or undefined when it cannot be
 * written (such a property is not accessible from rules, as in Kubernetes).
 */
export function escapePropertyName(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[A-Za-z_.\-/][A-Za-z0-9_.\-/]*$/.test(name)) return undefined;
  return name.replaceAll("__", "__underscores__").replaceAll(".", "__dot__")
    .replaceAll("-", "__dash__").replaceAll("/", "__slash__");
}

/** `value` (JSON) as a CEL value, typed by its schema. */
function toCel(value: unknown, s: JSONSchemaProps | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (!s) return untyped(value);
  if (s["x-kubernetes-int-or-string"]) {
    return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
  }
  switch (s.type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
    case "number":
      return value;
    case "string":
      if (s.format === "date-time" && typeof value === "string") {
        const d = new Date(value);
        return Number.isNaN(d.getTime()) ? value : d;
      }
      return value;
    case "array":
      return Array.isArray(value) ? value.map((v) => toCel(v, s.items)) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, s.items));
  if (!isObject(value)) return untyped(value);
  const out: Obj = {};
  const extra = isObject(s.additionalProperties)
    ? s.additionalProperties as JSONSchemaProps
    : undefined;
  if (s.properties || !extra) {
    for (const [key, v] of Object.entries(value)) {
      const name = escapePropertyName(key);
      if (name !== undefined) out[name] = toCel(v, s.properties?.[key]);
    }
    return out;
  }
  for (const [key, v] of Object.entries(value)) out[key] = toCel(v, extra);
  return out;
}

function untyped(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(untyped);
  if (isObject(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = untyped(v);
    return out;
  }
  return value;
}
