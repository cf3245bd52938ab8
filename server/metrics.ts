/**
 * The server's Prometheus metrics, under the names kube-apiserver, client-go's workqueue and
 * kube-scheduler use, so existing dashboards and alerts read them: requests by verb, resource
 * and code with latency histograms; long-running requests (watches); objects and latency of the
 * store; every controller queue's depth, adds, waits, work time and retries; scheduling attempts
 * and latency; and the process (memory, CPU, descriptors, event-loop lag). Served at `/metrics`.
 */
import type { WorkQueue } from "../shared/work_queue.ts";
import type { ControllerMetrics, ControllerMetricsProvider } from "../shared/controller_metrics.ts";
import {
  exponentialBuckets,
  type Gauge,
  type Histogram,
  registerProcessMetrics,
  Registry,
} from "../shared/prometheus.ts";
import type { Backend } from "./store/backend.ts";

/** kube-apiserver's request latency buckets (seconds). */
const REQUEST_BUCKETS = [
  0.005,
  0.025,
  0.05,
  0.1,
  0.2,
  0.4,
  0.6,
  0.8,
  1,
  1.25,
  1.5,
  2,
  3,
  4,
  5,
  6,
  8,
  10,
  15,
  20,
  30,
  45,
  60,
];

/** Labels of one API request, as kube-apiserver's request metrics carry them. */
export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
}

/** Every metric family of one server process. */
export class ServerMetrics implements ControllerMetricsProvider {
  readonly registry = new Registry();
  readonly #stopProcess: () => void;

  readonly requests = this.registry.counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.",
  );
  readonly requestDuration = this.registry.histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
    REQUEST_BUCKETS,
  );
  readonly longRunning = this.registry.gauge(
    "apiserver_longrunning_requests",
    "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
  );
  readonly storageObjects = this.registry.gauge(
    "apiserver_storage_objects",
    "Number of stored objects at the time of last check split by kind.",
  );
  readonly storageDuration = this.registry.histogram(
    "etcd_request_duration_seconds",
    "Store request latency in seconds for each operation and object type (etcd or SQLite).",
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
  );
  readonly storageSize = this.registry.gauge(
    "apiserver_storage_size_bytes",
    "Size of the storage database file physically allocated in bytes.",
  );
  readonly scheduleAttempts = this.registry.counter(
    "scheduler_schedule_attempts_total",
    "Number of attempts to schedule pods, by the result.",
  );
  readonly schedulingDuration = this.registry.histogram(
    "scheduler_scheduling_attempt_duration_seconds",
    "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
    exponentialBuckets(0.001, 2, 15),
  );
  readonly pendingPods = this.registry.gauge(
    "scheduler_pending_pods",
    "Number of pending pods, by the queue type.",
  );
  readonly #queueDepth: Gauge;
  readonly #queueAdds = this.registry.counter(
    "workqueue_adds_total",
    "Total number of adds handled by workqueue",
  );
  readonly #queueWait: Histogram;
  readonly #queueWork: Histogram;
  readonly #queueRetries = this.registry.counter(
    "workqueue_retries_total",
    "Total number of retries handled by workqueue",
  );
  readonly #queues = new Map<string, { queue: WorkQueue; running: Map<string, number> }>();

  constructor() {
    const buckets = exponentialBuckets(1e-8, 10, 10);
    this.#queueDepth = this.registry.gauge("workqueue_depth", "Current depth of workqueue")
      .collect(() => [...this.#queues].map(([name, q]) => [{ name }, q.queue.len]));
    this.#queueWait = this.registry.histogram(
      "workqueue_queue_duration_seconds",
      "How long in seconds an item stays in workqueue before being requested.",
      buckets,
    );
    this.#queueWork = this.registry.histogram(
      "workqueue_work_duration_seconds",
      "How long in seconds processing an item from workqueue takes.",
      buckets,
    );
    this.registry.gauge(
      "workqueue_unfinished_work_seconds",
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration.",
    ).collect(() =>
      [...this.#queues].map(([name, q]) => [{ name }, this.#running(q.running).total])
    );
    this.registry.gauge(
      "workqueue_longest_running_processor_seconds",
      "How many seconds has the longest running processor for workqueue been running.",
    ).collect(() =>
      [...this.#queues].map(([name, q]) => [{ name }, this.#running(q.running).longest])
    );
    this.#stopProcess = registerProcessMetrics(this.registry);
  }

  #running(running: Map<string, number>): { total: number; longest: number } {
    const now = performance.now();
    let total = 0, longest = 0;
    for (const start of running.values()) {
      const s = (now - start) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    return { total, longest };
  }

  /** The workqueue metrics of one named controller (see shared/controller_metrics.ts). */
  forQueue(name: string, queue: WorkQueue): ControllerMetrics {
    const running = new Map<string, number>();
    this.#queues.set(name, { queue, running });
    const labels = { name };
    return {
      added: () => this.#queueAdds.inc(labels),
      waited: (s) => this.#queueWait.observe(labels, s),
      retried: () => this.#queueRetries.inc(labels),
      started: (key) => running.set(key, performance.now()),
      finished: (key, s) => {
        running.delete(key);
        this.#queueWork.observe(labels, s);
      },
    };
  }

  /** Records one finished API request (long-running ones are counted, not timed). */
  observeRequest(labels: RequestLabels, code: number, seconds: number): void {
    const l = { ...labels, component: "apiserver" };
    this.requests.inc({ ...l, code: String(code) });
    if (labels.verb !== "WATCH" && labels.verb !== "CONNECT") {
      this.requestDuration.observe(l, seconds);
    }
  }

  /** Wraps a backend so that every operation's latency is observed (operation, type labels). */
  instrumentBackend(backend: Backend): Backend {
    const timed =
      <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const start = performance.now();
        try {
          return await fn(...args);
        } finally {
          const key = typeof args[0] === "string" ? args[0] : "";
          this.storageDuration.observe(
            { operation: op, type: storageType(key) },
            (performance.now() - start) / 1000,
          );
        }
      };
    const ops: Record<string, unknown> = {
      get: timed("get", backend.get.bind(backend)),
      list: timed("listWithCount", backend.list.bind(backend)),
      count: timed("count", backend.count.bind(backend)),
      create: timed("create", backend.create.bind(backend)),
      update: timed("update", backend.update.bind(backend)),
      delete: timed("delete", backend.delete.bind(backend)),
    };
    // Everything else (watch, compact, close …) goes to the backend itself, bound, since its
    // methods use private fields.
    return new Proxy(backend, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && prop in ops) return ops[prop];
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  /** Stops the process collectors' timer. */
  close(): void {
    this.#stopProcess();
  }
}

/** `/registry/apps/deployments/ns/x` → `deployments.apps`, as kube-apiserver's type label. */
function storageType(key: string): string {
  const parts = key.split("/");
  if (parts[1] !== "registry" || parts.length < 4) return "unknown";
  return parts[2] === "core" ? parts[3] : `${parts[3]}.${parts[2]}`;
}
