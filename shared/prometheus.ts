/**
 * A small Prometheus metrics registry: counters, gauges and histograms with labels, rendered in
 * the text exposition format (version 0.0.4) that `/metrics` endpoints serve.
 *
 * Hand-written rather than `prom-client` from npm: that library pulls in Node's perf_hooks and
 * cluster modules and loads its default collectors at import, which costs the agent ~6 MiB
 * (each `node:` module is ~+6 MiB on Deno, measured for #4) out of a 40 MiB node budget; this
 * file is ~200 lines with no imports. It is tested against the exposition format with a parser
 * from npm (prometheus_test.ts).
 */

/** Label names to values. */
export type Labels = Record<string, string>;

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  help: string;
  kind: Kind;
  render(out: string[]): void;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** One series' key: its labels in name order, joined without intermediate arrays. */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) key += "\u0001";
    key += names[i] + "\u0000" + labels[names[i]];
  }
  return key;
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A monotonically increasing value per label set. */
export class Counter implements Family {
  readonly kind = "counter" as const;
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const cur = this.#values.get(k);
    if (cur) cur.value += by;
    else this.#values.set(k, { labels: { ...labels }, value: by });
  }

  /** The current value of a series (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels))?.value ?? 0;
  }

  /** Reads every series at scrape time from a total kept elsewhere (e.g. /proc). */
  collect(fn: () => Iterable<[Labels, number]>): this {
    this.#collect = fn;
    return this;
  }
  #collect?: () => Iterable<[Labels, number]>;

  render(out: string[]): void {
    const series = this.#collect
      ? [...this.#collect()].map(([labels, value]) => ({ labels, value }))
      : this.#values.values();
    for (const { labels, value } of series) {
      out.push(`${this.name}${labelText(labels)} ${num(value)}`);
    }
  }
}

/** A value that goes up and down, set directly or computed when scraped. */
export class Gauge implements Family {
  readonly kind = "gauge" as const;
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  #collect?: () => Iterable<[Labels, number]>;
  constructor(readonly name: string, readonly help: string) {}

  /** Sets the series of `labels`. */
  set(labels: Labels, value: number): void {
    this.#values.set(keyOf(labels), { labels: { ...labels }, value });
  }

  /** Adds to the series of `labels` (negative to subtract). */
  add(labels: Labels, by: number): void {
    const cur = this.#values.get(keyOf(labels));
    this.set(labels, (cur?.value ?? 0) + by);
  }

  /** Computes every series at scrape time instead (replaces the set values). */
  collect(fn: () => Iterable<[Labels, number]>): this {
    this.#collect = fn;
    return this;
  }

  render(out: string[]): void {
    const series = this.#collect
      ? [...this.#collect()].map(([labels, value]) => ({ labels, value }))
      : this.#values.values();
    for (const { labels, value } of series) {
      out.push(`${this.name}${labelText(labels)} ${num(value)}`);
    }
  }
}

/** Observations counted into cumulative buckets, with their sum and count, per label set. */
export class Histogram implements Family {
  readonly kind = "histogram" as const;
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number }>();
  readonly buckets: readonly number[];
  constructor(readonly name: string, readonly help: string, buckets: readonly number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  /** Records one observation (seconds, for duration histograms). */
  observe(labels: Labels, value: number): void {
    const k = keyOf(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels: { ...labels }, counts: new Array(this.buckets.length + 1).fill(0), sum: 0 };
      this.#series.set(k, s);
    }
    let i = this.buckets.findIndex((b) => value <= b);
    if (i < 0) i = this.buckets.length;
    s.counts[i]++;
    s.sum += value;
  }

  /** How many observations a series has. */
  count(labels: Labels = {}): number {
    return this.#series.get(keyOf(labels))?.counts.reduce((a, b) => a + b, 0) ?? 0;
  }

  render(out: string[]): void {
    for (const { labels, counts, sum } of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += counts[i];
        out.push(`${this.name}_bucket${labelText(labels, ["le", num(b)])} ${cumulative}`);
      });
      cumulative += counts[this.buckets.length];
      out.push(`${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${cumulative}`);
      out.push(`${this.name}_sum${labelText(labels)} ${num(sum)}`);
      out.push(`${this.name}_count${labelText(labels)} ${cumulative}`);
    }
  }
}

/** Exponential buckets: `count` bounds starting at `start`, each `factor` times the last. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** The metric families of one process, rendered together. */
export class Registry {
  readonly #families = new Map<string, Family>();

  /** A counter, created once per name. */
  counter(name: string, help: string): Counter {
    return this.#get(name, () => new Counter(name, help), "counter");
  }

  /** A gauge, created once per name. */
  gauge(name: string, help: string): Gauge {
    return this.#get(name, () => new Gauge(name, help), "gauge");
  }

  /** A histogram, created once per name (the first call's buckets win). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#get(name, () => new Histogram(name, help, buckets), "histogram");
  }

  #get<T extends Family>(name: string, make: () => T, kind: Kind): T {
    const existing = this.#families.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${name} is a ${existing.kind}`);
      return existing as T;
    }
    const f = make();
    this.#families.set(name, f);
    return f;
  }

  /** Every family in the text exposition format (HELP and TYPE lines, then the samples). */
  exposition(): string {
    const out: string[] = [];
    for (const f of this.#families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${f.name} ${f.kind}`);
      f.render(out);
    }
    return out.join("\n") + "\n";
  }
}

/** The Content-Type of {@linkcode Registry.exposition}'s text. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Registers the process collectors kube components export: resident memory, CPU seconds, open
 * file descriptors, start time, and the event loop's lag (the JavaScript analogue of a stalled
 * goroutine scheduler), sampled every `lagSampleMs`. Returns a function that stops sampling.
 */
export function registerProcessMetrics(registry: Registry, lagSampleMs = 500): () => void {
  const start = Date.now() / 1000 - performance.now() / 1000;
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
    .collect(() => [[{}, Deno.memoryUsage().rss]]);
  registry.counter("process_cpu_seconds_total", "Total user and system CPU time in seconds.")
    .collect(() => {
      try {
        // /proc/self/stat: fields 14 and 15 (after the parenthesised name) are utime and stime
        // in clock ticks, which are 1/100 s on Linux.
        const stat = Deno.readTextFileSync("/proc/self/stat");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return [[{}, (Number(f[11]) + Number(f[12])) / 100]];
      } catch {
        return [];
      }
    });
  registry.gauge("process_open_fds", "Number of open file descriptors.").collect(() => {
    try {
      return [[{}, [...Deno.readDirSync("/proc/self/fd")].length]];
    } catch {
      return [];
    }
  });
  registry.gauge("process_start_time_seconds", "Start time since the Unix epoch, seconds.")
    .collect(() => [[{}, Math.round(start)]]);
  const lag = registry.gauge(
    "process_event_loop_lag_seconds",
    "How late the last event-loop timer fired, seconds.",
  );
  lag.set({}, 0);
  let expected = performance.now() + lagSampleMs;
  const id = setInterval(() => {
    const now = performance.now();
    lag.set({}, Math.max(0, now - expected) / 1000);
    expected = now + lagSampleMs;
  }, lagSampleMs);
  Deno.unrefTimer(id);
  return () => clearInterval(id);
}
