/**
 * Validation of objects written through the API, the job of kube-apiserver's decoding plus its
 * per-kind `Validate`/`ValidateUpdate`:
 *
 * 1. the body must be a JSON object whose kind/apiVersion (when present) name the endpoint's kind
 *    (else 400 BadRequest);
 * 2. `null` fields count as absent, and the kind's zod schema parses and defaults the object
 *    (shape errors become 422 Invalid with Kubernetes field paths);
 * 3. fields the schema does not know are dropped; with `fieldValidation=Strict` they are a 400
 *    `strict decoding error: unknown field "spec.foo"`, with `Warn` they become warnings;
 * 4. field-dependent defaults (defaults.ts), then the semantic rules (validation_rules.ts) and,
 *    on update, the immutability rules — all reported together as one 422 Invalid.
 */
import { z } from "zod";
import { BadRequestError, InvalidError, type StatusCause } from "../errors.ts";
import type { KubeObject } from "./object.ts";
import type { ResourceInfo } from "./resource_info.ts";
import { apiVersionOf } from "./resource_info.ts";
import { findResource } from "./resources.ts";
import { applyDefaults } from "./defaults.ts";
import { FieldErrors } from "./field_errors.ts";
import { validateKind, validateNoNewFinalizers } from "./validation_rules.ts";
import { validateAppsUpdate } from "./validation_apps.ts";
import {
  validatePersistentVolumeClaimUpdate,
  validatePersistentVolumeUpdate,
  validateStorageClassUpdate,
} from "./storage_validation.ts";
import { validateJobUpdate } from "./batch_validation.ts";
import { validateRoleBindingUpdate } from "./rbac_validation.ts";
import { validateIngressClassUpdate } from "./networking_validation.ts";
import { validatePriorityClassUpdate } from "./scheduling_validation.ts";
import { validateResourceQuotaUpdate } from "./resource_quota.ts";

/** The `fieldValidation` query parameter: what to do with fields the schema does not know. */
export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** Options of validateCreate / validateUpdate. */
export interface ValidateOptions {
  /** Unknown fields: `Strict` refuses them (400), `Warn` (the default) and `Ignore` drop them. */
  fieldValidation?: FieldValidation;
  /**
   * Receives one `unknown field "spec.foo"` message per dropped field when fieldValidation is
   * `Warn` (or absent) — the text of the `Warning: 299 - "..."` response headers.
   */
  warnings?: string[];
  /**
   * The subresource written: `ephemeralcontainers` may add ephemeral containers to a pod, which
   * nothing else may change.
   */
  subresource?: "status" | "ephemeralcontainers";
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function isPlainObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `value` without `null` object fields (Kubernetes decodes them as absent). Copy on write: only
 * the objects and arrays on the way to a dropped field are new; everything else, and `value`
 * itself when nothing is dropped, is shared (the parse that follows builds new objects anyway).
 */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const kept = dropNulls(value[i]);
      if (kept !== value[i]) (out ??= value.slice())[i] = kept;
    }
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let out: Obj | undefined;
  for (const k in value) {
    const v = value[k];
    if (v === null || v === undefined) {
      out ??= { ...value };
      delete out[k];
      continue;
    }
    const kept = dropNulls(v);
    if (kept !== v) (out ??= { ...value })[k] = kept;
  }
  return out ?? value;
}

function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

/** Maps whose keys Kubernetes prints in brackets (`resources.limits[memory]`, `data[a.conf]`). */
const KEYED_MAPS = new Set([
  "limits",
  "requests",
  "data",
  "binaryData",
  "stringData",
  "capacity",
  "allocatable",
  "usage",
  "overhead",
]);

/** Kubernetes-style path of a zod issue path (`spec.containers[0].image`). */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  let previous: PropertyKey | undefined;
  for (const p of path) {
    if (typeof p === "string" && typeof previous === "string" && KEYED_MAPS.has(previous)) {
      out = `${out}[${p}]`;
    } else {
      out = joinPath(out, typeof p === "number" ? p : String(p));
    }
    previous = p;
  }
  return out;
}

