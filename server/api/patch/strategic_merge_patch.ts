/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), the body of
 * `kubectl apply` (client-side), `kubectl set image`, `kubectl rollout restart` and the default
 * `kubectl patch`.
 *
 * Like JSON merge patch, except that lists annotated mergeable in the API schemas (see merge_keys.ts) merge element by
 * element (by their merge key, or as a set for primitive lists) instead of being replaced, and
 * these directives are honoured:
 * - `"$patch": "replace"` in a map replaces the map; as a list element, replaces the list.
 * - `"$patch": "delete"` in a map deletes it; as a list element with the merge key, deletes the
 *   matching element.
 * - `"$patch": "merge"` is the default and changes nothing.
 * - `"$setElementOrder/<list>": [...]` orders the merged list (server-only elements keep their
 *   place relative to the others).
 * - `"$retainKeys": [...]` drops every key of the original map not listed.
 * - `"$deleteFromPrimitiveList/<list>": [...]` removes values from a merged primitive list.
 * - `null` deletes a key.
 */

import { BadRequestError } from "../../../shared/errors.ts";
import {
  type FieldPatchMeta,
  fieldPatchMeta,
  type PatchSchema,
  rootTypeFor,
} from "./merge_keys.ts";

type Obj = Record<string, unknown>;

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function badPatch(message: string): BadRequestError {
  return new BadRequestError(message);
}

/**
 * Applies a strategic merge patch to `target` (an object of the given kind) and returns the
 * result. Inputs are not mutated. Throws BadRequestError for a malformed patch (not an object,
 * unknown `$patch` value, list element without its merge key, ...).
 */
export function applyStrategicMergePatch(
  target: unknown,
  patch: unknown,
  kind: { apiVersion?: string; kind: string },
): Obj {
  if (!isObject(patch)) {
    throw badPatch("strategic merge patch must be a JSON object");
  }
  const original = isObject(target) ? structuredClone(target) : {};
  const merged = mergeMap(original, patch, rootTypeFor(kind.kind));
  return merged ?? {};
}

/**
 * Merges `patch` into `original` (which this function owns and may modify). Returns `undefined`
 * when the map is to be deleted (`$patch: delete`).
 */
function mergeMap(original: Obj, patch: Obj, type: PatchSchema | undefined): Obj | undefined {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === "replace") {
      const { [DIRECTIVE]: _, ...rest } = patch;
      return mergeMap({}, rest, type);
    }
    if (directive === "delete") return undefined;
    if (directive !== "merge") {
      throw badPatch(
        `Unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`,
      );
    }
  }

  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badPatch(`${RETAIN_KEYS} must be a list of keys`);
    const keep = new Set(retain.map(String));
    for (const key of Object.keys(original)) {
      if (!keep.has(key)) delete original[key];
    }
  }

  // `$setElementOrder` interleaves by the elements' positions before the patch: remember them.
  const orders: { field: string; order: unknown[]; before: unknown[] }[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    if (!Array.isArray(value)) throw badPatch(`${key} must be a list`);
    const field = key.slice(SET_ORDER.length);
    const before = Array.isArray(original[field]) ? original[field] as unknown[] : [];
    orders.push({ field, order: value, before: [...before] });
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      if (!Array.isArray(value)) throw badPatch(`${key} must be a list`);
      const field = key.slice(DELETE_PRIMITIVE.length);
      const current = original[field];
      if (Array.isArray(current)) {
        original[field] = current.filter((v) => !value.some((d) => d === v));
      }
      continue;
    }
    if (key.startsWith("$")) throw badPatch(`unknown directive ${JSON.stringify(key)}`);

    const meta = fieldPatchMeta(type, key);
    if (value === null) {
      delete original[key];
    } else if (isObject(value)) {
      const base = isObject(original[key]) ? original[key] as Obj : {};
      const merged = mergeMap(base, value, meta.type);
      if (merged === undefined) delete original[key];
      else original[key] = merged;
    } else if (Array.isArray(value)) {
      const base = Array.isArray(original[key]) ? original[key] as unknown[] : [];
      original[key] = mergeList(base, value, meta, key);
    } else {
      original[key] = value;
    }
  }

  // Ordering is applied last, so that it sees the merged list (the list itself may be absent
  // from the patch when only the order changes).
  for (const { field, order, before } of orders) {
    const list = original[field];
    if (Array.isArray(list)) {
      original[field] = applyOrder(list, {
        order,
        before,
        mergeKey: fieldPatchMeta(type, field).mergeKey,
      });
    }
  }
  return original;
}

