/**
 * `deno task bench workloads`: the workload controllers' benchmarks, one part per kind, each in
 * its own file (`workloads_<part>.ts`) returning its results and a markdown section; this file
 * runs the parts named on the command line (default all) and writes bench/results/workloads.*.
 */
import { jobsMarkdown, runJobsBench } from "./workloads_jobs.ts";
import { daemonSetMarkdown, runDaemonSetBench } from "./workloads_daemonset.ts";
import { machineInfo, writeResults } from "./machine.ts";

/** One part: runs and returns its JSON results and its markdown section. */
type Part = () => Promise<{ json: unknown; markdown: string }>;

/** The parts, in report order. */
export const WORKLOAD_PARTS: Record<string, Part> = {
  jobs: async () => {
    const r = await runJobsBench();
    return { json: r, markdown: jobsMarkdown(r) };
  },
  daemonset: async () => {
    const r = await runDaemonSetBench({ dryRun: true });
    return { json: r, markdown: daemonSetMarkdown(r) };
  },
};

/** Runs `parts` (default every part) and writes bench/results/workloads.{json,md}. */
export async function runWorkloadsBench(parts = Object.keys(WORKLOAD_PARTS)): Promise<void> {
  const json: Record<string, unknown> = { machine: machineInfo() };
  const sections: string[] = [];
  for (const name of parts) {
    const part = WORKLOAD_PARTS[name];
    if (!part) throw new Error(`no workloads part "${name}"`);
    console.error(`bench: workloads ${name}`);
    const r = await part();
    json[name] = r.json;
    sections.push(r.markdown.trim());
  }
  await writeResults(
    "workloads",
    json,
    `# Workload controllers benchmark\n\n${sections.join("\n\n")}\n`,
  );
}
