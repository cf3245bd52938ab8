/**
 * Server-side apply's field ownership, as Kubernetes' field manager (structured-merge-diff) keeps
 * it in `metadata.managedFields`: each manager (with its operation, Apply or Update, and the
 * subresource it wrote) owns a set of fields, written in the FieldsV1 form — `f:<field>` for a
 * struct or map field, `k:{"<mergeKey>":…}` for an element of a list merged by key, `v:<value>`
 * for an element of a set (a merged list of scalars), `.` for such an element itself; any other
 * list is atomic, owned as a whole.
 *
 * - **Apply** (`apply()`): the applied configuration's fields become the applier's set. A field
 *   another manager owns and the configuration gives a different value is a conflict (409, each
 *   conflict named) unless forced, which takes the field over. A field the applier owned before
 *   and leaves out now is removed from the object when no other manager owns it.
 * - **Update** (`trackUpdate()`): any other write takes the fields it changed from their owners.
 *   Skiff tracks updates only on objects that an apply has touched (those carry managedFields);
 *   objects only ever created and updated carry none (README's "Not supported").
 *
 * Which lists merge, and by which key, comes from the same schema annotations as strategic merge
 * patch (patch/merge_keys.ts); a custom resource's lists are atomic.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { ApiError } from "../../shared/errors.ts";
import {
  type FieldPatchMeta,
  fieldPatchMeta,
  type PatchSchema,
  rootTypeFor,
} from "../api/patch/mod.ts";
import { jsonEqual } from "../../shared/api/validation.ts";
import { rfc3339 } from "../../shared/time.ts";

/** FieldsV1: nested keys, `{}` a leaf. */
export type FieldsV1 = { [key: string]: FieldsV1 };

/** One `metadata.managedFields` entry. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
  subresource?: string;
}

/** The manager that owned an object's fields before the first apply (Kubernetes' name). */
export const BEFORE_FIRST_APPLY = "before-first-apply";

type Obj = Record<string, unknown>;
/** A leaf path, its keys joined by a newline (no key contains one: k: and v: are JSON). */
type Path = string;
const SEP = "\n";

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

/** metadata fields an object's field set includes (the rest are the system's or identity). */
const OWNED_METADATA = ["labels", "annotations", "finalizers", "ownerReferences"];

/**
 * The part of `obj` that field ownership covers: for the main resource, everything but
 * apiVersion, kind, status (when the kind has a status subresource) and system metadata; for the
 * status subresource, the status alone; for a pod's ephemeralcontainers, those.
 */