/** Every field of `input` that is not in the parsed `output` (the dropped unknown fields). */
export function unknownFields(
  input: unknown,
  output: unknown,
  path = "",
  found: string[] = [],
): string[] {
  // The same object on both sides (a value the schema passed through) has nothing dropped.
  if (input === output) return found;
  if (isPlainObject(input) && isPlainObject(output)) {
    for (const k in input) {
      if (!(k in output)) found.push(joinPath(path, k));
      else unknownFields(input[k], output[k], joinPath(path, k), found);
    }
  } else if (Array.isArray(input) && Array.isArray(output)) {
    const n = Math.min(input.length, output.length);
    for (let i = 0; i < n; i++) unknownFields(input[i], output[i], joinPath(path, i), found);
  }
  return found;
}

function describeType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v;
}

function issueToCauses(issue: z.core.$ZodIssue, base: readonly PropertyKey[]): StatusCause[] {
  const path = [...base, ...issue.path];
  const field = fieldPath(path);
  const errs = new FieldErrors();
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) errs.required(field);
      else if (
        issue.expected === "int" || (issue.expected === "number" && typeof input === "number")
      ) {
        errs.invalid(field, input, "must be an integer");
      } else {
        errs.invalid(field, input, `must be of type ${issue.expected}, not ${describeType(input)}`);
      }
      break;
    case "invalid_value":
      errs.notSupported(field, input, issue.values);
      break;
    case "invalid_union": {
      // Every branch failed. A union of enums/literals reads as one "Unsupported value".
      const flat = issue.errors.flat();
      if (flat.length > 0 && flat.every((e) => e.code === "invalid_value")) {
        errs.notSupported(field, input, flat.flatMap((e) => (e as { values: unknown[] }).values));
      } else if (input === undefined) {
        errs.required(field);
      } else {
        const kinds = flat.filter((e) => e.code === "invalid_type").map((e) =>
          (e as { expected: string }).expected
        );
        errs.invalid(
          field,
          input,
          kinds.length === flat.length ? `must be of type ${kinds.join(" or ")}` : issue.message,
        );
      }
      break;
    }
    case "too_small":
      errs.invalid(field, input, `must be greater than or equal to ${issue.minimum}`);
      break;
    case "too_big":
      errs.invalid(field, input, `must be less than or equal to ${issue.maximum}`);
      break;
    default:
      errs.invalid(field, input, issue.message);
  }
  return errs.causes;
}