/** Strips directives and nulls from a value that has no original to merge with. */
function fresh(value: unknown, type: PatchSchema | undefined): unknown {
  if (isObject(value)) return mergeMap({}, value, type) ?? {};
  if (Array.isArray(value)) return value.map((v) => fresh(v, type));
  return value;
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  meta: FieldPatchMeta,
  field: string,
): unknown[] {
  if (meta.strategy !== "merge") {
    // Replaced lists: `$patch: replace` markers may still be present, drop them.
    return patch.filter((v) =>
      !(isObject(v) && v[DIRECTIVE] !== undefined && Object.keys(v).length === 1)
    )
      .map((v) => fresh(v, meta.type));
  }
  if (patch.some((v) => isObject(v) && v[DIRECTIVE] === "replace")) {
    const rest = patch.filter((v) => !(isObject(v) && v[DIRECTIVE] === "replace"));
    return mergeList([], rest, meta, field);
  }
  if (!meta.mergeKey) {
    const merged = mergePrimitiveList(original, patch, field);
    return applyOrder(merged, { order: patch, before: original });
  }

  const key = meta.mergeKey;
  const result = [...original];
  const indexOf = (k: unknown) =>
    result.findIndex((el) => isObject(el) && jsonScalarEqual(el[key], k));
  for (const item of patch) {
    if (!isObject(item)) {
      throw badPatch(
        `${field}: expected a list of maps merged by ${JSON.stringify(key)}, got ${
          JSON.stringify(item)
        }`,
      );
    }
    if (!Object.hasOwn(item, key)) {
      if (item[DIRECTIVE] === "merge" && Object.keys(item).length === 1) continue;
      throw badPatch(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    }
    const directive = item[DIRECTIVE];
    const at = indexOf(item[key]);
    if (directive === "delete") {
      // Delete every element carrying that key value.
      for (let i = indexOf(item[key]); i >= 0; i = indexOf(item[key])) result.splice(i, 1);
      continue;
    }
    if (directive !== undefined && directive !== "merge" && directive !== "replace") {
      throw badPatch(
        `Unknown patch type: ${JSON.stringify(directive)} in list element of ${field}`,
      );
    }
    if (at >= 0) {
      const base = structuredClone(result[at]) as Obj;
      result[at] = mergeMap(base, item, meta.type) ?? {};
    } else {
      result.push(fresh(item, meta.type));
    }
  }
  // As in Kubernetes, elements named in the patch take the patch's order, interleaved with the
  // server-only elements by their previous positions.
  const order = patch.filter((v) => !(isObject(v) && v[DIRECTIVE] === "delete"));
  return applyOrder(result, { order, before: original, mergeKey: key });
}

function mergePrimitiveList(original: unknown[], patch: unknown[], field: string): unknown[] {
  const result = [...original];
  for (const v of patch) {
    if (isObject(v) || Array.isArray(v)) {
      throw badPatch(`${field}: expected a list of primitives, got ${JSON.stringify(v)}`);
    }
    if (!result.some((o) => o === v)) result.push(v);
  }
  return result;
}

function jsonScalarEqual(a: unknown, b: unknown): boolean {
  // Merge keys are strings or numbers; a port given as "80" and 80 are different keys, as in
  // Kubernetes.
  return a === b;
}

/**
 * Orders a merged list: elements named in `order` (the patch list, or `$setElementOrder`) come in
 * that order; the others (server-only elements) keep their relative order and are interleaved by
 * their positions in the list before the patch (`before`). When one of the two compared elements
 * was not in that list, the ordered one goes first.
 */
function applyOrder(
  list: unknown[],
  opts: { order: unknown[]; before: unknown[]; mergeKey?: string },
): unknown[] {
  const { mergeKey } = opts;
  const keyOf = (el: unknown): unknown => mergeKey ? (isObject(el) ? el[mergeKey] : undefined) : el;
  const wanted = opts.order.map((o) => mergeKey && isObject(o) ? o[mergeKey] : o);
  const previous = opts.before.map(keyOf);
  const rank = (el: unknown) => wanted.indexOf(keyOf(el));
  const serverIndex = (el: unknown) => previous.indexOf(keyOf(el));

  const ordered = list.filter((el) => rank(el) >= 0).sort((a, b) => rank(a) - rank(b));
  const serverOnly = list.filter((el) => rank(el) < 0);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < ordered.length && j < serverOnly.length) {
    const si = serverIndex(ordered[i]);
    const sj = serverIndex(serverOnly[j]);
    if (si < 0 || sj < 0 || si < sj) out.push(ordered[i++]);
    else out.push(serverOnly[j++]);
  }
  return [...out, ...ordered.slice(i), ...serverOnly.slice(j)];
}