function owned(obj: Obj, scope: Scope): Obj {
  if (scope.subresource === "status") return obj.status === undefined ? {} : { status: obj.status };
  if (scope.subresource === "ephemeralcontainers") {
    const list = (obj.spec as Obj | undefined)?.ephemeralContainers;
    return list === undefined ? {} : { spec: { ephemeralContainers: list } };
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (k === "status" && scope.statusSubresource) continue;
    if (k === "metadata") {
      if (!isObject(v)) continue;
      const md: Obj = {};
      for (const f of OWNED_METADATA) if (v[f] !== undefined) md[f] = v[f];
      if (Object.keys(md).length > 0) out.metadata = md;
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Which writes a field set is about. */
export interface Scope {
  kind: string;
  /** The kind has a status subresource (the main resource then owns no status). */
  statusSubresource: boolean;
  subresource?: WriteSubresource;
}

/** The subresources whose writes change part of an object: its status, a pod's ephemeral containers. */
export type WriteSubresource = "status" | "ephemeralcontainers";

/** The FieldsV1 set of a struct or map value. */
function fieldsOfMap(value: Obj, type: PatchSchema | undefined): FieldsV1 {
  const out: FieldsV1 = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[`f:${k}`] = fieldsOfValue(v, fieldPatchMeta(type, k));
  }
  return out;
}

function fieldsOfValue(v: unknown, meta: FieldPatchMeta): FieldsV1 {
  if (Array.isArray(v)) {
    if (meta.strategy !== "merge") return {}; // atomic
    if (meta.mergeKey && v.every((item) => isObject(item) && item[meta.mergeKey!] !== undefined)) {
      const out: FieldsV1 = {};
      for (const item of v as Obj[]) {
        const key = `k:${JSON.stringify({ [meta.mergeKey]: item[meta.mergeKey] })}`;
        out[key] = { ".": {}, ...fieldsOfMap(item, meta.type) };
      }
      return out;
    }
    if (v.every(isScalar)) {
      return Object.fromEntries(v.map((item) => [`v:${JSON.stringify(item)}`, {}]));
    }
    return {};
  }
  return isObject(v) ? fieldsOfMap(v, meta.type) : {};
}

/** The FieldsV1 set of an object (its owned part, see {@linkcode owned}). */
function fieldsOf(obj: Obj, scope: Scope): FieldsV1 {
  return fieldsOfMap(owned(obj, scope), rootTypeFor(scope.kind));
}

/** The leaf paths of a field set. */
function pathsOf(fields: FieldsV1 | undefined, prefix = "", out = new Set<Path>()): Set<Path> {
  for (const [key, children] of Object.entries(fields ?? {})) {
    const path = prefix ? `${prefix}${SEP}${key}` : key;
    if (Object.keys(children).length === 0) out.add(path);
    else pathsOf(children, path, out);
  }
  return out;
}

/** A field set from leaf paths. */
function fieldsFrom(paths: Iterable<Path>): FieldsV1 {
  const out: FieldsV1 = {};
  for (const path of paths) {
    let node = out;
    for (const key of path.split(SEP)) node = node[key] ??= {};
  }
  return out;
}

/** The value at a path; `found: false` when the object has nothing there. */
function valueAt(root: unknown, path: Path): { found: boolean; value?: unknown } {
  let cur = root;
  for (const key of path.split(SEP)) {
    if (key === ".") return { found: true, value: cur };
    const rest = key.slice(2);
    if (key.startsWith("f:")) {
      if (!isObject(cur) || !Object.hasOwn(cur, rest)) return { found: false };
      cur = cur[rest];
    } else if (key.startsWith("k:")) {
      const item = Array.isArray(cur) ? cur.find((x) => matchesKey(x, rest)) : undefined;
      if (item === undefined) return { found: false };
      cur = item;
    } else if (key.startsWith("v:")) {
      const value = JSON.parse(rest);
      if (!Array.isArray(cur) || !cur.some((x) => jsonEqual(x, value))) return { found: false };
      return { found: true, value };
    } else return { found: false };
  }
  return { found: true, value: cur };
}

function matchesKey(item: unknown, keyJson: string): boolean {
  if (!isObject(item)) return false;
  const key = JSON.parse(keyJson) as Obj;
  return Object.entries(key).every(([k, v]) => jsonEqual(item[k], v));
}

/** Removes what a leaf path names from `root` (in place): a field, a list element, a set member. */
function removeAt(root: Obj, path: Path): void {
  const keys = path.split(SEP);
  // A list element is removed through its `.` leaf: the element's key is the last real key.
  const last = keys[keys.length - 1] === "." ? keys.length - 2 : keys.length - 1;
  let parent: unknown = root;
  for (const key of keys.slice(0, last)) {
    const step = valueAt(parent, key);
    if (!step.found) return;
    parent = step.value;
  }
  const key = keys[last];
  const rest = key.slice(2);
  if (key.startsWith("f:") && isObject(parent)) delete parent[rest];
  else if (Array.isArray(parent)) {
    const at = key.startsWith("k:")
      ? parent.findIndex((x) => matchesKey(x, rest))
      : parent.findIndex((x) => jsonEqual(x, JSON.parse(rest)));
    if (at !== -1) parent.splice(at, 1);
  }
}

/** `.spec.containers[name="c"].image`, as Kubernetes prints a field path in a conflict. */
function printPath(path: Path): string {
  let out = "";
  for (const key of path.split(SEP)) {
    const rest = key.slice(2);
    if (key === ".") continue;
    if (key.startsWith("f:")) out += `.${rest}`;
    else if (key.startsWith("k:")) {
      const fields = Object.entries(JSON.parse(rest) as Obj)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
      out += `[${fields}]`;
    } else out += `[=${rest}]`;
  }
  return out;
}

/** Whether an entry is about the same (sub)resource as `scope`. */
function inScope(e: ManagedFieldsEntry, scope: Scope): boolean {
  return (e.subresource ?? undefined) === scope.subresource;
}

function sameWriter(e: ManagedFieldsEntry, manager: string, op: string, scope: Scope): boolean {
  return e.manager === manager && e.operation === op && inScope(e, scope);
}

/**
 * A manager's entry; `previous`'s time is kept when the fields are the same, so that a no-op
 * apply stays a no-op write (as Kubernetes ignores managedFields timestamps).
 */
function entry(
  manager: string,
  op: "Apply" | "Update",
  apiVersion: string,
  paths: Iterable<Path>,
  scope: Scope,
  previous?: ManagedFieldsEntry,
): ManagedFieldsEntry {
  const fieldsV1 = fieldsFrom(paths);
  const same = previous?.apiVersion === apiVersion && jsonEqual(previous.fieldsV1, fieldsV1);
  return {
    manager,
    operation: op,
    apiVersion,
    time: same && previous?.time ? previous.time : rfc3339(new Date()),
    fieldsType: "FieldsV1",
    fieldsV1,
    ...(scope.subresource ? { subresource: scope.subresource } : {}),
  };
}

/** The entries with `drop` taken out of every set, and the sets that end up empty left out. */
function without(entries: ManagedFieldsEntry[], drop: (e: ManagedFieldsEntry, p: Path) => boolean) {
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    const paths = [...pathsOf(e.fieldsV1)].filter((p) => !drop(e, p));
    if (paths.length > 0) out.push({ ...e, fieldsV1: fieldsFrom(paths) });
  }
  return out;
}

/** What {@linkcode apply} needs. */
export interface ApplyInput {
  /** The object as stored, or undefined when the apply creates it. */
  live?: KubeObject;
  /** The applied configuration. */
  config: KubeObject;
  /** `live` with `config` merged in (strategic merge), which apply() then prunes. */
  merged: KubeObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  scope: Scope;
}

/**
 * Server-side apply's ownership step: checks conflicts (409 unless `force`), removes the fields
 * the manager no longer applies and nobody else owns from `merged`, and sets `merged`'s
 * managedFields. Returns `merged`.
 */
export function apply(input: ApplyInput): KubeObject {
  const { live, config, merged, manager, scope } = input;
  let entries = (live?.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  if (live && entries.length === 0) {
    // An object written before any apply: its fields are owned, as Kubernetes does it.
    const fields = pathsOf(fieldsOf(live as unknown as Obj, scope));
    if (fields.size > 0) {
      entries = [entry(BEFORE_FIRST_APPLY, "Update", input.apiVersion, fields, scope)];
    }
  }
  const applied = pathsOf(fieldsOf(config as unknown as Obj, scope));
  const conflicts = new Map<ManagedFieldsEntry, Path[]>();
  for (const e of entries) {
    if (sameWriter(e, manager, "Apply", scope)) continue;
    if (!inScope(e, scope)) continue;
    for (const p of pathsOf(e.fieldsV1)) {
      if (!applied.has(p) || p.endsWith(`${SEP}.`)) continue;
      const want = valueAt(config, p);
      const have = valueAt(live, p);
      if (have.found && want.found && jsonEqual(want.value, have.value)) continue; // shared
      conflicts.set(e, [...(conflicts.get(e) ?? []), p]);
    }
  }
  if (conflicts.size > 0 && !input.force) throw conflictError(conflicts);
  const mine = entries.find((e) => sameWriter(e, manager, "Apply", scope));
  const others = without(
    entries.filter((e) => e !== mine),
    (e, p) => conflicts.get(e)?.includes(p) ?? false,
  );
  // Fields this manager applied before and leaves out now go, unless another manager owns them.
  const ownedByOthers = new Set<Path>();
  for (const e of others) for (const p of pathsOf(e.fieldsV1)) ownedByOthers.add(p);
  for (const p of pathsOf(mine?.fieldsV1)) {
    if (!applied.has(p) && !ownedByOthers.has(p)) removeAt(merged as unknown as Obj, p);
  }
  merged.metadata.managedFields = [
    ...others,
    entry(manager, "Apply", input.apiVersion, applied, scope, mine),
  ];
  return merged;
}

function conflictError(conflicts: Map<ManagedFieldsEntry, Path[]>): ApiError {
  const all = [...conflicts].flatMap(([e, paths]) => paths.map((p) => ({ e, p })));
  const using = (e: ManagedFieldsEntry) =>
    `"${e.manager ?? ""}"${e.apiVersion ? ` using ${e.apiVersion}` : ""}`;
  const message = all.length === 1
    ? `Apply failed with 1 conflict: conflict with ${using(all[0].e)}: ${printPath(all[0].p)}`
    : `Apply failed with ${all.length} conflicts: ${
      [...conflicts].map(([e, paths]) =>
        `conflicts with ${using(e)}:\n${paths.map((p) => `- ${printPath(p)}`).join("\n")}`
      ).join("\n")
    }`;
  return new ApiError(409, "Conflict", message, {
    causes: all.map(({ e, p }) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${using(e)}`,
      field: printPath(p),
    })),
  });
}

/**
 * An update (any write but an apply) of an object that carries managedFields: the fields it
 * changed leave their owners and join `manager`'s Update entry. Sets `next`'s managedFields.
 */
export function trackUpdate(
  current: KubeObject,
  next: KubeObject,
  o: { manager: string; apiVersion: string; scope: Scope },
): void {
  const entries = (current.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  if (entries.length === 0) return;
  // An update that sets managedFields to [] clears them (Kubernetes' way to reset ownership).
  const given = next.metadata.managedFields as unknown[] | undefined;
  if (given !== undefined && given !== entries && given.length === 0) return;
  const before = pathsOf(fieldsOf(current as unknown as Obj, o.scope));
  const after = pathsOf(fieldsOf(next as unknown as Obj, o.scope));
  const changed = new Set<Path>();
  for (const p of after) {
    const was = valueAt(current, p);
    if (!was.found || !jsonEqual(was.value, valueAt(next, p).value)) changed.add(p);
  }
  for (const p of before) if (!after.has(p)) changed.add(p);
  if (changed.size === 0) {
    next.metadata.managedFields = entries;
    return;
  }
  const mine = entries.find((e) => sameWriter(e, o.manager, "Update", o.scope));
  const others = without(
    entries.filter((e) => e !== mine),
    (e, p) => inScope(e, o.scope) && changed.has(p),
  );
  const kept = [...pathsOf(mine?.fieldsV1), ...changed].filter((p) => after.has(p));
  next.metadata.managedFields = kept.length > 0
    ? [...others, entry(o.manager, "Update", o.apiVersion, kept, o.scope, mine)]
    : others;
}

/** The manager of a write without `fieldManager`: the User-Agent's product, as Kubernetes. */
export function defaultManager(userAgent: string | null): string {
  const product = (userAgent ?? "").split("/")[0].trim();
  return product.slice(0, 128) || "unknown";
}
