/**
 * The EventRecorder: writes core/v1 Events about objects (`Scheduled`, `SuccessfulCreate`, ...)
 * without blocking the caller, and aggregates repeats as Kubernetes does — the same involved
 * object, reason, message and source bump `count` and `lastTimestamp` of the existing Event
 * instead of creating another.
 */
import type { KubeObject } from "./api/object.ts";
import type { ApiClient } from "./client/client.ts";
import { EVENTS } from "./client/refs.ts";
import { isNotFound } from "./errors.ts";
import { type Logger, silentLogger } from "./log.ts";

/**
 * What a reconciler records events through: `EventRecorder` in production, `FakeRecorder`
 * (shared/testing/) in unit tests.
 */
export interface Recorder {
  /** Records an event about `obj`; never throws. */
  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

/** Options of {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `default-scheduler`. */
  component: string;
  /** `source.host` (the node, for the agent). */
  host?: string;
  logger?: Logger;
  /** Events kept for aggregation (default 4096; the oldest are forgotten first). */
  cacheSize?: number;
  /** Events waiting or in flight before new ones are dropped (default 2048), like client-go's full channel. */
  maxPending?: number;
  /**
   * Event writes sent at once (default 4): events are low priority and must not crowd out the
   * writes they describe (bindings, pod creations) during a burst.
   */
  concurrency?: number;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  /** Serialises writes of one aggregate so a repeat never races its create. */
  chain: Promise<void>;
}

/** Records Events for any object; cheap to call from hot paths. */
export class EventRecorder implements Recorder {
  readonly #client: ApiClient;
  readonly #options: EventRecorderOptions;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Aggregate>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #slotWaiters: (() => void)[] = [];
  #active = 0;
  #dropped = 0;
  #seq = 0;

  constructor(client: ApiClient, options: EventRecorderOptions) {
    this.#client = client;
    this.#options = options;
    this.#logger = (options.logger ?? silentLogger).child("events");
  }

  /**
   * Records an event about `obj` (any object with kind, name, uid). Cluster-scoped objects'
   * events go to the `default` namespace, as in Kubernetes. Never throws; failures are logged.
   */
  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    if (this.#inFlight.size >= (this.#options.maxPending ?? 2048)) {
      // Log the first drop of a burst only.
      if (this.#dropped++ === 0) {
        this.#logger.warn("dropping events: too many pending", {
          reason,
          object: obj.metadata.name,
        });
      }
      return;
    }
    this.#dropped = 0;
    const involved = involvedObject(obj);
    const key = [
      involved.kind,
      involved.namespace ?? "",
      involved.name,
      involved.uid ?? "",
      reason,
      message,
      this.#options.component,
      this.#options.host ?? "",
      type,
    ].join("\u0000");
    let agg = this.#cache.get(key);
    if (agg) {
      // Refresh its place in the LRU order.
      this.#cache.delete(key);
      this.#cache.set(key, agg);
    } else {
      const namespace = involved.namespace || "default";
      const name = `${involved.name}.${eventSuffix(++this.#seq)}`;
      agg = { name, namespace, count: 0, chain: Promise.resolve() };
      this.#cache.set(key, agg);
      const limit = this.#options.cacheSize ?? 4096;
      while (this.#cache.size > limit) this.#cache.delete(this.#cache.keys().next().value!);
    }
    const a = agg;
    a.count++;
    const count = a.count;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const write = a.chain.then(() =>
      this.#write(a, count, now, { type, reason, message, involved })
    );
    a.chain = write;
    this.#inFlight.add(write);
    write.finally(() => this.#inFlight.delete(write));
  }

  /** Resolves once every event recorded so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #write(
    a: Aggregate,
    count: number,
    now: string,
    e: { type: string; reason: string; message: string; involved: Record<string, unknown> },
  ): Promise<void> {
    if (this.#active >= (this.#options.concurrency ?? 4)) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    this.#active++;
    try {
      if (count > 1) {
        try {
          await this.#client.patch(EVENTS, a.name, { count, lastTimestamp: now }, {
            namespace: a.namespace,
            type: "merge",
          });
          return;
        } catch (err) {
          // The first write failed or the event expired: write it afresh below.
          if (!isNotFound(err)) throw err;
        }
      }
      await this.#client.create(EVENTS, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: a.name, namespace: a.namespace },
        involvedObject: e.involved,
        reason: e.reason,
        message: e.message,
        type: e.type,
        count,
        firstTimestamp: now,
        lastTimestamp: now,
        source: this.#options.host
          ? { component: this.#options.component, host: this.#options.host }
          : { component: this.#options.component },
        reportingComponent: this.#options.component,
        reportingInstance: this.#options.host ?? "",
      }, { namespace: a.namespace });
    } catch (err) {
      this.#logger.warn("could not write event", { reason: e.reason, name: a.name, error: err });
    } finally {
      this.#active--;
      this.#slotWaiters.shift()?.();
    }
  }
}

/** The `involvedObject` reference for `obj`. */
export function involvedObject(obj: KubeObject): Record<string, string | undefined> {
  const ref: Record<string, string | undefined> = {
    kind: obj.kind,
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    apiVersion: obj.apiVersion,
    resourceVersion: obj.metadata.resourceVersion,
  };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

function eventSuffix(seq: number): string {
  // Kubernetes names events `<object>.<hex nanoseconds>`; a counter keeps them unique in-process.
  const ns = BigInt(Date.now()) * 1_000_000n + BigInt(seq % 1_000_000);
  return ns.toString(16);
}
