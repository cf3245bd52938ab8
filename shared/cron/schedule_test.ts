import assert from "node:assert/strict";
import {
  CronSyntaxError,
  formatInZone,
  isValidTimeZone,
  parseGoDuration,
  parseSchedule,
} from "./schedule.ts";

const at = (s: string) => new Date(s);
const next = (spec: string, after: string, tz?: string) =>
  parseSchedule(spec).next(at(after), tz)?.toISOString();

Deno.test("next() follows minute, hour, step, range, list and name fields", () => {
  assert.equal(next("* * * * *", "2026-01-01T00:00:30Z"), "2026-01-01T00:01:00.000Z");
  assert.equal(next("*/15 * * * *", "2026-01-01T00:16:00Z"), "2026-01-01T00:30:00.000Z");
  assert.equal(next("5 4 * * *", "2026-01-01T04:05:00Z"), "2026-01-02T04:05:00.000Z");
  assert.equal(next("0 9-17/4 * * mon-fri", "2026-01-02T13:00:00Z"), "2026-01-02T17:00:00.000Z");
  assert.equal(next("0 0 1 jan,jul *", "2026-01-02T00:00:00Z"), "2026-07-01T00:00:00.000Z");
  assert.equal(next("30 2/6 * * *", "2026-01-01T03:00:00Z"), "2026-01-01T08:30:00.000Z");
});

Deno.test("descriptors are the standard ones", () => {
  assert.equal(next("@hourly", "2026-01-01T00:00:00Z"), "2026-01-01T01:00:00.000Z");
  assert.equal(next("@daily", "2026-01-01T00:00:00Z"), "2026-01-02T00:00:00.000Z");
  assert.equal(next("@weekly", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00.000Z"); // a Sunday
  assert.equal(next("@monthly", "2026-01-15T00:00:00Z"), "2026-02-01T00:00:00.000Z");
  assert.equal(next("@yearly", "2026-01-15T00:00:00Z"), "2027-01-01T00:00:00.000Z");
});

Deno.test("both day fields restricted: a day matching either one is taken (cron's rule)", () => {
  // The 13th, or any Friday: 2026-01-02 is a Friday.
  assert.equal(next("0 0 13 * 5", "2026-01-01T00:00:00Z"), "2026-01-02T00:00:00.000Z");
  // Day of week `*`: only the 13th.
  assert.equal(next("0 0 13 * *", "2026-01-01T00:00:00Z"), "2026-01-13T00:00:00.000Z");
  assert.equal(next("0 0 ? * 5", "2026-01-03T00:00:00Z"), "2026-01-09T00:00:00.000Z");
});

Deno.test("an impossible date never comes", () => {
  assert.equal(next("0 0 31 2 *", "2026-01-01T00:00:00Z"), undefined);
});

Deno.test("time zones: wall-clock times, and the hour the clocks skip is skipped", () => {
  assert.equal(next("0 9 * * *", "2026-01-01T00:00:00Z", "Asia/Tokyo"), "2026-01-02T00:00:00.000Z");
  // 2026-03-08 02:30 does not exist in New York (clocks go 02:00 → 03:00).
  assert.equal(
    next("30 2 * * *", "2026-03-07T12:00:00Z", "America/New_York"),
    "2026-03-09T06:30:00.000Z",
  );
  assert.equal(formatInZone(at("2026-01-01T00:00:00Z"), "Asia/Tokyo"), "2026-01-01T09:00:00+09:00");
  assert.equal(formatInZone(at("2026-01-01T00:00:00Z")), "2026-01-01T00:00:00Z");
  assert.ok(isValidTimeZone("Europe/Berlin"));
  assert.ok(!isValidTimeZone("Mars/Olympus"));
  assert.ok(!isValidTimeZone("Local"));
});

Deno.test("syntax errors are refused with a reason", () => {
  for (
    const bad of [
      "* * * *",
      "61 * * * *",
      "* * * * * *",
      "@every 5x",
      "@every 5",
      "@every ",
      "TZ=UTC * * * * *",
      "*/0 * * * *",
      "5-1 * * * *",
    ]
  ) {
    let err: unknown;
    try {
      parseSchedule(bad);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CronSyntaxError, bad);
  }
});

Deno.test("@every is robfig's constant delay: whole seconds, at least one, after the last run", () => {
  const at = (s: string) => new Date(s);
  const every = (d: string) => parseSchedule(`@every ${d}`);
  assert.equal(
    every("5m").next(at("2026-01-01T00:00:10.750Z"))!.toISOString(),
    "2026-01-01T00:05:10.000Z",
  );
  assert.equal(
    every("1h30m").next(at("2026-01-01T00:00:00Z"))!.toISOString(),
    "2026-01-01T01:30:00.000Z",
  );
  // Fractions of a second are dropped from the delay; less than a second is a second.
  assert.equal(
    every("1.5s").next(at("2026-01-01T00:00:00Z"))!.toISOString(),
    "2026-01-01T00:00:01.000Z",
  );
  assert.equal(
    every("10ms").next(at("2026-01-01T00:00:00Z"))!.toISOString(),
    "2026-01-01T00:00:01.000Z",
  );
  assert.equal(parseGoDuration("2h45m"), 9_900_000);
  assert.equal(parseGoDuration("-1.5h"), -5_400_000);
  assert.equal(parseGoDuration("300ms"), 300);
  for (
    const [text, message] of [
      ["5", 'time: missing unit in duration "5"'],
      ["5x", 'time: unknown unit "x" in duration "5x"'],
      ["", 'time: invalid duration ""'],
    ]
  ) {
    assert.throws(() => parseGoDuration(text), { message });
  }
  assert.throws(() => parseSchedule("@every 5x"), {
    message: 'failed to parse duration @every 5x: time: unknown unit "x" in duration "5x"',
  });
});