/** Turns a failed zod parse into Kubernetes causes (one per field). */
export function zodCauses(error: z.ZodError): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  for (const issue of error.issues) {
    for (const c of issueToCauses(issue, [])) {
      const key = `${c.field}\u0000${c.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      causes.push(c);
    }
  }
  return causes;
}

function invalid(info: ResourceInfo, obj: Obj, causes: StatusCause[]): InvalidError {
  const name = isPlainObject(obj.metadata) ? obj.metadata.name : undefined;
  return new InvalidError(
    { kind: info.kind, resource: info.plural, group: info.group || undefined, name },
    causes,
  );
}

function schemaOf(info: ResourceInfo): z.ZodType {
  const entry = findResource(info.group, info.version, info.plural);
  if (!entry) throw new BadRequestError(`no schema for ${info.plural}.${info.group}`);
  return entry.schema;
}

/**
 * The Invalid error of an object whose shape is wrong. When every bad value is present (a wrong
 * enum value or type, not a missing field) and not a list element, the object is parsed again
 * without them so that the semantic rules can report their findings in the same answer, as
 * kube-apiserver reports every field error at once.
 */
function shapeError(info: ResourceInfo, input: Obj, error: z.ZodError): InvalidError {
  const causes = zodCauses(error);
  const repaired = structuredClone(input);
  const removed: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    const last = path[path.length - 1];
    if (path.length === 0 || typeof last !== "string") return invalid(info, input, causes);
    let parent: unknown = repaired;
    for (const key of path.slice(0, -1)) parent = (parent as Obj | undefined)?.[key as string];
    if (!isPlainObject(parent) || parent[last] === undefined) return invalid(info, input, causes);
    delete parent[last];
    removed.push(fieldPath(path));
  }
  const again = schemaOf(info).safeParse(repaired);
  if (!again.success) return invalid(info, input, causes);
  const errs = new FieldErrors();
  const obj = applyDefaults(info.kind, again.data as KubeObject);
  validateKind(info.kind, obj, errs, { namespaced: info.namespaced });
  const shadowed = (field = "") =>
    removed.some((r) => field === r || field.startsWith(`${r}.`) || field.startsWith(`${r}[`));
  causes.push(...errs.causes.filter((c) => !shadowed(c.field)));
  return invalid(info, input, causes);
}

/** The kind's schema without some top-level fields, built once per set of fields. */
const schemasWithout = new WeakMap<z.ZodType, Map<string, z.ZodType>>();

function schemaWithout(schema: z.ZodObject, fields: string[]): z.ZodType {
  let bySet = schemasWithout.get(schema);
  if (!bySet) schemasWithout.set(schema, bySet = new Map());
  const id = fields.join(",");
  let partial = bySet.get(id);
  if (!partial) {
    const mask = Object.fromEntries(fields.map((f) => [f, true] as const));
    partial = schema.omit(mask as Record<string, true> & Record<number, never>);
    bySet.set(id, partial);
  }
  return partial;
}

/**
 * The top-level fields of `raw` that are the very objects of `old` (the stored object, which
 * this server parsed and defaulted when it was written): a status write carries spec and
 * metadata over from the stored object, a main-resource write its status. Parsing them again
 * would only rebuild them, so {@linkcode decode} takes them as they are — as kube-apiserver's
 * status strategy copies the old spec without decoding or validating it again.
 */
function carriedOver(schema: z.ZodType, raw: Obj, old: Obj | undefined): string[] {
  if (!old || !(schema instanceof z.ZodObject) || schema.def.catchall) return [];
  const fields: string[] = [];
  for (const k of Object.keys(schema.shape)) {
    if (isPlainObject(raw[k]) && raw[k] === old[k]) fields.push(k);
  }
  return fields;
}

/**
 * Type checks, parse, unknown fields, defaults; returns the parsed object or throws. Fields
 * {@linkcode carriedOver} from `old` are shared with it, not parsed: callers must not change
 * them in place.
 */
function decode(
  info: ResourceInfo,
  raw: unknown,
  options: ValidateOptions,
  old?: KubeObject,
): KubeObject {
  if (!isPlainObject(raw)) {
    throw new BadRequestError(
      `the body of the request must be a JSON object, not ${describeType(raw)}`,
    );
  }
  const expectedVersion = apiVersionOf(info);
  if (
    raw.apiVersion !== undefined && raw.apiVersion !== null && raw.apiVersion !== expectedVersion
  ) {
    throw new BadRequestError(
      `the API version in the data (${raw.apiVersion}) does not match the expected API version ` +
        `(${expectedVersion})`,
    );
  }
  if (raw.kind !== undefined && raw.kind !== null && raw.kind !== info.kind) {
    throw new BadRequestError(
      `${raw.kind} in version "${info.version}" cannot be handled as a ${info.kind}: the kind in ` +
        `the data (${raw.kind}) does not match the expected kind (${info.kind})`,
    );
  }
  const schema = schemaOf(info);
  const kept = carriedOver(schema, raw, old);
  let input: Obj;
  let parsed: KubeObject;
  if (kept.length === 0) {
    input = dropNulls(raw) as Obj;
    const result = schema.safeParse(input, { reportInput: true });
    if (!result.success) throw shapeError(info, input, result.error);
    parsed = result.data as KubeObject;
  } else {
    input = {};
    for (const [k, v] of Object.entries(raw)) {
      if (!kept.includes(k) && v !== null && v !== undefined) input[k] = dropNulls(v);
    }
    const result = schemaWithout(schema as z.ZodObject, kept).safeParse(input, {
      reportInput: true,
    });
    // A shape error is reported as the whole object's parse reports it.
    if (!result.success) return decode(info, raw, options);
    const data = result.data as Obj;
    // In the schema's field order, as the whole object's parse returns them.
    parsed = {} as KubeObject;
    for (const k of Object.keys((schema as z.ZodObject).shape)) {
      if (kept.includes(k)) parsed[k] = raw[k];
      else if (k in data) parsed[k] = data[k];
    }
  }
  const unknown = unknownFields(input, parsed).sort();
  if (unknown.length > 0) {
    const messages = unknown.map((f) => `unknown field ${JSON.stringify(f)}`);
    const mode = options.fieldValidation ?? "Warn";
    if (mode === "Strict") {
      throw new BadRequestError(
        `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ` +
          `strict decoding error: ${messages.join(", ")}`,
      );
    }
    if (mode === "Warn") options.warnings?.push(...messages);
  }
  // apiVersion and kind first, as Kubernetes serializes them.
  const typed = { apiVersion: expectedVersion, kind: info.kind, ...parsed } as KubeObject;
  typed.apiVersion = expectedVersion;
  typed.kind = info.kind;
  return applyDefaults(info.kind, typed);
}

/**
 * Parses an object of the kind of `info` leniently, as a reader does: nulls and unknown fields
 * are dropped, defaults applied, `apiVersion`/`kind` set; no semantic rules run. Throws
 * BadRequestError/InvalidError only when the shape is wrong (a missing required field, a value
 * of the wrong type).
 */
export function parseObject(info: ResourceInfo, obj: unknown): KubeObject {
  return decode(info, obj, { fieldValidation: "Ignore" });
}

/**
 * Validates and defaults an object about to be created at the endpoint of `info`. Returns the
 * parsed object (unknown fields dropped, defaults applied, `apiVersion`/`kind` set). Throws
 * BadRequestError (400) for a non-object body, a kind/apiVersion that does not match the
 * endpoint or, under `fieldValidation: "Strict"`, unknown fields; throws InvalidError (422) with
 * one cause per bad field otherwise.
 */
export function validateCreate(
  info: ResourceInfo,
  obj: unknown,
  options: ValidateOptions = {},
): KubeObject {
  const parsed = decode(info, obj, options);
  const errs = new FieldErrors();
  validateKind(info.kind, parsed, errs, { namespaced: info.namespaced });
  if (info.kind === "Pod" && parsed.spec?.ephemeralContainers?.length) {
    errs.forbidden("spec.ephemeralContainers", "cannot be set on create");
  }
  if (info.kind === "Pod" && parsed.spec?.schedulingGates?.length && parsed.spec.nodeName) {
    errs.forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared");
  }
  if (!errs.empty) throw invalid(info, parsed, errs.causes);
  return parsed;
}

/**
 * Validates and defaults the new version of an object being updated, like validateCreate, and
 * also enforces the kind's immutable fields against `oldObj` (the stored object). Values the
 * server allocated and the client left out (a Service's clusterIP and nodePorts) are carried
 * over from `oldObj`, as kube-apiserver does. A top-level field of `newObj` that is the very
 * object of `oldObj`'s (a status write's spec and metadata) is not parsed again but shared: the
 * result and `oldObj` then hold the same object there.
 */
export function validateUpdate(
  info: ResourceInfo,
  newObj: unknown,
  oldObj: KubeObject,
  options: ValidateOptions = {},
): KubeObject {
  const parsed = decode(info, newObj, options, oldObj);
  carryOverAllocations(info.kind, parsed, oldObj);
  const errs = new FieldErrors();
  validateKind(info.kind, parsed, errs, { namespaced: info.namespaced });
  validateImmutable(info.kind, parsed, oldObj, errs, options.subresource);
  if (!errs.empty) throw invalid(info, parsed, errs.causes);
  return parsed;
}

function carryOverAllocations(kind: string, next: Obj, old: Obj): void {
  if (kind === "Pod") return carryOverPriority(next, old);
  if (kind !== "Service") return;
  const spec = next.spec;
  const oldSpec: Obj = old.spec ?? {};
  const oldPorts: Obj[] = oldSpec.ports ?? [];
  const needsNodePorts = (type: string) => type === "NodePort" || type === "LoadBalancer";
  if (spec.type === "ExternalName") {
    // As kube-apiserver's dropTypeDependentFields: allocations the client left untouched go.
    if (oldSpec.type !== "ExternalName" && spec.clusterIP === oldSpec.clusterIP) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
  } else if (!spec.clusterIP && oldSpec.clusterIP) {
    spec.clusterIP = oldSpec.clusterIP;
    if (!spec.clusterIPs && oldSpec.clusterIPs) spec.clusterIPs = [...oldSpec.clusterIPs];
  }
  for (const p of (spec.ports ?? []) as Obj[]) {
    const prev = oldPorts.find((o) => o.port === p.port && o.protocol === p.protocol);
    if (needsNodePorts(spec.type)) {
      if (!p.nodePort && prev?.nodePort) p.nodePort = prev.nodePort;
    } else if (needsNodePorts(oldSpec.type) && p.nodePort && p.nodePort === prev?.nodePort) {
      delete p.nodePort;
    }
  }
  if (!needsNodePorts(spec.type) && spec.externalTrafficPolicy === oldSpec.externalTrafficPolicy) {
    delete spec.externalTrafficPolicy;
  }
}

/**
 * As the Priority admission plugin on update: the priority and preemption policy it resolved on
 * create stay when an update leaves them out (a replace from the original manifest).
 */
function carryOverPriority(next: Obj, old: Obj): void {
  if (!next.spec || !old.spec) return;
  if (next.spec.priority === undefined && old.spec.priority !== undefined) {
    next.spec.priority = old.spec.priority;
  }
  if (next.spec.preemptionPolicy === undefined && old.spec.preemptionPolicy !== undefined) {
    next.spec.preemptionPolicy = old.spec.preemptionPolicy;
  }
}

/** Deep equality of JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  // Counted rather than listed: this runs on every pod write, and allocates nothing.
  let defined = 0;
  for (const k in a) {
    const v = a[k];
    if (v === undefined) continue;
    defined++;
    if (!jsonEqual(v, b[k])) return false;
  }
  for (const k in b) if (b[k] !== undefined) defined--;
  return defined === 0;
}

const POD_UPDATE_MESSAGE = "pod updates may not change fields other than " +
  "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
  "`spec.tolerations` (only additions to existing tolerations)," +
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

function validatePodUpdate(next: Obj, old: Obj, errs: FieldErrors, subresource?: string): void {
  const oldSpec: Obj = old.spec ?? {};
  // Most pod updates (status writes, metadata) leave the spec as it was: nothing to check.
  if (jsonEqual(next.spec, oldSpec)) return;
  // Blank out what may change (in shallow copies: `next` stays as it is), then the rest must be
  // equal.
  const spec: Obj = { ...next.spec };
  if (subresource === "ephemeralcontainers") {
    validateEphemeralContainersUpdate(spec.ephemeralContainers ?? [], oldSpec, errs);
    spec.ephemeralContainers = oldSpec.ephemeralContainers;
  }
  // Scheduling gates may only be removed.
  const oldGates = new Set(((oldSpec.schedulingGates ?? []) as Obj[]).map((g) => g.name));
  const added = ((spec.schedulingGates ?? []) as Obj[]).find((g) => !oldGates.has(g.name));
  if (added) {
    errs.forbidden(
      "spec.schedulingGates",
      `only deletion is allowed, but found new scheduling gate '${added.name}'`,
    );
  }
  spec.schedulingGates = oldSpec.schedulingGates;
  for (const list of ["containers", "initContainers"]) {
    const items = spec[list] as Obj[] | undefined;
    if (!Array.isArray(items)) continue;
    spec[list] = items.map((c, i) => {
      const before = oldSpec[list]?.[i];
      return before ? { ...c, image: before.image } : c;
    });
  }
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (
    oldDeadline === undefined ||
    (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= oldDeadline)
  ) {
    spec.activeDeadlineSeconds = oldDeadline;
  } else {
    errs.invalid(
      "spec.activeDeadlineSeconds",
      spec.activeDeadlineSeconds ?? null,
      "must be less than or equal to previous value",
    );
    spec.activeDeadlineSeconds = oldDeadline;
  }
  const oldTolerations: Obj[] = oldSpec.tolerations ?? [];
  const newTolerations: Obj[] = spec.tolerations ?? [];
  if (oldTolerations.every((t) => newTolerations.some((n) => jsonEqual(n, t)))) {
    spec.tolerations = oldSpec.tolerations;
  }
  // Binding sets nodeName once; a scheduler writing it through update is allowed the same.
  if (!oldSpec.nodeName) spec.nodeName = oldSpec.nodeName;
  if (!jsonEqual(spec, oldSpec)) errs.forbidden("spec", POD_UPDATE_MESSAGE);
}

/** Ephemeral containers are only ever added: existing ones may be neither removed nor changed. */
function validateEphemeralContainersUpdate(next: Obj[], oldSpec: Obj, errs: FieldErrors): void {
  const byName = new Map(next.map((c) => [c.name, c]));
  for (const old of (oldSpec.ephemeralContainers ?? []) as Obj[]) {
    const now = byName.get(old.name);
    if (!now) {
      errs.forbidden(
        "spec.ephemeralContainers",
        `existing ephemeral containers ${JSON.stringify(old.name)} may not be removed`,
      );
    } else if (!jsonEqual(now, old)) {
      errs.forbidden(
        "spec.ephemeralContainers",
        `existing ephemeral containers ${JSON.stringify(old.name)} may not be changed`,
      );
    }
  }
}

function immutable(errs: FieldErrors, field: string, value: unknown): void {
  errs.invalid(field, value, "field is immutable");
}

function validateImmutable(
  kind: string,
  next: Obj,
  old: Obj,
  errs: FieldErrors,
  subresource?: string,
): void {
  if (old.metadata?.name !== undefined && next.metadata.name !== old.metadata.name) {
    immutable(errs, "metadata.name", next.metadata.name);
  }
  if (old.metadata?.namespace !== undefined && next.metadata.namespace !== old.metadata.namespace) {
    immutable(errs, "metadata.namespace", next.metadata.namespace);
  }
  if (old.metadata?.uid && next.metadata.uid && next.metadata.uid !== old.metadata.uid) {
    immutable(errs, "metadata.uid", next.metadata.uid);
  }
  validateNoNewFinalizers(next, old, errs);
  switch (kind) {
    case "Pod":
      validatePodUpdate(next, old, errs, subresource);
      break;
    case "Service":
      if (
        old.spec?.clusterIP && next.spec.type !== "ExternalName" &&
        old.spec.type !== "ExternalName" && next.spec.clusterIP !== old.spec.clusterIP
      ) {
        immutable(errs, "spec.clusterIP", next.spec.clusterIP ?? "");
      }
      break;
    case "DaemonSet":
    case "StatefulSet":
    case "ControllerRevision":
      validateAppsUpdate(kind, next, old, errs);
      if (old.spec?.selector && !jsonEqual(next.spec.selector, old.spec.selector)) {
        immutable(errs, "spec.selector", next.spec.selector);
      }
      break;
    case "PersistentVolume":
      validatePersistentVolumeUpdate(next, old, errs);
      break;
    case "PersistentVolumeClaim":
      validatePersistentVolumeClaimUpdate(next, old, errs);
      break;
    case "StorageClass":
      validateStorageClassUpdate(next, old, errs);
      break;
    case "IngressClass":
      validateIngressClassUpdate(next, old, errs);
      break;
    case "PriorityClass":
      validatePriorityClassUpdate(next, old, errs);
      break;
    case "ResourceQuota":
      validateResourceQuotaUpdate(next, old, errs);
      break;
    case "Deployment":
    case "ReplicaSet":
      if (old.spec?.selector && !jsonEqual(next.spec.selector, old.spec.selector)) {
        immutable(errs, "spec.selector", next.spec.selector);
      }
      break;
    case "Job":
      validateJobUpdate(next, old, errs);
      break;
    case "RoleBinding":
    case "ClusterRoleBinding":
      validateRoleBindingUpdate(next, old, errs);
      break;
    case "ConfigMap":
    case "Secret":
      if (kind === "Secret" && old.type !== undefined && next.type !== old.type) {
        immutable(errs, "type", next.type);
      }
      if (old.immutable === true) {
        const detail = "field is immutable when `immutable` is set";
        if (next.immutable !== true) errs.forbidden("immutable", detail);
        for (const part of ["data", "binaryData"]) {
          if (!jsonEqual(next[part] ?? {}, old[part] ?? {})) errs.forbidden(part, detail);
        }
      }
      break;
  }
}
