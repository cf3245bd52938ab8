/**
 * Cron schedules as Kubernetes' CronJob reads them (robfig/cron's standard parser): five fields
 * (minute hour day-of-month month day-of-week) with `*`, `?`, lists, ranges, steps and the names
 * `jan`-`dec` / `sun`-`sat`, or one of `@yearly @annually @monthly @weekly @daily @midnight
 * @hourly`, or `@every <Go duration>` (robfig's constant delay: whole seconds, at least one). As in cron, when both day fields are restricted a day matching either is taken.
 * `next()` works on the wall clock of an IANA time zone (via `Intl`), so daylight-saving changes
 * shift runs as they do in Kubernetes: a time the clocks skip is skipped.
 *
 * Hand-written rather than an npm cron library: those differ from robfig in the day-field rule
 * and `?`, and the one with time zones pulls luxon into the server.
 */

/** A parsed schedule. */
export interface CronSchedule {
  /** The first scheduled time strictly after `after`, in `timeZone` (default UTC). */
  next(after: Date, timeZone?: string): Date | undefined;
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Index of names[0] (months start at 1). */
  namesBase?: number;
}

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, namesBase: 1 },
  { name: "day of week", min: 0, max: 6, names: DAYS, namesBase: 0 },
];

/** Thrown for a schedule that does not parse; the message says why, as robfig's errors do. */
export class CronSyntaxError extends Error {
  override name = "CronSyntaxError";
}

function value(text: string, f: FieldSpec): number {
  const lower = text.toLowerCase();
  const idx = f.names?.indexOf(lower) ?? -1;
  if (idx >= 0) return idx + (f.namesBase ?? 0);
  if (!/^\d+$/.test(text)) throw new CronSyntaxError(`failed to parse int from ${text}`);
  return Number(text);
}

/** The set of values of one field, plus whether it was `*`/`?` (robfig's "star bit"). */
function parseField(text: string, f: FieldSpec): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(",")) {
    const [rangeText, stepText, extra] = part.split("/");
    if (extra !== undefined) throw new CronSyntaxError(`too many slashes: ${part}`);
    let lo: number;
    let hi: number;
    if (rangeText === "*" || rangeText === "?") {
      lo = f.min;
      hi = f.max;
      if (stepText === undefined) star = true;
    } else {
      const bounds = rangeText.split("-");
      if (bounds.length > 2) throw new CronSyntaxError(`too many hyphens: ${part}`);
      lo = value(bounds[0], f);
      hi = bounds.length === 2 ? value(bounds[1], f) : lo;
      // `a/n` means a to the end, every n.
      if (bounds.length === 1 && stepText !== undefined) hi = f.max;
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) {
        throw new CronSyntaxError(`failed to parse int from ${stepText}`);
      }
      step = Number(stepText);
      if (step === 0) {
        throw new CronSyntaxError(`step of range should be a positive number: ${part}`);
      }
    }
    if (lo < f.min) {
      throw new CronSyntaxError(`beginning of range (${lo}) below minimum (${f.min}): ${part}`);
    }
    if (hi > f.max) {
      throw new CronSyntaxError(`end of range (${hi}) above maximum (${f.max}): ${part}`);
    }
    if (lo > hi) {
      throw new CronSyntaxError(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star };
}

