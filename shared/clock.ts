/**
 * The clock a reconciler reads "now" from. Production passes `realClock`; tests pass a
 * `FakeClock` (shared/testing/) to decide timing questions (minReadySeconds, lease expiry,
 * toleration deadlines) without sleeping.
 */

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** `Date.now()`. */
export const realClock: Clock = { now: () => Date.now() };
