/**
 * What a validation refused, as `field: message` lines (the form kubectl prints them in), for
 * tests of the validation rules.
 */
import { InvalidError } from "../errors.ts";

/** The causes of the InvalidError `fn` throws; none when it throws nothing. */
export function invalidCauses(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidError) return e.causes.map((c) => `${c.field}: ${c.message}`);
    throw e;
  }
  return [];
}
