/**
 * A small, strict command-line flag parser for `skiff` subcommands: `--name value`,
 * `--name=value`, boolean `--flag`, and repeatable flags. Unknown flags and bad values raise a
 * UsageError whose message is one plain line; `main.ts` prints it and exits with status 2.
 * A flag that sets a config field takes its help and default from that field's zod schema
 * ({@linkcode flagOf}), so that a default is written in one place; {@linkcode parseConfig} goes the
 * other way, turning the first field the schema refuses into one line naming its flag.
 */
import type { z } from "zod";

/** One flag's description. */
export interface FlagSpec {
  type: "string" | "number" | "boolean" | "list";
  help: string;
  /** Placeholder in help output (`ADDR:PORT`). */
  value?: string;
}

/** How {@linkcode flagOf} shows a config field as a flag. */
export interface FieldFlagOptions<T = unknown> {
  /** Placeholder in help output (`ADDR:PORT`). */
  value?: string;
  /** The flag's type when it is not the field's (a range written `MIN-MAX`). */
  type?: FlagSpec["type"];
  /** Help when the field has no `.describe()` text. */
  help?: string;
  /** The default as it is written on the command line (`15000` ms as `15` seconds). */
  showDefault?: (value: T) => string;
  /** What the default is when the schema cannot say (`hostname`: decided at run time). */
  defaultText?: string;
}

type ZodDef = { type: string; innerType?: z.ZodType; out?: z.ZodType; defaultValue?: unknown };

/**
 * The field, then each zod type it wraps in turn (`.default()`, `.optional()`, `.describe()`
 * wrappers, a pipe's output), down to its own type.
 */
function* layers(field: z.ZodType): Generator<z.ZodType> {
  let s: z.ZodType | undefined = field;
  for (let i = 0; s && i < 10; i++) {
    yield s;
    const def = s.def as ZodDef;
    s = def.innerType ?? (def.type === "pipe" ? def.out : undefined);
  }
}

function descriptionOf(field: z.ZodType): string | undefined {
  for (const s of layers(field)) if (s.description) return s.description;
  return undefined;
}

/** The field's `.default()` value, if it has one. */
function defaultOf(field: z.ZodType): unknown {
  for (const s of layers(field)) {
    const def = s.def as ZodDef;
    if (def.type === "default") return def.defaultValue;
  }
  return undefined;
}

/**
 * The flag of a config field: help from the field's `.describe()`, the type from its zod type
 * (number, boolean, array → repeatable list, else string) and `(default …)` from its
 * `.default()`. Empty lists and `false` are not shown as defaults: they are what an absent flag
 * means anyway.
 */
export function flagOf<T extends z.ZodType>(
  field: T,
  options: FieldFlagOptions<z.output<T>> = {},
): FlagSpec {
  const help = options.help ?? descriptionOf(field);
  if (!help) throw new Error("flagOf(): the field has no .describe() text and no help was given");
  const base = [...layers(field)].at(-1)!.def.type;
  const type = options.type ??
    (base === "number"
      ? "number"
      : base === "boolean"
      ? "boolean"
      : base === "array"
      ? "list"
      : "string");
  const value = defaultOf(field) as z.output<T> | undefined;
  const shown = options.defaultText !== undefined
    ? `: ${options.defaultText}`
    : value === undefined || value === false || (Array.isArray(value) && value.length === 0)
    ? undefined
    : ` ${options.showDefault ? options.showDefault(value) : String(value)}`;
  return {
    type,
    help: shown === undefined ? help : `${help} (default${shown})`,
    ...(options.value ? { value: options.value } : {}),
  };
}

/** {@linkcode flagOf} options of a duration field kept in ms and given in seconds. */
export const SECONDS_FLAG: FieldFlagOptions<number> = {
  value: "SECONDS",
  showDefault: (ms) => String(ms / 1000),
};

/** Thrown for a user's mistake on the command line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed flags: string, number, boolean or string[] by spec; absent flags are undefined. */
export type ParsedFlags = Record<string, string | number | boolean | string[] | undefined> & {
  help?: boolean;
  _: string[];
};

