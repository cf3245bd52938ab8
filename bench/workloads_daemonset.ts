/**
 * The DaemonSet part of `deno task bench workloads`: against a real `skiff server` subprocess
 * (controllers and scheduler on, SQLite), 1,000 hollow nodes appear, then one DaemonSet is created
 * and the time until every node's daemon pod is bound by the scheduler is measured (the
 * controller creates the pods pinned by node affinity, the scheduler binds them). Also the time
 * until the DaemonSet's status counts them all, and the server's RSS. Results go to
 * bench/results/workloads_daemonset.json and this benchmark's section of workloads.md.
 */
import type { KubeObject } from "../shared/api/object.ts";
import { ApiClient } from "../shared/client/client.ts";
import { DAEMONSETS, DEPLOYMENTS, PODS } from "../shared/client/refs.ts";
import { startHollowNodes } from "../tests/hollow_nodes.ts";
import { startServerProcess } from "../tests/server_process.ts";
import { machineInfo, machineLine, memoryOf } from "./machine.ts";
import { watchBound } from "./scheduler_bench.ts";

/** Sizes (smaller for a quick run). */
export interface DaemonSetBenchOptions {
  nodes?: number;
  /** Skip writing bench/results (quick runs). */
  dryRun?: boolean;
}

const BEGIN = "<!-- daemonset:begin -->";
const END = "<!-- daemonset:end -->";

function daemonSet(name: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{
            name: "exporter",
            image: "busybox",
            resources: { requests: { cpu: "10m", memory: "16Mi" } },
          }],
        },
      },
    },
  };
}

/** The 1-minute load average (the machine is shared; it says how far to trust the numbers). */
function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

function reference(replicas: number): KubeObject {
  const ds = daemonSet("reference");
  return { ...ds, kind: "Deployment", spec: { ...ds.spec, replicas } };
}

