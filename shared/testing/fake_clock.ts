/** `FakeClock`: a `Clock` that only moves when the test says so. */
import type { Clock } from "../clock.ts";

/** A settable clock (milliseconds since the epoch). */
export class FakeClock implements Clock {
  #now: number;

  /** Starts at `start` (a date string or ms; default 2026-01-01T00:00:00Z). */
  constructor(start: number | string = "2026-01-01T00:00:00Z") {
    this.#now = typeof start === "string" ? Date.parse(start) : start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }

  /** Sets the clock to `at` (a date string or ms). */
  set(at: number | string): void {
    this.#now = typeof at === "string" ? Date.parse(at) : at;
  }

  /** The current time as the RFC 3339 string the API stores (second precision). */
  iso(): string {
    return new Date(this.#now).toISOString().replace(/\.\d+Z$/, "Z");
  }
}
