/**
 * A small structured logger: a message plus key/value fields, a component name and a level.
 * Every long-running part gets one injected (`logger.child("scheduler")`); nothing else writes to
 * the console. Output is one line per entry: `ts level component msg k=v ...`, or JSON lines with
 * `format: "json"`.
 */

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Key/value context attached to one entry. */
export type Fields = Record<string, unknown>;

/** Where entries go; tests can capture them. */
export type LogSink = (line: string, level: LogLevel) => void;

/** Options for {@linkcode Logger}. */
export interface LoggerOptions {
  level?: LogLevel;
  format?: "text" | "json";
  sink?: LogSink;
  component?: string;
  fields?: Fields;
}

const encoder = new TextEncoder();

/** Logs go to stderr so that stdout stays free for a command's own output. */
function defaultSink(line: string, _level: LogLevel): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (v === undefined) return "undefined";
  return JSON.stringify(v);
}

/** Structured logger; cheap to `child()`. */
export class Logger {
  readonly level: LogLevel;
  readonly component: string;
  readonly #format: "text" | "json";
  readonly #sink: LogSink;
  readonly #fields: Fields;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? "info";
    this.component = options.component ?? "skiff";
    this.#format = options.format ?? "text";
    this.#sink = options.sink ?? defaultSink;
    this.#fields = options.fields ?? {};
  }

  /** A logger for a sub-component (`server.scheduler`) with extra fixed fields. */
  child(component: string, fields: Fields = {}): Logger {
    return new Logger({
      level: this.level,
      format: this.#format,
      sink: this.#sink,
      component: this.component === "skiff" ? component : `${this.component}.${component}`,
      fields: { ...this.#fields, ...fields },
    });
  }

  debug(msg: string, fields?: Fields): void {
    this.#log("debug", msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.#log("info", msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.#log("warn", msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.#log("error", msg, fields);
  }

  /** True when entries at `level` would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  #log(level: LogLevel, msg: string, fields?: Fields): void {
    if (!this.enabled(level)) return;
    const all = { ...this.#fields, ...fields };
    const ts = new Date().toISOString();
    if (this.#format === "json") {
      const entry: Record<string, unknown> = { ts, level, component: this.component, msg };
      for (const [k, v] of Object.entries(all)) entry[k] = v instanceof Error ? v.message : v;
      this.#sink(JSON.stringify(entry), level);
      return;
    }
    let line = `${ts} ${level.toUpperCase().padEnd(5)} ${this.component}: ${msg}`;
    for (const [k, v] of Object.entries(all)) line += ` ${k}=${formatValue(v)}`;
    this.#sink(line, level);
  }
}

/** A logger that drops everything (tests that don't care). */
export const silentLogger: Logger = new Logger({ level: "error", sink: () => {} });
