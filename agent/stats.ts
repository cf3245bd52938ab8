/**
 * CPU and memory usage of the node and of each pod's containers, for `kubectl top` (the server
 * turns it into metrics.k8s.io objects). CPU is a rate, so it is measured between two samples:
 * the previous request's, or — when that is missing or stale — one taken half a second earlier.
 */

import type { AgentStatsSummary } from "../shared/agent_stats.ts";
import type { ContainerUsage } from "./agent_metrics.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { LABEL_CONTAINER_NAME, LABEL_KIND, LABEL_POD_NAME, LABEL_POD_NAMESPACE } from "./labels.ts";

/** What `GET /stats` returns (the wire contract lives in shared/agent_stats.ts). */
export type StatsSummary = AgentStatsSummary;

interface CpuSample {
  usage: number;
  at: number;
}

async function hostCpu(): Promise<{ busy: number; total: number }> {
  const text = await Deno.readTextFile("/proc/stat").catch(() => "");
  const f = (text.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

async function hostMemoryUsed(): Promise<number> {
  const text = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) * 1024;
  return Math.max(0, kb("MemTotal") - kb("MemAvailable"));
}

const STALE_MS = 60_000;

/** Collects usage for one node. */
export class StatsCollector {
  readonly #rt: DockerRuntime;
  readonly #nodeName: string;
  readonly #last = new Map<string, CpuSample>();
  #lastHost?: { busy: number; total: number; at: number };

  constructor(rt: DockerRuntime, nodeName: string) {
    this.#rt = rt;
    this.#nodeName = nodeName;
  }

  /** Usage now (waits ~0.5 s when there is no recent earlier sample). */
  async summary(): Promise<StatsSummary> {
    const running = (await this.#rt.listContainers()).filter((c) =>
      c.State === "running" && c.Labels[LABEL_KIND] !== "sandbox"
    );
    const now = Date.now();
    const needWarmup = !this.#lastHost || now - this.#lastHost.at > STALE_MS ||
      running.some((c) => !this.#last.has(c.Id) || now - this.#last.get(c.Id)!.at > STALE_MS);
    if (needWarmup) {
      await this.#sampleAll(running.map((c) => c.Id));
      await new Promise((r) => setTimeout(r, 500));
    }
    const prevHost = this.#lastHost!;
    const prev = new Map(this.#last);
    const samples = await this.#sampleAll(running.map((c) => c.Id));
    const host = this.#lastHost!;
    const cores = navigator.hardwareConcurrency || 1;
    const hostFraction = host.total > prevHost.total
      ? (host.busy - prevHost.busy) / (host.total - prevHost.total)
      : 0;
    const windowSeconds = Math.max(0.001, (host.at - prevHost.at) / 1000);
    const timestamp = new Date(host.at).toISOString();
    const pods = new Map<string, StatsSummary["pods"][number]>();
    for (const c of running) {
      const s = samples.get(c.Id);
      const p = prev.get(c.Id);
      if (!s) continue;
      const cpu = p && s.cpu.at > p.at ? ((s.cpu.usage - p.usage) / (s.cpu.at - p.at)) * 1000 : 0;
      const key = `${c.Labels[LABEL_POD_NAMESPACE]}/${c.Labels[LABEL_POD_NAME]}`;
      let pod = pods.get(key);
      if (!pod) {
        pod = {
          namespace: c.Labels[LABEL_POD_NAMESPACE],
          name: c.Labels[LABEL_POD_NAME],
          containers: [],
          timestamp,
          windowSeconds,
        };
        pods.set(key, pod);
      }
      pod.containers.push({
        name: c.Labels[LABEL_CONTAINER_NAME],
        cpuNanoCores: Math.max(0, Math.round(cpu)),
        memoryBytes: s.memory,
      });
    }
    // Forget containers that are gone.
    for (const id of this.#last.keys()) if (!samples.has(id)) this.#last.delete(id);
    return {
      node: {
        name: this.#nodeName,
        cpuNanoCores: Math.round(Math.max(0, hostFraction) * cores * 1e9),
        memoryBytes: await hostMemoryUsed(),
        timestamp,
        windowSeconds,
      },
      pods: [...pods.values()],
    };
  }

  /** Cumulative CPU seconds and working set of each running container (for /metrics/cadvisor). */
  async containerUsage(): Promise<ContainerUsage[]> {
    const running = (await this.#rt.listContainers()).filter((c) =>
      c.State === "running" && c.Labels[LABEL_KIND] !== "sandbox"
    );
    const out: ContainerUsage[] = [];
    await Promise.all(running.map(async (c) => {
      try {
        const s = await this.#rt.stats(c.Id);
        out.push({
          namespace: c.Labels[LABEL_POD_NAMESPACE],
          pod: c.Labels[LABEL_POD_NAME],
          container: c.Labels[LABEL_CONTAINER_NAME],
          cpuSeconds: s.cpuUsageNanos / 1e9,
          memoryWorkingSetBytes: s.memoryWorkingSetBytes,
        });
      } catch {
        // The container stopped between the list and the sample: leave it out.
      }
    }));
    return out;
  }

  async #sampleAll(ids: string[]): Promise<Map<string, { cpu: CpuSample; memory: number }>> {
    const out = new Map<string, { cpu: CpuSample; memory: number }>();
    const host = await hostCpu();
    this.#lastHost = { ...host, at: Date.now() };
    await Promise.all(ids.map(async (id) => {
      try {
        const s = await this.#rt.stats(id);
        const cpu = { usage: s.cpuUsageNanos, at: s.timestamp };
        this.#last.set(id, cpu);
        out.set(id, { cpu, memory: s.memoryWorkingSetBytes });
      } catch {
        // The container stopped between the list and the sample: leave it out.
      }
    }));
    return out;
  }
}
