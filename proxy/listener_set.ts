/**
 * Holds this node's proxy sockets and reconciles them with the desired listeners: opens new
 * ones, closes removed ones (a changed port is a removal plus an addition), and swaps backend
 * lists and affinity in place so open connections carry on. A listener that cannot bind is
 * reported once through `onBindError` and retried on every later reconcile; the rest keep
 * serving.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import { type PortCounters, type PortLabels, ProxyMetrics } from "./metrics.ts";
import type { DesiredListener } from "./service_table.ts";
import type { Forwarder } from "./forwarder.ts";
import { TcpForwarder } from "./tcp_forwarder.ts";
import { UdpForwarder } from "./udp_forwarder.ts";

/** Options for {@linkcode ListenerSet}. */
export interface ListenerSetOptions {
  connectTimeoutMs?: number;
  udpIdleTimeoutMs?: number;
  udpMaxSessions?: number;
  metrics?: ProxyMetrics;
  logger?: Logger;
  /** Called when a listener first fails to bind (not again until it has bound or changed). */
  onBindError?: (listener: DesiredListener, error: Error) => void;
  /**
   * Makes a ClusterIP local before binding it (the dummy interface); not called for loopback
   * ClusterIPs or other sources.
   */
  ensureAddress?: (address: string) => Promise<void>;
  /** Undoes {@linkcode ListenerSetOptions.ensureAddress} when a ClusterIP is no longer used. */
  releaseAddress?: (address: string) => Promise<void>;
}

interface Active {
  desired: DesiredListener;
  forwarder: Forwarder;
}

/** The proxy's open listeners, keyed by `protocol/address:port`. */
export class ListenerSet {
  readonly #options: ListenerSetOptions;
  readonly #logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly #active = new Map<string, Active>();
  /** Listeners that failed to bind, with the error message last reported. */
  readonly #failed = new Map<string, string>();
  #closed = false;

  constructor(options: ListenerSetOptions = {}) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new ProxyMetrics();
  }

  /** Keys of the listeners bound now. */
  get bound(): string[] {
    return [...this.#active.keys()].sort();
  }

  /** Keys of listeners that could not bind, with the error. */
  get failed(): Map<string, string> {
    return new Map(this.#failed);
  }

  /** The forwarder of a bound listener (tests, metrics). */
  forwarder(key: string): Forwarder | undefined {
    return this.#active.get(key)?.forwarder;
  }

  /**
   * Brings the open sockets in line with `desired`. Never throws for a single listener's
   * failure; those go to `onBindError`.
   */
  async reconcile(desired: ReadonlyMap<string, DesiredListener>): Promise<void> {
    if (this.#closed) return;
    const removed = [...this.#active.entries()].filter(([key]) => !desired.has(key));
    for (const [key, active] of removed) {
      this.#active.delete(key);
      await active.forwarder.close();
      this.#logger.info("listener closed", { listener: key });
      await this.#release(active.desired);
    }
    for (const key of [...this.#failed.keys()]) if (!desired.has(key)) this.#failed.delete(key);

    for (const [key, want] of desired) {
      const active = this.#active.get(key);
      if (active) {
        active.forwarder.setBackends(want.backends);
        active.forwarder.setAffinity(want.affinityTimeoutSeconds);
        active.desired = want;
        continue;
      }
      try {
        const forwarder = await this.#open(want);
        this.#active.set(key, { desired: want, forwarder });
        this.#failed.delete(key);
        this.#logger.info("listener open", {
          listener: key,
          service: `${want.service.namespace}/${want.service.name}`,
          backends: want.backends.length,
        });
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (this.#failed.get(key) !== error.message) {
          this.#failed.set(key, error.message);
          this.#logger.warn("cannot bind listener", {
            listener: key,
            service: `${want.service.namespace}/${want.service.name}`,
            err: error,
          });
          this.#options.onBindError?.(want, error);
        }
      }
    }
    this.metrics.retain([...desired.values()].map((d) => this.#labels(d)));
  }

  /** Closes every listener and connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#active.values()];
    this.#active.clear();
    await Promise.all(all.map((a) => a.forwarder.close()));
    for (const a of all) await this.#release(a.desired);
  }

  #labels(want: DesiredListener): PortLabels {
    return {
      namespace: want.service.namespace,
      service: want.service.name,
      port: want.portName,
      // The service table gives this set TCP and UDP only (no `sctp` option in userspace mode).
      protocol: want.protocol === "UDP" ? "UDP" : "TCP",
    };
  }

  #counters(want: DesiredListener): PortCounters {
    return this.metrics.counters(this.#labels(want));
  }

  async #open(want: DesiredListener): Promise<Forwarder> {
    if (want.source === "clusterIP" && this.#options.ensureAddress) {
      await this.#options.ensureAddress(want.address);
    }
    const common = {
      hostname: want.address,
      port: want.port,
      backends: want.backends,
      affinityTimeoutSeconds: want.affinityTimeoutSeconds,
      counters: this.#counters(want),
      logger: this.#logger,
    };
    if (want.protocol === "UDP") {
      const udp = new UdpForwarder({
        ...common,
        idleTimeoutMs: this.#options.udpIdleTimeoutMs,
        maxSessions: this.#options.udpMaxSessions,
      });
      await udp.listen();
      return udp;
    }
    const tcp = new TcpForwarder({ ...common, connectTimeoutMs: this.#options.connectTimeoutMs });
    tcp.listen();
    return tcp;
  }

  async #release(listener: DesiredListener): Promise<void> {
    if (listener.source !== "clusterIP" || !this.#options.releaseAddress) return;
    // Another port of the same service may still use the address.
    const stillUsed = [...this.#active.values()].some((a) =>
      a.desired.address === listener.address
    );
    if (!stillUsed) await this.#options.releaseAddress(listener.address).catch(() => {});
  }
}