/** Wall-clock fields of an instant in a time zone. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallOf(t: number, timeZone: string): Wall {
  if (timeZone === "UTC" || timeZone === "Etc/UTC") {
    const d = new Date(t);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
    };
  }
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
  };
}

/** Wall clock fields written as if they were UTC, in ms: arithmetic on wall time. */
function wallMs(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

/** The instant whose wall clock in `timeZone` is `w`, or undefined when the clocks skip it. */
function instantOf(w: Wall, timeZone: string): number | undefined {
  const asUtc = wallMs(w);
  // Two rounds of "wall minus offset" settle on the right offset except inside a gap.
  let t = asUtc;
  for (let i = 0; i < 2; i++) t = asUtc - (wallMs(wallOf(t, timeZone)) - t);
  if (wallMs(wallOf(t, timeZone)) !== asUtc) return undefined;
  // In a repeated hour, take the first occurrence.
  const earlier = t - 3_600_000;
  if (wallMs(wallOf(earlier, timeZone)) === asUtc) return earlier;
  return t;
}

/** True when `timeZone` is a time zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === "" || timeZone === "Local") return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

class FieldSchedule implements CronSchedule {
  readonly #minute: Set<number>;
  readonly #hour: Set<number>;
  readonly #dom: Set<number>;
  readonly #month: Set<number>;
  readonly #dow: Set<number>;
  readonly #domStar: boolean;
  readonly #dowStar: boolean;

  constructor(fields: { values: Set<number>; star: boolean }[]) {
    [this.#minute, this.#hour, this.#dom, this.#month, this.#dow] = fields.map((f) => f.values);
    this.#domStar = fields[2].star;
    this.#dowStar = fields[4].star;
  }

  #dayMatches(w: Wall): boolean {
    const dow = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
    const domOk = this.#dom.has(w.day);
    const dowOk = this.#dow.has(dow);
    // robfig: if either day field is `*`, both must match (the `*` one always does); else either.
    if (this.#domStar || this.#dowStar) return domOk && dowOk;
    return domOk || dowOk;
  }

  next(after: Date, timeZone = "UTC"): Date | undefined {
    // Start at the next whole minute after `after`, on the zone's wall clock.
    let t = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
    const limit = t + 5 * 366 * 86_400_000;
    let w = wallOf(t, timeZone);
    let cursor = wallMs(w);
    const wallLimit = cursor + (limit - t);
    while (cursor <= wallLimit) {
      const d = new Date(cursor);
      w = {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
      };
      if (!this.#month.has(w.month)) {
        cursor = Date.UTC(w.year, w.month, 1);
        continue;
      }
      if (!this.#dayMatches(w)) {
        cursor = Date.UTC(w.year, w.month - 1, w.day + 1);
        continue;
      }
      if (!this.#hour.has(w.hour)) {
        cursor = Date.UTC(w.year, w.month - 1, w.day, w.hour + 1);
        continue;
      }
      if (!this.#minute.has(w.minute)) {
        cursor += 60_000;
        continue;
      }
      const instant = instantOf(w, timeZone);
      if (instant !== undefined && instant > after.getTime()) {
        t = instant;
        return new Date(t);
      }
      cursor += 60_000;
    }
    return undefined;
  }
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds; throws with Go's message. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new CronSyntaxError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== "") {
    const num = /^(\d*)(\.\d*)?/.exec(rest)!;
    if (num[0] === "" || num[0] === ".") {
      throw new CronSyntaxError(`time: invalid duration ${quoted}`);
    }
    rest = rest.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === "") throw new CronSyntaxError(`time: missing unit in duration ${quoted}`);
    const ms = DURATION_UNITS_MS[unit];
    if (ms === undefined) {
      throw new CronSyntaxError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    }
    total += Number(num[0]) * ms;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

/** `@every`: robfig's ConstantDelaySchedule (whole seconds, at least one; the zone is moot). */
class ConstantDelaySchedule implements CronSchedule {
  readonly #delayMs: number;

  constructor(durationMs: number) {
    this.#delayMs = Math.max(1000, durationMs - (durationMs % 1000));
  }

  next(after: Date): Date {
    // The delay after `after` with its fraction of a second dropped, as robfig's Next.
    const whole = after.getTime() - (after.getTime() % 1000);
    return new Date(whole + this.#delayMs);
  }
}

/**
 * Parses a CronJob schedule. Throws {@linkcode CronSyntaxError}. A `TZ=`/`CRON_TZ=` prefix is
 * refused, as Kubernetes does since 1.27 (spec.timeZone replaces it).
 */
export function parseSchedule(text: string): CronSchedule {
  const trimmed = text.trim();
  if (trimmed === "") throw new CronSyntaxError("empty spec string");
  if (/^(CRON_)?TZ=/.test(trimmed)) {
    throw new CronSyntaxError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  let spec = trimmed;
  if (spec.startsWith("@every ")) {
    const text = spec.slice("@every ".length);
    try {
      return new ConstantDelaySchedule(parseGoDuration(text));
    } catch (e) {
      throw new CronSyntaxError(`failed to parse duration ${spec}: ${(e as Error).message}`);
    }
  }
  if (spec.startsWith("@")) {
    const expanded = DESCRIPTORS[spec.toLowerCase()];
    if (!expanded) throw new CronSyntaxError(`unrecognized descriptor: ${spec}`);
    spec = expanded;
  }
  const parts = spec.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronSyntaxError(
      `expected exactly 5 fields, found ${parts.length}: [${parts.join(" ")}]`,
    );
  }
  return new FieldSchedule(parts.map((p, i) => parseField(p, FIELDS[i])));
}

/**
 * RFC 3339 of an instant on the wall clock of `timeZone`, with its offset
 * (`2026-01-01T09:00:00+09:00`; `Z` for UTC), as Go's `t.In(loc).Format(time.RFC3339)`.
 */
export function formatInZone(t: Date, timeZone = "UTC"): string {
  const ms = Math.floor(t.getTime() / 1000) * 1000;
  const w = wallOf(ms, timeZone);
  const wall = new Date(wallMs(w) + (new Date(ms).getUTCSeconds()) * 1000);
  const offsetMin = Math.round((wall.getTime() - ms) / 60_000);
  const base = wall.toISOString().replace(/\.\d{3}Z$/, "");
  if (offsetMin === 0) return `${base}Z`;
  const sign = offsetMin > 0 ? "+" : "-";
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${base}${sign}${hh}:${mm}`;
}
