/**
 * `deno task bench heartbeats`: bytes the server process writes to disk (`/proc/<pid>/io`
 * write_bytes, which counts what reaches the block layer: SQLite's WAL, checkpoints, fsyncs) over
 * a window while 10 idle nodes heartbeat as real agents do — a Lease renewal (GET + PUT) every
 * 5 s and a Node status patch every 60 s — and nothing else happens. `SKIFF_BENCH_SECONDS` sets
 * the window (default 300); a shorter one is scaled to 5 minutes in the report, and says so;
 * `SKIFF_BENCH_LABEL` names the run in the report ("before", "after"). The server runs as its own `skiff server` process with its controllers, on SQLite.
 */
import { ApiClient } from "../shared/client/client.ts";
import { NODES } from "../shared/client/refs.ts";
import { delay } from "../shared/backoff.ts";
import { rfc3339 } from "../shared/time.ts";
import { startHollowNodes } from "../tests/hollow_nodes.ts";
import { startServerProcess } from "../tests/server_process.ts";
import { type MachineInfo, machineInfo, machineLine, writeResults } from "./machine.ts";

const NODE_COUNT = 10;
const LEASE_RENEW_MS = 5_000;
const STATUS_EVERY_MS = 60_000;

/** What the bench measured. */
export interface HeartbeatsBenchResult {
  /** What the run stands for (`SKIFF_BENCH_LABEL`, e.g. "before", "after"). */
  label?: string;
  machine: MachineInfo;
  /** Git revision the server ran. */
  revision: string;
  nodes: number;
  windowSeconds: number;
  writeBytes: number;
  /** writeBytes scaled to 5 minutes. */
  writeBytesPer5Min: number;
  leaseRenewals: number;
}

function writeBytes(pid: number): number {
  const io = Deno.readTextFileSync(`/proc/${pid}/io`);
  return Number(/^write_bytes:\s*(\d+)/m.exec(io)?.[1] ?? NaN);
}

async function gitRevision(): Promise<string> {
  const out = await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"] }).output()
    .catch(() => undefined);
  return out?.success ? new TextDecoder().decode(out.stdout).trim() : "unknown";
}

/** Runs the bench and writes bench/results/heartbeats.{json,md}. */
export async function runHeartbeatsBench(): Promise<HeartbeatsBenchResult> {
  const windowSeconds = Number(Deno.env.get("SKIFF_BENCH_SECONDS") ?? 300);
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-hb-" });
  // Room for every node's /24 (the tests' default /22 holds four): a node left without a
  // podCIDR makes node IPAM retry and record Events, writes that are no heartbeats.
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  const clusterCidr = `10.${160 + (a % 64)}.${(b % 16) * 16}.0/20`;
  const server = await startServerProcess({ dataDir, args: ["--cluster-cidr", clusterCidr] });
  const client = new ApiClient({
    server: server.url,
    token: server.token,
    caData: await Deno.readTextFile(`${dataDir}/tls/ca.crt`),
  });
  const ac = new AbortController();
  let renewals = 0;
  try {
    const prefix = `hb-${crypto.randomUUID().slice(0, 6)}`;
    const nodes = await startHollowNodes(client, {
      count: NODE_COUNT,
      prefix,
      leaseRenewMs: LEASE_RENEW_MS,
      handlePods: false,
    });
    // Node status heartbeats as the agent sends them when nothing changed (statusMaxIntervalMs).
    const statusLoop = (async () => {
      while (await delay(STATUS_EVERY_MS, ac.signal)) {
        const now = rfc3339();
        await Promise.all(nodes.names.map((name) =>
          client.patch(NODES, name, {
            status: {
              conditions: [{
                type: "Ready",
                status: "True",
                reason: "KubeletReady",
                message: "kubelet is posting ready status",
                lastHeartbeatTime: now,
              }],
            },
          }, { type: "strategic", subresource: "status" }).catch(() => {})
        ));
      }
    })();
    // Let start-up writes (CA, tokens, default objects, first checkpoint) settle.
    await delay(15_000);
    const pid = server.child.pid;
    const before = writeBytes(pid);
    const started = performance.now();
    await delay(windowSeconds * 1000);
    const after = writeBytes(pid);
    const elapsed = (performance.now() - started) / 1000;
    renewals = Math.round(elapsed / (LEASE_RENEW_MS / 1000)) * NODE_COUNT;
    ac.abort();
    await statusLoop;
    await nodes.stop();
    const result: HeartbeatsBenchResult = {
      label: Deno.env.get("SKIFF_BENCH_LABEL"),
      machine: machineInfo(),
      revision: await gitRevision(),
      nodes: NODE_COUNT,
      windowSeconds: Math.round(elapsed),
      writeBytes: after - before,
      writeBytesPer5Min: Math.round((after - before) * 300 / elapsed),
      leaseRenewals: renewals,
    };
    return result;
  } finally {
    ac.abort();
    client.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

function markdown(runs: HeartbeatsBenchResult[]): string {
  const lines = [
    "# Heartbeat writes (server process, SQLite)",
    "",
    `${NODE_COUNT} idle hollow nodes heartbeating as agents do: Lease GET+PUT every ` +
    `${LEASE_RENEW_MS / 1000} s, Node status patch every ${STATUS_EVERY_MS / 1000} s. Bytes from ` +
    "`/proc/<pid>/io` write_bytes of the `skiff server` process (controllers on).",
    "",
    "| run | server revision | window | write_bytes | per 5 min | target | load average at start |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.label ?? ""} | ${r.revision} | ${r.windowSeconds} s | ` +
        `${(r.writeBytes / 1048576).toFixed(2)} MiB | ` +
        `${(r.writeBytesPer5Min / 1048576).toFixed(2)} MiB${
          r.windowSeconds < 290 ? " (scaled)" : ""
        } | < 1 MiB | ${r.machine.loadAverage?.toFixed(2) ?? "?"} |`,
    );
  }
  lines.push(
    "",
    `Machine (last run): ${machineLine(runs[runs.length - 1].machine)}. The machine is shared ` +
      "(2 cores, CI running): the load average column shows how busy it was.",
  );
  return lines.join("\n");
}

/** Runs the bench and appends its run to the results (earlier runs, e.g. "before", are kept). */
export async function runAndRecordHeartbeatsBench(): Promise<void> {
  const result = await runHeartbeatsBench();
  const path = new URL("./results/heartbeats.json", import.meta.url).pathname;
  let runs: HeartbeatsBenchResult[] = [];
  try {
    runs = (JSON.parse(await Deno.readTextFile(path)) as { runs: HeartbeatsBenchResult[] }).runs;
  } catch {
    runs = [];
  }
  runs.push(result);
  await writeResults("heartbeats", { runs }, markdown(runs));
  console.error(
    `heartbeats: ${result.writeBytes} bytes in ${result.windowSeconds} s ` +
      `(${result.writeBytesPer5Min} per 5 min)`,
  );
}
