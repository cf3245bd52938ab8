/**
 * Agent benchmark (issue: node agent): pod start latency — 30 pods created one at a time and one
 * Deployment of 30 replicas, time from create to Running and to Ready (median, p99) — side by
 * side with the floor, plain `docker create` + `start` of the same image through the same engine;
 * and the agent's idle RSS with 10 pods. Real server (in-process, scheduler and controllers on),
 * real agent subprocess, real Docker.
 */

import { loadCredentials } from "../agent/credentials.ts";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import type { Pod } from "../agent/pod_types.ts";
import { DEPLOYMENTS, PODS } from "../shared/client/refs.ts";
import type { ApiClient } from "../shared/client/client.ts";
import {
  clientFor,
  removeNodeContainers,
  startAgentProcess,
  testAgentConfig,
} from "../tests/agent_test_utils.ts";
import { ensureTestImages } from "../tests/images.ts";
import { startTestServer, waitFor } from "../tests/test_utils.ts";
import { freePort } from "../tests/server_process.ts";
import { machineInfo, machineLine, memoryOf, rssMiB, writeResults } from "./machine.ts";

/** Options (smaller numbers for a quick run). */
export interface AgentBenchOptions {
  pods?: number;
  replicas?: number;
  idlePods?: number;
  /** V8 flags for the agent process (e.g. a smaller young generation). */
  v8Flags?: string;
}

function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const median = (xs: number[]) => percentile(xs, 50);

function isRunning(p: Pod): boolean {
  return p.status?.phase === "Running";
}

function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Watches pods and records when each first became Running and Ready. */
function trackPods(client: ApiClient, signal: AbortSignal) {
  const running = new Map<string, number>();
  const ready = new Map<string, number>();
  const done = (async () => {
    try {
      for await (const e of client.watch<Pod>(PODS, { namespace: "default", signal })) {
        const p = e.object;
        const now = performance.now();
        if (isRunning(p) && !running.has(p.metadata.name)) running.set(p.metadata.name, now);
        if (isReady(p) && !ready.has(p.metadata.name)) ready.set(p.metadata.name, now);
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  })();
  return { running, ready, done };
}

const CMD = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/** `skiff agent` from main.ts for the node of `config`, joining `server` with its join token. */
function startNodeProcess(
  server: { url: string; joinToken: string },
  config: Awaited<ReturnType<typeof testAgentConfig>>,
  v8Flags: string | undefined,
): Deno.ChildProcess {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const args = [
    "run",
    "-A",
    ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
    main,
    "agent",
    ...["--server", server.url, "--token", server.joinToken],
    ...["--node-name", config.nodeName, "--node-address", config.nodeAddress],
    ...["--data-dir", `${config.dataDir}-node`, "--api-port", String(freePort("127.0.0.1"))],
    ...["--proxy-cluster-ips=false", "--log-level", "warn"],
  ];
  return new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  })
    .spawn();
}

