/**
 * The generic controller runner: wait for the informers' caches, then run N workers that take a
 * key from the work queue, `reconcile(key)` it, forget the key's failures on success and re-queue
 * it with back-off on error. Every controller, the scheduler, the agent's pod workers and the
 * proxy's sync run through this one loop.
 */
import type { Informer } from "./informer.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { WorkQueue } from "./work_queue.ts";
import type { KubeObject } from "./api/object.ts";
import { controllerMetricsProvider } from "./controller_metrics.ts";

/** What {@linkcode runController} runs. */
export interface ControllerOptions {
  /** Used in log lines. */
  name: string;
  queue: WorkQueue;
  /** Parallel workers (default 1). A key is never reconciled by two workers at once. */
  workers?: number;
  /**
   * Brings the world in line with the desired state of `key` (`namespace/name`). Idempotent;
   * throws to be retried with back-off.
   */
  reconcile: (key: string) => Promise<void>;
  /** Informers whose caches must be filled before the first reconcile. Run them yourself. */
  // deno-lint-ignore no-explicit-any
  informers?: Informer<any>[];
  logger?: Logger;
}

/**
 * Runs the controller until `signal` aborts, then shuts the queue down and resolves once every
 * in-flight reconcile has finished. The informers are not started here (they are shared between
 * controllers): start them with `informer.run(signal)` before or alongside.
 */
export async function runController(
  options: ControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { name, queue, reconcile } = options;
  const logger = (options.logger ?? silentLogger).child(name);
  const metrics = controllerMetricsProvider()?.forQueue(name, queue);
  if (metrics) queue.metrics = metrics;
  const onAbort = () => queue.shutDown();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const informers: Informer<KubeObject>[] = options.informers ?? [];
    const synced = await Promise.all(informers.map((i) => i.waitForSync(signal)));
    if (!synced.every(Boolean)) return;
    logger.debug("caches synced, starting workers", { workers: options.workers ?? 1 });
    const worker = async () => {
      while (true) {
        const key = await queue.get(signal);
        if (key === undefined) return;
        const started = performance.now();
        metrics?.started(key);
        try {
          await reconcile(key);
          queue.forget(key);
        } catch (err) {
          if (!signal.aborted) {
            logger.warn("reconcile failed, will retry", {
              key,
              error: err,
              retries: queue.numRequeues(key),
            });
            queue.addRateLimited(key);
          }
        } finally {
          metrics?.finished(key, (performance.now() - started) / 1000);
          queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.workers ?? 1) }, worker));
  } finally {
    signal.removeEventListener("abort", onAbort);
    queue.shutDown();
  }
}
