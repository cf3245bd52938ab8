/**
 * A small, strict command-line flag parser for `skiff` subcommands: `--name value`,
 * `--name=value`, boolean `--flag`, and repeatable flags. Unknown flags and bad values raise a
 * UsageError whose message is one plain line; `main.ts` prints it and exits with status 2.
 */

/** One flag's description. */
export interface FlagSpec {
  type: "string" | "number" | "boolean" | "list";
  help: string;
  /** Placeholder in help output (`ADDR:PORT`). */
  value?: string;
}

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
