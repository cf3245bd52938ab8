/**
 * JSON merge patch (RFC 7386), the `application/merge-patch+json` body `kubectl scale`,
 * `kubectl label` and `kubectl annotate` send: objects merge key by key, `null` deletes a key,
 * anything else (arrays included) replaces the target value.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Applies `patch` to `target` per RFC 7386 and returns the result. Neither input is mutated; the
 * result shares no structure with them.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  // One copy of the target; the merge below then works in it (a copy per level would copy the
  // deepest parts once for every level above them).
  return mergeInto(isObject(target) ? structuredClone(target) : {}, patch);
}

/** Merges `patch` into `result`, which the caller owns; patch values are copied in. */
function mergeInto(
  result: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const inner = result[key];
      result[key] = mergeInto(isObject(inner) ? inner : {}, value);
    } else {
      result[key] = structuredClone(value);
    }
  }
  return result;
}