/** Parses `args` against `spec`; `--help`/`-h` is always accepted. */
export function parseFlags(args: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  const out: ParsedFlags = { _: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      out._.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (!s) throw new UsageError(`unknown flag: --${name}`);
    if (s.type === "boolean") {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== "true" && v !== "false") {
          throw new UsageError(`invalid value "${v}" for --${name}: must be true or false`);
        }
        out[name] = v === "true";
      } else {
        out[name] = true;
      }
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new UsageError(`flag needs a value: --${name}`);
      value = args[++i];
    }
    if (s.type === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) {
        throw new UsageError(`invalid value "${value}" for --${name}: must be a number`);
      }
      out[name] = n;
    } else if (s.type === "list") {
      const prev = (out[name] as string[] | undefined) ?? [];
      out[name] = [...prev, ...value.split(",").filter((v) => v !== "")];
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Renders `--help` text for a command. */
export function helpText(
  usage: string,
  description: string,
  spec: Record<string, FlagSpec>,
): string {
  const lines = [`Usage: ${usage}`, "", description, "", "Flags:"];
  for (const [name, s] of Object.entries(spec)) {
    const left = `  --${name}${s.type === "boolean" ? "" : ` ${s.value ?? s.type.toUpperCase()}`}`;
    lines.push(`${left.padEnd(34)} ${s.help}`);
  }
  lines.push(`${"  -h, --help".padEnd(34)} show this help`);
  return lines.join("\n");
}

/** A config field's input that came from a flag, so that {@linkcode parseConfig} can name it. */
export class FlagInput {
  constructor(
    /** The flag, without `--`. */
    readonly flag: string,
    /** The value as given on the command line; undefined when the flag was absent. */
    readonly given: ParsedFlags[string],
    /** The field's input: `given` converted to the field's units, or the fallback. */
    readonly value: unknown,
  ) {}
}

/** Options of {@linkcode fromFlag}. */
export interface FromFlagOptions {
  /** Converts a given value to the field's units (seconds on the command line, ms in config). */
  convert?: (given: NonNullable<ParsedFlags[string]>) => unknown;
  /** The input when the flag is absent and the schema has no default (the hostname). */
  fallback?: unknown;
}

/** {@linkcode fromFlag} options of a duration field kept in ms and given in seconds. */
export const FROM_SECONDS: FromFlagOptions = { convert: (s) => Math.round(Number(s) * 1000) };

/** The input of a config field set by flag `flag`. */
export function fromFlag(
  flags: ParsedFlags,
  flag: string,
  options: FromFlagOptions = {},
): FlagInput {
  const given = flags[flag];
  const value = given === undefined
    ? options.fallback
    : options.convert
    ? options.convert(given)
    : given;
  return new FlagInput(flag, given, value);
}

/** `a, b or c`. */
function oneOf(values: readonly unknown[]): string {
  const shown = values.map(String);
  return shown.length < 2
    ? shown.join("")
    : `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
}

/** What zod reports about a refused value, said as the rest of `--flag: …` in plain words. */
type ZodIssue = {
  code: string;
  expected?: string;
  format?: string;
  origin?: string;
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: boolean;
  values?: readonly unknown[];
};

/**
 * A plain message for a zod issue whose schema gave none of its own (a schema's own message, such
 * as `must be a DNS subdomain`, takes precedence over this one).
 */
function plainMessage(issue: ZodIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.expected === "int") return "must be a whole number";
      return issue.expected === "array" ? "must be a list" : `must be a ${issue.expected}`;
    case "invalid_value":
      return issue.values ? `must be ${oneOf(issue.values)}` : undefined;
    case "invalid_format":
      return issue.format === "url" ? "must be a URL" : `must be a valid ${issue.format}`;
    case "too_small":
      if (issue.origin === "string" && issue.minimum === 1) return "must not be empty";
      if (issue.origin !== "number") return undefined;
      return issue.inclusive
        ? `must be at least ${issue.minimum}`
        : `must be greater than ${issue.minimum}`;
    case "too_big":
      if (issue.origin !== "number") return undefined;
      return issue.inclusive
        ? `must be at most ${issue.maximum}`
        : `must be less than ${issue.maximum}`;
    default:
      return undefined;
  }
}

/**
 * Parses a command's config with `schema`. `fields` holds each field's input, as a
 * {@linkcode FlagInput} where a flag set it. The first issue becomes a UsageError of one line
 * naming the flag as the user typed it: `invalid value "BAD" for --node-name: must be a DNS
 * subdomain`, `--token: is required with --join` (flag absent), `invalid default "X" for
 * --node-name: …` (the fallback was refused). A field no flag sets is named by its key.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  fields: Record<string, unknown>,
): z.output<S> {
  const raw: Record<string, unknown> = {};
  for (const [key, input] of Object.entries(fields)) {
    raw[key] = input instanceof FlagInput ? input.value : input;
  }
  const parsed = schema.safeParse(raw, { error: (issue) => plainMessage(issue as ZodIssue) });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue.path[0] ?? "");
  const input = fields[key];
  if (!(input instanceof FlagInput)) {
    throw new UsageError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  // A list's refused item is shown alone, not the whole list.
  const item = issue.path[1];
  const shown = (v: unknown) =>
    Array.isArray(v) ? (typeof item === "number" ? String(v[item]) : v.join(",")) : String(v);
  if (input.given !== undefined) {
    throw new UsageError(
      `invalid value "${shown(input.given)}" for --${input.flag}: ${issue.message}`,
    );
  }
  if (input.value !== undefined) {
    throw new UsageError(
      `invalid default "${shown(input.value)}" for --${input.flag}: ${issue.message}`,
    );
  }
  throw new UsageError(`--${input.flag}: ${issue.message}`);
}
