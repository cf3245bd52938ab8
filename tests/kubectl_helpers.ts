/**
 * Helpers for the tests that drive the real kubectl against a test cluster: run-and-assert,
 * poll-until, parse kubectl's tables by their header, and a long-running kubectl (`get -w`)
 * whose output is collected until it is stopped; `get -o json` parsed, and a Job's pods and
 * `kubectl wait` on its conditions.
 */
import assert from "node:assert/strict";
import { KUBECTL, kubectl } from "./kubectl.ts";
import { waitFor } from "./test_utils.ts";

/** What tests/kubectl.ts needs to reach a cluster. */
export interface KubectlTarget {
  kubeconfigPath: string;
  cacheDir: string;
}

/** Options of {@linkcode kubectlOk}. */
export interface KubectlOkOptions {
  stdin?: string;
  env?: Record<string, string>;
}

/** Runs kubectl, asserts it exited 0 and returns its stdout. */
export async function kubectlOk(
  target: KubectlTarget,
  args: string[],
  options: KubectlOkOptions = {},
): Promise<string> {
  const r = await kubectl(target, args, options);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Runs kubectl until `check(stdout)` holds (exit code ignored); returns that stdout. */
export async function waitKubectl(
  target: KubectlTarget,
  args: string[],
  check: (stdout: string) => boolean,
  options: { what?: string; timeoutMs?: number } = {},
): Promise<string> {
  let last = "";
  try {
    const done = await waitFor(options.what ?? `kubectl ${args.join(" ")}`, async () => {
      const r = await kubectl(target, args);
      last = r.stdout + r.stderr;
      // Wrapped: an empty stdout can be the awaited answer.
      return check(r.stdout) ? { stdout: r.stdout } : undefined;
    }, { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 250 });
    return done.stdout;
  } catch (e) {
    throw new Error(`${(e as Error).message}; last output:\n${last}`);
  }
}

/** One table row: column header → cell text. */
export type TableRow = Record<string, string>;

/**
 * Parses a table kubectl printed (`get` without `-o`, or `-o wide`). Columns start where the
 * header's names start (names are separated by at least two spaces; `LAST SEEN` has one), and
 * kubectl left-aligns cells under them. Blank lines separate the tables of `get all`; their
 * rows are all returned.
 */
export function parseTable(text: string): TableRow[] {
  const rows: TableRow[] = [];
  let columns: { name: string; start: number }[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      columns = [];
      continue;
    }
    if (columns.length === 0) {
      for (const m of line.matchAll(/\S+(?: \S+)*/g)) {
        columns.push({ name: m[0], start: m.index });
      }
      continue;
    }
    const row: TableRow = {};
    columns.forEach((c, i) => {
      const end = i + 1 < columns.length ? columns[i + 1].start : line.length;
      row[c.name] = line.slice(c.start, end).trim();
    });
    rows.push(row);
  }
  return rows;
}

/** The row whose NAME column is `name` (or ends with `/name`); fails the test when absent. */
export function rowNamed(rows: TableRow[], name: string): TableRow {
  const row = rows.find((r) => r.NAME === name || r.NAME?.endsWith(`/${name}`));
  assert.ok(row, `no row named ${name} in ${JSON.stringify(rows)}`);
  return row;
}

/** A kubectl left running (e.g. `get pods -w`), collecting its stdout. */
export interface KubectlProcess {
  /** Everything printed to stdout so far. */
  output(): string;
  /** Waits until the stdout so far satisfies `check`. */
  waitOutput(check: (stdout: string) => boolean, what: string): Promise<string>;
  /** Kills kubectl and waits for it and its pipes to finish. */
  stop(): Promise<void>;
}

/** Starts kubectl without waiting for it to exit. */
export function spawnKubectl(target: KubectlTarget, args: string[]): KubectlProcess {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", target.kubeconfigPath, "--cache-dir", target.cacheDir, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: target.cacheDir },
  }).spawn();
  let out = "";
  let err = "";
  const collect = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  const reading = collect(child.stdout, (s) => out += s);
  const draining = collect(child.stderr, (s) => err += s);
  const wait = (get: () => string, check: (s: string) => boolean, what: string) =>
    waitFor(what, () => check(get()) ? { text: get() } : undefined, { timeoutMs: 30_000 })
      .then((r) => r.text)
      .catch((e) => {
        throw new Error(`${(e as Error).message}; stdout so far:\n${out}\nstderr:\n${err}`);
      });
  return {
    output: () => out,
    waitOutput: (check, what) => wait(() => out, check, what),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await reading;
      await draining;
    },
  };
}

/** Writes `text` to a new file in `dir` and returns its path (for `-f`). */
export async function writeManifest(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** `kubectl get <args> -o json`, parsed (asserting kubectl succeeded). */
// deno-lint-ignore no-explicit-any
export async function kubectlGetJson(target: KubectlTarget, ...args: string[]): Promise<any> {
  return JSON.parse(await kubectlOk(target, ["get", ...args, "-o", "json"]));
}

/** The pods of Job `job` in the current namespace, found by its job-name label. */
// deno-lint-ignore no-explicit-any
export async function jobPods(target: KubectlTarget, job: string): Promise<any[]> {
  return (await kubectlGetJson(target, "pods", "-l", `batch.kubernetes.io/job-name=${job}`)).items;
}

/** `kubectl wait --for=condition=<condition> job/<job>` within `timeout` (e.g. "90s"). */
export function waitJobCondition(
  target: KubectlTarget,
  condition: string,
  job: string,
  timeout: string,
): Promise<string> {
  return kubectlOk(target, [
    "wait",
    `--for=condition=${condition}`,
    `job/${job}`,
    `--timeout=${timeout}`,
  ]);
}
