/**
 * std-like assertions, still used by server/auth's tests; every other test uses
 * `node:assert/strict`, and these go once those two convert too.
 */

/** Throws unless `actual` deep-equals `expected` (compared as JSON). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg ? msg + ": " : ""}expected ${e}, got ${a}`);
}

/** Throws unless `value` is falsy. */
export function assertFalse(value: unknown, msg?: string): void {
  if (value) throw new Error(msg ?? `expected a falsy value, got ${JSON.stringify(value)}`);
}

/** Throws unless `value` is truthy. */
export function assert(value: unknown, msg?: string): asserts value {
  if (!value) throw new Error(msg ?? `expected a truthy value, got ${JSON.stringify(value)}`);
}