/** Runs the benchmark and writes bench/results/agent.{json,md}. */
export async function runAgentBench(options: AgentBenchOptions = {}): Promise<unknown> {
  const n = options.pods ?? 30;
  const replicas = options.replicas ?? 30;
  const idle = options.idlePods ?? 10;
  const images = await ensureTestImages();

  // The floor: what the engine itself takes to create and start the same container.
  const floorRt = new DockerRuntime({ nodeName: `bench-floor-${crypto.randomUUID().slice(0, 6)}` });
  const floor: number[] = [];
  let parallelFloorMs = 0;
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const id = await floorRt.createContainer({ Image: images.busybox, Cmd: CMD });
      await floorRt.startContainer(id);
      floor.push(performance.now() - t0);
    }
    // The floor for the Deployment: all its containers created and started at once.
    const t0 = performance.now();
    await Promise.all(Array.from({ length: replicas }, async () => {
      const id = await floorRt.createContainer({ Image: images.busybox, Cmd: CMD });
      await floorRt.startContainer(id);
    }));
    parallelFloorMs = performance.now() - t0;
  } finally {
    await removeNodeContainers(floorRt.nodeName);
  }

  const server = await startTestServer();
  const client = clientFor(server);
  const config = await testAgentConfig(server, { apiPort: 0 });
  let agent = startAgentProcess(config, { v8Flags: options.v8Flags });
  const ac = new AbortController();
  const tracker = trackPods(client, ac.signal);
  const result: Record<string, unknown> = { machine: machineInfo() };
  try {
    await waitFor("node registered", async () => {
      const nodes = await client.list({
        ...PODS,
        plural: "nodes",
        kind: "Node",
        namespaced: false,
      });
      return nodes.items.some((x) => x.metadata.name === config.nodeName);
    });
    const pod = (name: string, readiness: boolean): Pod => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", uid: "", labels: { bench: "single" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "c",
          image: images.busybox,
          command: CMD,
          ...(readiness
            ? { readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 } }
            : {}),
        }],
      },
    });

    // 30 pods, one at a time (each waits for the previous to be Running).
    const toRunning: number[] = [];
    const toReady: number[] = [];
    for (let i = 0; i < n; i++) {
      const name = `single-${i}`;
      const { uid: _uid, ...metadata } = pod(name, false).metadata;
      const t0 = performance.now();
      await client.create(PODS, { ...pod(name, false), metadata });
      await waitFor(`${name} Ready`, () => tracker.ready.has(name), { intervalMs: 5 });
      toRunning.push(tracker.running.get(name)! - t0);
      toReady.push(tracker.ready.get(name)! - t0);
    }
    result.single = {
      running: { median: median(toRunning), p99: percentile(toRunning, 99) },
      ready: { median: median(toReady), p99: percentile(toReady, 99) },
    };
    await client.deleteCollection(PODS, { namespace: "default", labelSelector: "bench=single" });
    await waitFor(
      "single pods gone",
      async () =>
        (await client.list(PODS, { namespace: "default", labelSelector: "bench=single" })).items
          .length === 0,
      { timeoutMs: 60_000 },
    );

    // One Deployment of 30 replicas.
    const t0 = performance.now();
    await client.create(DEPLOYMENTS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench", namespace: "default" },
      spec: {
        replicas,
        selector: { matchLabels: { app: "bench" } },
        template: {
          metadata: { labels: { app: "bench" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "c", image: images.busybox, command: CMD }],
          },
        },
      },
    });
    const deployPods = async () =>
      (await client.list<Pod>(PODS, { namespace: "default", labelSelector: "app=bench" })).items;
    await waitFor("deployment pods Ready", async () => {
      const items = await deployPods();
      return items.length === replicas && items.every((p) => tracker.ready.has(p.metadata.name));
    }, { timeoutMs: 120_000, intervalMs: 50 });
    const items = await deployPods();
    const dRunning = items.map((p) => tracker.running.get(p.metadata.name)! - t0);
    const dReady = items.map((p) => tracker.ready.get(p.metadata.name)! - t0);
    result.deployment = {
      replicas,
      running: { median: median(dRunning), p99: percentile(dRunning, 99) },
      ready: { median: median(dReady), p99: percentile(dReady, 99) },
      allReadyMs: Math.max(...dReady),
    };

    // Idle RSS with `idle` pods.
    await client.patch(DEPLOYMENTS, "bench", { spec: { replicas: idle } }, {
      namespace: "default",
      type: "merge",
    });
    await waitFor("scaled down", async () => (await deployPods()).length === idle, {
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 5000));
    // After the churn above RSS holds the heap's high-water mark; a restarted agent adopting
    // the same pods shows what an idle node costs.
    result.afterChurnRssMiB = rssMiB(agent.pid);
    agent.kill("SIGKILL");
    await agent.status;
    agent = startAgentProcess(config, { v8Flags: options.v8Flags });
    await new Promise((r) => setTimeout(r, 15_000));
    result.idleAgentOnly = memoryOf(agent.pid);
    agent.kill("SIGKILL");
    await agent.status;
    // What a node really runs: `skiff agent` (agent + service proxy in one process). It joins with
    // the join token once; the measured process is the restart after that (a joined node's steady
    // state: the one-time join loads Node's HTTPS client to fetch the CA), adopting the same pods.
    agent = startNodeProcess(server, config, options.v8Flags);
    await waitFor(
      "node joined",
      async () => (await loadCredentials(`${config.dataDir}-node`)) !== undefined,
      { timeoutMs: 60_000 },
    );
    agent.kill("SIGKILL");
    await agent.status;
    agent = startNodeProcess(server, config, options.v8Flags);
    await new Promise((r) => setTimeout(r, 15_000));
    result.idleNode = memoryOf(agent.pid);
    result.floor = { median: median(floor), p99: percentile(floor, 99), parallelFloorMs };
  } finally {
    ac.abort();
    await tracker.done;
    agent.kill("SIGKILL");
    await agent.status;
    await removeNodeContainers(config.nodeName);
    await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(`${config.dataDir}-node`, { recursive: true }).catch(() => {});
    await server.stop();
  }

  const f = (x: number) => `${Math.round(x)} ms`;
  const mem = (m: unknown) => {
    const { rssMiB, anonMiB, fileMiB } = m as ReturnType<typeof memoryOf>;
    return `${rssMiB} MiB (private ${anonMiB}, file-backed ${fileMiB})`;
  };
  const s = result.single as {
    running: { median: number; p99: number };
    ready: { median: number; p99: number };
  };
  const d = result.deployment as typeof s & { allReadyMs: number };
  const fl = result.floor as { median: number; p99: number; parallelFloorMs: number };
  const md = `# Agent benchmark

Machine: ${machineLine(result.machine as ReturnType<typeof machineInfo>)}

| measure | median | p99 | target |
| --- | --- | --- | --- |
| floor: docker create + start of the same image | ${f(fl.median)} | ${f(fl.p99)} | |
| ${n} pods one at a time: create → Running | ${f(s.running.median)} | ${
    f(s.running.p99)
  } | median ≤ floor + 300 ms, p99 ≤ 2 s |
| ${n} pods one at a time: create → Ready | ${f(s.ready.median)} | ${f(s.ready.p99)} | |
| Deployment of ${replicas}: create → pod Running | ${f(d.running.median)} | ${f(d.running.p99)} | |
| Deployment of ${replicas}: create → pod Ready | ${f(d.ready.median)} | ${f(d.ready.p99)} | |
| floor: ${replicas} docker create + start at once, all started | ${f(fl.parallelFloorMs)} | | |
| Deployment of ${replicas}: all Ready | ${f(d.allReadyMs)} | | |
| \`skiff agent\` (agent + proxy) RSS, idle with ${idle} pods, fresh process adopting them | ${
    mem(result.idleNode)
  } | | ≤ 60 MB |
| agent alone, same | ${mem(result.idleAgentOnly)} | | |
| agent alone with ${idle} pods after the runs above | ${result.afterChurnRssMiB} MiB | | |

Agent V8 flags: ${options.v8Flags ?? "(none)"}. Each pod is two containers (sandbox + app), so a
Deployment's pods cost the engine twice the floor's container starts. Memory is RSS, then its
private (anonymous) and file-backed parts; the file-backed part is mostly the Deno executable's
code, shared with every other Deno process on the machine and reclaimable by the kernel.
`;
  await writeResults("agent", result, md);
  return result;
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const v8Flags = Deno.args.find((a) => a.startsWith("--v8-flags="))?.slice("--v8-flags=".length);
  await runAgentBench(quick ? { pods: 5, replicas: 5, idlePods: 3, v8Flags } : { v8Flags });
}
