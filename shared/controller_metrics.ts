/**
 * Work queue metrics for controllers, as client-go's `workqueue.SetProvider`: the process that
 * wants them (the server) installs a provider once; `runController` asks it for the metrics of
 * each named queue. Processes that install none (the agent) pay nothing.
 */
import type { WorkQueue, WorkQueueMetrics } from "./work_queue.ts";

/** The metrics of one named controller's queue and workers. */
export interface ControllerMetrics extends WorkQueueMetrics {
  /** A worker started reconciling `key`. */
  started(key: string): void;
  /** A worker finished `key` after `seconds`. */
  finished(key: string, seconds: number): void;
}

/** Makes the metrics of a named queue. */
export interface ControllerMetricsProvider {
  forQueue(name: string, queue: WorkQueue): ControllerMetrics;
}

let provider: ControllerMetricsProvider | undefined;

/** Installs (or, with undefined, removes) the process's provider. */
export function setControllerMetricsProvider(p: ControllerMetricsProvider | undefined): void {
  provider = p;
}

/** The installed provider, if any. */
export function controllerMetricsProvider(): ControllerMetricsProvider | undefined {
  return provider;
}
