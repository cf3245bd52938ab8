/**
 * What machine a benchmark ran on, recorded beside every result: cores, CPU model, memory, OS,
 * Deno version, the time and the load average when the run started (the machine is shared).
 */

/** Machine facts for a results file. */
export interface MachineInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  arch: string;
  deno: string;
  /** 1-minute load average when the facts were read. */
  loadAverage?: number;
}

/** Reads the facts from /proc and Deno. */
export function machineInfo(): MachineInfo {
  let cpuModel = "unknown";
  let memoryGiB = 0;
  try {
    const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    cpuModel = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
    const meminfo = Deno.readTextFileSync("/proc/meminfo");
    memoryGiB = Math.round(Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024 / 1024);
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    cpus: navigator.hardwareConcurrency,
    cpuModel,
    memoryGiB,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    loadAverage: Deno.loadavg()[0],
  };
}

/** One line for a markdown report. */
export function machineLine(m: MachineInfo): string {
  const load = m.loadAverage === undefined
    ? ""
    : `, load average ${m.loadAverage.toFixed(2)} at start`;
  return `${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os} ${m.arch}, Deno ${m.deno}, ${m.date}${load}`;
}

/** Resident set size of a process in MiB (Linux). */
export function rssMiB(pid: number): number {
  return memoryOf(pid).rssMiB;
}

/**
 * A process's resident memory in MiB: all of it (`VmRSS`, what targets are stated in), its private
 * part (`RssAnon`: heaps, stacks) and the file-backed part (`RssFile`: mostly the Deno executable's
 * code pages, shared with every other Deno process and reclaimable by the kernel).
 */
export function memoryOf(pid: number): { rssMiB: number; anonMiB: number; fileMiB: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const mib = (field: string) =>
    Math.round(Number(new RegExp(`${field}:\\s*(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return { rssMiB: mib("VmRSS"), anonMiB: mib("RssAnon"), fileMiB: mib("RssFile") };
}

/**
 * The line in a results file after which its hand-written history begins (earlier runs, A/B
 * tables, explanations): a new run rewrites what is above it and keeps the rest.
 */
export const HISTORY_MARKER = "<!-- history: kept by writeResults when the benchmark reruns -->";

/** A new run's `markdown`, followed by the history kept from the `previous` file, if any. */
export function withHistory(markdown: string, previous: string | undefined): string {
  const at = previous?.indexOf(HISTORY_MARKER) ?? -1;
  const history = at === -1 ? "" : `\n\n${previous!.slice(at).trimEnd()}`;
  return markdown.trimEnd() + history + "\n";
}

/** Writes `<name>.json` and `<name>.md` under bench/results/, keeping the .md file's history. */
export async function writeResults(name: string, json: unknown, markdown: string): Promise<void> {
  const dir = new URL("./results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}${name}.json`, JSON.stringify(json, null, 2) + "\n");
  const path = `${dir}${name}.md`;
  const previous = await Deno.readTextFile(path).catch(() => undefined);
  await Deno.writeTextFile(path, withHistory(markdown, previous));
}
