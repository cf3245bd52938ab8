/**
 * A view of a running {@linkcode InformerSet} for one leadership term: the scheduler and the
 * controllers of a term get the standing-by server's warm informers (no re-list when it becomes
 * leader), and every handler they register is removed when the term's signal aborts, so the
 * next term starts from clean handlers over the same caches.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Informer, InformerHandlers } from "../../shared/informer.ts";
import { InformerSet } from "../../shared/informer_set.ts";

/** Informers of `parent`, with handler registration scoped to `signal`; never `run()` it. */
export class ScopedInformerSet extends InformerSet {
  readonly #parent: InformerSet;
  readonly #signal: AbortSignal;
  // deno-lint-ignore no-explicit-any
  readonly #views = new Map<Informer<any>, Informer<any>>();

  /** `client` is what the term's informers report as theirs (the fenced client). */
  constructor(parent: InformerSet, client: ApiClient, signal: AbortSignal) {
    super(client);
    this.#parent = parent;
    this.#signal = signal;
  }

  override get<T extends KubeObject = KubeObject>(r: ResourceRef): Informer<T> {
    const informer = this.#parent.get<T>(r);
    let view = this.#views.get(informer);
    if (!view) {
      view = scopedInformer(informer, this.#signal);
      this.#views.set(informer, view);
    }
    return view as Informer<T>;
  }

  override run(): Promise<void> {
    return Promise.reject(
      new Error("Cannot run a ScopedInformerSet: its parent runs the informers"),
    );
  }
}

/** The informer with its handler methods wrapped to unregister when `signal` aborts. */
function scopedInformer<T extends KubeObject>(inf: Informer<T>, signal: AbortSignal): Informer<T> {
  const add = (handlers: InformerHandlers<T>) => {
    if (signal.aborted) return;
    inf.addEventHandler(handlers);
    signal.addEventListener("abort", () => inf.removeEventHandler(handlers), { once: true });
  };
  const wrapped: Record<string, unknown> = {
    addEventHandler: add,
    onAdd: (fn: (o: T) => void) => add({ onAdd: fn }),
    onUpdate: (fn: (a: T, b: T) => void) => add({ onUpdate: fn }),
    onDelete: (fn: (o: T) => void) => add({ onDelete: fn }),
  };
  // Everything else goes to the informer itself (bound: it keeps private fields).
  return new Proxy(inf, {
    get(target, prop) {
      if (typeof prop === "string" && prop in wrapped) return wrapped[prop];
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
