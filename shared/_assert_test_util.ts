/**
 * Minimal assertions and polling for shared/ tests (`@std/assert` is not reachable from this machine).
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

/** Awaits `p` and returns what it rejected with; throws if it resolved. */
export async function assertRejects(p: Promise<unknown>, msg?: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error(msg ?? "expected the promise to reject");
}

/** Polls `check` every 5 ms until it is true; throws after about 5 s (a hang, not a timing). */
export async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