/** Runs the benchmark; writes results unless `dryRun`. */
export async function runDaemonSetBench(
  options: DaemonSetBenchOptions = {},
): Promise<Record<string, unknown>> {
  const nodeCount = options.nodes ?? 1000;
  const results: Record<string, unknown> = { machine: machineInfo(), loadAverage: [loadAverage()] };
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-ds-" });
  // Hollow nodes renew leases from a busy benchmark process: a generous grace period keeps the
  // node lifecycle controller out of the measurement.
  const server = await startServerProcess({
    dataDir,
    args: ["--node-monitor-grace-period", "120"],
  });
  const client = new ApiClient({
    server: server.url,
    token: server.token,
    fetch: (input, init) => fetch(input, { ...init, client: server.httpClient }),
  });
  // Binding is what is measured: the hollow nodes do not play the kubelet's pod status part.
  const nodes = await startHollowNodes(client, {
    count: nodeCount,
    handlePods: false,
    leaseRenewMs: 5000,
    cpu: "32",
    memory: "128Gi",
  });
  try {
    // Let the controllers' and the scheduler's informers see every node.
    await new Promise((r) => setTimeout(r, 2000));
    const rssBefore = memoryOf(server.child.pid).rssMiB;
    // Reference on the same machine, minute and nodes: a Deployment of one pod per node (the
    // shared 2-core machine's load moves these numbers by several times between runs).
    {
      const bound = watchBound(client, "app=reference", nodeCount, 120_000);
      const t0 = performance.now();
      await client.create(DEPLOYMENTS, reference(nodeCount));
      const b = await bound;
      results.deploymentReference = {
        replicas: nodeCount,
        allBoundSeconds: +((b.last - t0) / 1000).toFixed(2),
        podsPerSecond: Math.round(b.bound / ((b.last - t0) / 1000)),
      };
      console.error("bench: deployment reference", results.deploymentReference);
      await client.delete(DEPLOYMENTS, "reference", { namespace: "default" });
      await client.deleteCollection(PODS, { namespace: "default", labelSelector: "app=reference" });
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        const left = await client.list(PODS, {
          namespace: "default",
          labelSelector: "app=reference",
        });
        if (left.items.length === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const bound = watchBound(client, "app=exporter", nodeCount, 120_000);
    const t0 = performance.now();
    await client.create(DAEMONSETS, daemonSet("exporter"));
    const b = await bound;
    const allBound = b.last - t0;
    // The status the controller writes once it has seen every pod.
    let counted = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const ds = await client.get(DAEMONSETS, "exporter", { namespace: "default" });
      if (ds.status?.currentNumberScheduled === nodeCount) {
        counted = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    results.daemonSet = {
      nodes: nodeCount,
      podsBound: b.bound,
      allBoundSeconds: +(allBound / 1000).toFixed(2),
      podsPerSecond: Math.round(b.bound / (allBound / 1000)),
      statusCountedSeconds: +(counted / 1000).toFixed(2),
      serverRssBeforeMiB: rssBefore,
      serverRssAfterMiB: memoryOf(server.child.pid).rssMiB,
    };
    console.error("bench: daemonset", results.daemonSet);
    (results.loadAverage as number[]).push(loadAverage());
  } finally {
    await nodes.stop();
    await server.stop();
    client.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  if (!options.dryRun) await writeSection(results);
  return results;
}

/** Writes the JSON and replaces this benchmark's section of workloads.md (others are kept). */
async function writeSection(results: Record<string, unknown>): Promise<void> {
  const dir = new URL("./results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}workloads_daemonset.json`,
    JSON.stringify(results, null, 2) + "\n",
  );
  const path = `${dir}workloads.md`;
  let md = "";
  try {
    md = await Deno.readTextFile(path);
  } catch {
    md = "# Workloads benchmark\n";
  }
  const section = `${BEGIN}\n${daemonSetMarkdown(results).trim()}\n${END}`;
  const start = md.indexOf(BEGIN);
  const end = md.indexOf(END);
  md = start >= 0 && end > start
    ? md.slice(0, start) + section + md.slice(end + END.length)
    : `${md.trimEnd()}\n\n${section}\n`;
  await Deno.writeTextFile(path, md);
}

/** The markdown section of this benchmark's results. */
export function daemonSetMarkdown(results: Record<string, unknown>): string {
  const d = results.daemonSet as Record<string, number>;
  const ref = results.deploymentReference as Record<string, number>;
  return `
## DaemonSet on ${d.nodes} hollow nodes

Machine: ${machineLine(results.machine as ReturnType<typeof machineInfo>)}

A real \`skiff server\` subprocess (controllers and scheduler on, SQLite, HTTPS on loopback);
${d.nodes} hollow nodes (leases only) in the benchmark process. One DaemonSet is created; the
DaemonSet controller creates a pod per node pinned by a \`metadata.name\` node affinity and the
default scheduler binds each (as upstream). \`bench/workloads_daemonset.ts\`. The 1-minute load
average was ${(results.loadAverage as number[]).join(" → ")} on these 2 cores during the run, so
absolute times say more about the machine than about Skiff: the Deployment reference, measured in
the same run on the same nodes, is the yardstick.

| Measure | Result | Target |
| --- | --- | --- |
| DaemonSet created → all ${d.podsBound} pods bound | ${d.allBoundSeconds} s (${d.podsPerSecond} pods/s) | < 5 s |
| DaemonSet created → status counts them all (\`currentNumberScheduled\`) | ${d.statusCountedSeconds} s | |
| Reference, same run: Deployment of ${ref.replicas} replicas → all bound | ${ref.allBoundSeconds} s (${ref.podsPerSecond} pods/s) | |
| Server RSS before / after (reference included) | ${d.serverRssBeforeMiB} / ${d.serverRssAfterMiB} MiB | |
`;
}

if (import.meta.main) {
  const nodes = Number(Deno.args[0] ?? 1000);
  await runDaemonSetBench({ nodes, dryRun: Deno.args.includes("--dry-run") });
}
