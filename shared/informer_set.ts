/**
 * Shared informers by resource, like client-go's SharedInformerFactory: every controller and the
 * scheduler asking for pods get the same cache and the same watch, so 10,000 pods are held and
 * streamed once per process.
 */
import type { KubeObject } from "./api/object.ts";
import type { ResourceRef } from "./api/resource_info.ts";
import type { ApiClient } from "./client/client.ts";
import { Informer } from "./informer.ts";
import { type Logger, silentLogger } from "./log.ts";

/** A lazily filled set of informers that all run under one signal. */
export class InformerSet {
  readonly client: ApiClient;
  readonly #logger: Logger;
  // deno-lint-ignore no-explicit-any
  readonly #informers = new Map<string, Informer<any>>();
  readonly #runs: Promise<void>[] = [];
  #signal?: AbortSignal;

  constructor(client: ApiClient, options: { logger?: Logger } = {}) {
    this.client = client;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The informer of `r` (all namespaces); started at once if the set is already running. */
  get<T extends KubeObject = KubeObject>(r: ResourceRef): Informer<T> {
    const key = `${r.group}/${r.plural}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new Informer<T>(this.client, r, { logger: this.#logger });
      this.#informers.set(key, inf);
      if (this.#signal) this.#runs.push(inf.run(this.#signal));
    }
    return inf as Informer<T>;
  }

  /** Runs every informer (present and future) until `signal` aborts; resolves once all stopped. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#signal) throw new Error("Cannot run an InformerSet twice");
    this.#signal = signal;
    for (const inf of this.#informers.values()) this.#runs.push(inf.run(signal));
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // Informers added late push onto #runs; wait until the list stops growing.
    let n = -1;
    while (n !== this.#runs.length) {
      n = this.#runs.length;
      await Promise.all(this.#runs);
    }
  }
}
