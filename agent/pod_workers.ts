/**
 * Drives the per-pod syncs: the pod informer (pods bound to this node), Docker's container event
 * stream and a periodic relist all only enqueue pod keys; a work queue hands each key to one
 * worker at a time, so syncs of one pod are serialised while different pods sync in parallel.
 * The relist (the kubelet's PLEG) is the safety net for missed events and finds containers of
 * pods the API no longer has.
 */

import { objectKey } from "../shared/api/object.ts";
import { runController } from "../shared/controller.ts";
import type { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { delay } from "../shared/backoff.ts";
import { LABEL_POD_NAME, LABEL_POD_NAMESPACE } from "./labels.ts";
import type { AgentMetrics } from "./agent_metrics.ts";
import type { PodSyncer } from "./pod_sync.ts";
import type { Pod } from "./pod_types.ts";

/** Options for {@linkcode PodWorkers}. */
export interface PodWorkersOptions {
  informer: Informer<Pod>;
  syncer: PodSyncer;
  rt: DockerRuntime;
  queue: WorkQueue;
  /** Relist period (default 10 s). */
  relistMs?: number;
  /** Pods synced in parallel (default 16). */
  workers?: number;
  /** Times each relist (`kubelet_pleg_relist_duration_seconds`). */
  metrics?: AgentMetrics;
  logger?: Logger;
}

/** Docker actions that mean a pod's containers changed under us. */
const WAKING_ACTIONS = new Set(["die", "oom", "destroy", "stop", "kill", "pause", "unpause"]);

/** The node's pod sync loop. */
export class PodWorkers {
  readonly #o: PodWorkersOptions;
  readonly #log: Logger;

  constructor(options: PodWorkersOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
  }

  /** Runs until `signal` aborts; resolves once every worker has finished. */
  async run(signal: AbortSignal): Promise<void> {
    const { informer, queue, rt } = this.#o;
    informer.addEventHandler({
      onAdd: (p) => queue.add(objectKey(p)),
      onUpdate: (_old, p) => queue.add(objectKey(p)),
      onDelete: (p) => queue.add(objectKey(p)),
    });
    const events = rt.watchEvents(signal, {
      onEvent: (e) => {
        if (!WAKING_ACTIONS.has(e.action)) return;
        // Docker's container list may still say "running" right after a die event: the
        // container's next sync inspects it again instead of trusting the list.
        this.#o.syncer.containerChanged(e.id, e.action);
        const ns = e.labels[LABEL_POD_NAMESPACE];
        const name = e.labels[LABEL_POD_NAME];
        if (ns && name) queue.add(`${ns}/${name}`);
      },
      // Events may have been missed while disconnected (Docker restarted): look at everything.
      onConnect: () => void this.relist(),
    });
    const relist = (async () => {
      // The first relist right after the first LIST finds containers of pods deleted while the
      // agent was down.
      if (await informer.waitForSync(signal)) await this.relist();
      while (!signal.aborted) {
        await delay(this.#o.relistMs ?? 10_000, signal);
        if (!signal.aborted) await this.relist();
      }
    })();
    await runController({
      name: "pods",
      queue,
      workers: this.#o.workers ?? 16,
      informers: [informer],
      logger: this.#log,
      reconcile: (key) => this.#o.syncer.sync(key, informer.get(key), () => informer.get(key)),
    }, signal);
    await Promise.all([events, relist]);
  }

  /**
   * Enqueues every pod the API binds here and every pod Docker has containers for. Before the
   * informer's first list nothing is touched: an agent that can't reach the server leaves its
   * containers running. Seeded from the node's local copy, it syncs the copied pods only.
   */
  async relist(): Promise<void> {
    const { informer, metrics } = this.#o;
    if (!informer.hasSynced()) return;
    await (metrics ? metrics.timeRelist(() => this.#relist()) : this.#relist());
  }

  async #relist(): Promise<void> {
    const { informer, queue } = this.#o;
    for (const key of informer.keys()) queue.add(key);
    // Pods known only from the node's local copy (the server not reached yet) are not the whole
    // truth: containers of other pods wait for the server's list before they are removed.
    if (!informer.hasListed()) return;
    try {
      for (const key of await this.#o.syncer.keysInDocker(() => informer.list())) queue.add(key);
    } catch (e) {
      this.#log.warn("relist failed", { error: e });
    }
  }
}
