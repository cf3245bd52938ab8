/**
 * The agent's Prometheus metrics, under the kubelet's names so its dashboards and alerts read
 * them: pod start latency (first seen → all containers running), running pods and containers
 * (counted from Docker when scraped), the relist's (PLEG's) duration, Docker operations and
 * their errors, and the process. Served at the agent's `/metrics`, before the proxy's counters.
 * Also renders the `/metrics/cadvisor` container CPU and memory series from stats samples.
 */
import {
  exponentialBuckets,
  type Labels,
  registerProcessMetrics,
  Registry,
} from "../shared/prometheus.ts";
import type { ContainerInfo } from "./docker_types.ts";
import { LABEL_KIND, LABEL_POD_NAME, LABEL_POD_NAMESPACE } from "./labels.ts";

/** The kubelet's pod start buckets (seconds). */
const POD_START_BUCKETS = [
  0.5,
  1,
  2,
  3,
  4,
  5,
  6,
  8,
  10,
  20,
  30,
  45,
  60,
  120,
  180,
  240,
  300,
  360,
  480,
  600,
  900,
  1200,
  1800,
  2700,
  3600,
];

/** Docker's container states mapped onto the kubelet's `container_state` label values. */
function containerState(state: string): string {
  switch (state) {
    case "created":
    case "running":
    case "exited":
      return state;
    case "dead":
      return "exited";
    default:
      return "unknown";
  }
}

/** One container's cumulative usage, for `/metrics/cadvisor`. */
export interface ContainerUsage {
  namespace: string;
  pod: string;
  container: string;
  /** Cumulative CPU time, seconds. */
  cpuSeconds: number;
  /** Working set (usage minus inactive file cache), bytes. */
  memoryWorkingSetBytes: number;
}

/** Every metric family of one agent process. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly podStartDuration = this.registry.histogram(
    "kubelet_pod_start_duration_seconds",
    "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
    POD_START_BUCKETS,
  );
  readonly relistDuration = this.registry.histogram(
    "kubelet_pleg_relist_duration_seconds",
    "Duration in seconds for relisting pods in PLEG.",
    exponentialBuckets(0.005, 2, 12),
  );
  readonly runtimeOperations = this.registry.counter(
    "kubelet_runtime_operations_total",
    "Cumulative number of runtime operations by operation type.",
  );
  readonly runtimeErrors = this.registry.counter(
    "kubelet_runtime_operations_errors_total",
    "Cumulative number of runtime operation errors by operation type.",
  );
  /** The containers of the last scrape (running pods and containers are counted from it). */
  #containers: ContainerInfo[] = [];
  readonly #stopProcess: () => void;

  constructor() {
    this.registry.gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox")
      .collect(() => {
        const pods = new Set<string>();
        for (const c of this.#containers) {
          if (c.Labels[LABEL_KIND] === "sandbox" && c.State === "running") {
            pods.add(`${c.Labels[LABEL_POD_NAMESPACE]}/${c.Labels[LABEL_POD_NAME]}`);
          }
        }
        return [[{}, pods.size]];
      });
    this.registry.gauge(
      "kubelet_running_containers",
      "Number of containers currently running",
    ).collect(() => {
      const byState = new Map<string, number>();
      for (const c of this.#containers) {
        if (c.Labels[LABEL_KIND] === "sandbox") continue;
        const s = containerState(c.State);
        byState.set(s, (byState.get(s) ?? 0) + 1);
      }
      return [...byState].map(([s, n]): [Labels, number] => [{ container_state: s }, n]);
    });
    this.#stopProcess = registerProcessMetrics(this.registry);
  }

  /** Counts one runtime (Docker) operation; `failed` also counts it as an error. */
  runtimeOperation(operation: string, failed: boolean): void {
    const labels = { operation_type: operation };
    this.runtimeOperations.inc(labels);
    if (failed) this.runtimeErrors.inc(labels);
  }

  /** Times one relist (`fn`), observing its duration whether it succeeds or throws. */
  async timeRelist<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.relistDuration.observe({}, (performance.now() - start) / 1000);
    }
  }

  /** The exposition, counting running pods and containers from `containers` (Docker's now). */
  exposition(containers: ContainerInfo[]): string {
    this.#containers = containers;
    try {
      return this.registry.exposition();
    } finally {
      this.#containers = [];
    }
  }

  /** Stops the process collectors' timer. */
  close(): void {
    this.#stopProcess();
  }
}

/** cAdvisor's container CPU and memory series, in the text exposition format. */
export function cadvisorExposition(usage: ContainerUsage[]): string {
  const registry = new Registry();
  const cpu = registry.counter(
    "container_cpu_usage_seconds_total",
    "Cumulative cpu time consumed in seconds.",
  );
  const memory = registry.gauge(
    "container_memory_working_set_bytes",
    "Current working set in bytes.",
  );
  for (const u of usage) {
    const labels = { namespace: u.namespace, pod: u.pod, container: u.container };
    cpu.inc(labels, u.cpuSeconds);
    memory.set(labels, u.memoryWorkingSetBytes);
  }
  return registry.exposition();
}
