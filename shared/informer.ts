/**
 * The shared informer, as in client-go: LIST (paged) then WATCH one resource kind, keep an
 * in-memory indexed cache of it, and tell handlers what changed. It resumes a watch that ends from
 * the last version it saw, re-lists on 410 Gone (handlers then see the difference as synthetic
 * add/update/delete), and backs off on errors. Handlers should only enqueue keys: controllers
 * read the cache in `reconcile(key)`, never an event's payload.
 */
import { type KubeObject, objectKey, type WatchEvent } from "./api/object.ts";
import type { ResourceRef } from "./api/resource_info.ts";
import { Backoff, type BackoffOptions, delay } from "./backoff.ts";
import type { ApiClient } from "./client/client.ts";
import { isCode } from "./errors.ts";
import type { Selector } from "./labels.ts";
import { filterBySelector, type IndexFunc, type Lister, NAMESPACE_INDEX } from "./lister.ts";
import { type Logger, silentLogger } from "./log.ts";

export { type IndexFunc, NAMESPACE_INDEX } from "./lister.ts";

/** Options for {@linkcode Informer}. */
export interface InformerOptions {
  /** Watch one namespace only (default: all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as `onUpdate(obj, obj)` this often (default: never). */
  resyncMs?: number;
  logger?: Logger;
  /** LIST page size (default 500). */
  pageSize?: number;
  /** Back-off between failed lists/watches (default 200 ms doubling to 30 s, with jitter). */
  backoff?: BackoffOptions;
  /**
   * Server-side watch timeout; the informer then re-watches from its last version. Default: a
   * random 300–600 s, so many informers don't all re-watch at once.
   */
  watchTimeoutSeconds?: number;
  /**
   * Trims each object before it is cached (client-go's SetTransform): an informer over many
   * objects of which a few fields are needed keeps only those. It must keep `metadata.name`,
   * `namespace` and `resourceVersion`.
   */
  transform?: (obj: KubeObject) => KubeObject;
}

/** What an informer tells its handlers. Handlers run synchronously; keep them cheap. */
export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Receives the last state of the object (the watch's DELETED object, or the cached one). */
  onDelete?(obj: T): void;
}

interface Index<T extends KubeObject> {
  fn: IndexFunc<T>;
  byValue: Map<string, Set<string>>;
}

/** List+watch cache of one resource kind with change handlers and indexes. */
export class Informer<T extends KubeObject = KubeObject> implements Lister<T> {
  readonly resource: ResourceRef;
  readonly #client: ApiClient;
  readonly #options: InformerOptions;
  readonly #logger: Logger;
  readonly #items = new Map<string, T>();
  readonly #indexes = new Map<string, Index<T>>();
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #syncWaiters = new Set<() => void>();
  #synced = false;
  #listed = false;
  #running = false;
  #resourceVersion = "";

  constructor(client: ApiClient, r: ResourceRef, options: InformerOptions = {}) {
    this.#client = client;
    this.resource = r;
    this.#options = options;
    this.#logger = (options.logger ?? silentLogger).child(`informer.${r.plural}`);
    this.addIndexer(NAMESPACE_INDEX, (obj) => [obj.metadata.namespace ?? ""]);
  }

  /**
   * Registers handlers. Handlers added after the cache has filled first receive `onAdd` for every
   * cached object, so they never miss state.
   */
  addEventHandler(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
    if (this.#synced && handlers.onAdd) {
      for (const obj of this.#items.values()) this.#call(handlers, "onAdd", obj);
    }
  }

  /** Unregisters handlers given to {@linkcode addEventHandler} (the same object). */
  removeEventHandler(handlers: InformerHandlers<T>): void {
    const i = this.#handlers.indexOf(handlers);
    if (i >= 0) this.#handlers.splice(i, 1);
  }

  /** Shorthand for `addEventHandler({ onAdd })`. */
  onAdd(fn: (obj: T) => void): void {
    this.addEventHandler({ onAdd: fn });
  }

  /** Shorthand for `addEventHandler({ onUpdate })`. */
  onUpdate(fn: (oldObj: T, newObj: T) => void): void {
    this.addEventHandler({ onUpdate: fn });
  }

  /** Shorthand for `addEventHandler({ onDelete })`. */
  onDelete(fn: (obj: T) => void): void {
    this.addEventHandler({ onDelete: fn });
  }

  /**
   * Adds a named index: `fn` maps an object to the values it is found under with `byIndex()`
   * (e.g. pods by `spec.nodeName`, or by owner uid). May be added before or after `run()`.
   * Informers are shared, so several controllers may add the same index: a name that already
   * exists is kept as it is (one name must always mean one index).
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.#indexes.has(name)) return;
    const index: Index<T> = { fn, byValue: new Map() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#items) this.#indexAdd(index, key, obj);
  }

  /** The cached object with key `namespace/name` (or `name` for cluster-scoped kinds). */
  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  /** Every cached object, or those whose labels match `selector`. */
  list(selector?: Selector): T[] {
    return filterBySelector([...this.#items.values()], selector);
  }

  /** The cached objects of one namespace, or those of it whose labels match `selector`. */
  listNamespace(namespace: string, selector?: Selector): T[] {
    return filterBySelector(this.byIndex(NAMESPACE_INDEX, namespace), selector);
  }

  /** Every cached key. */
  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** Number of cached objects. */
  get size(): number {
    return this.#items.size;
  }

  /** The cached objects whose index `indexName` includes `value`. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.#indexes.get(indexName);
    if (!index) throw new Error(`Cannot read index "${indexName}": no such indexer`);
    const keys = index.byValue.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) out.push(this.#items.get(key)!);
    return out;
  }

  /** The resourceVersion of the last list, watch event or bookmark processed. */
  get lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  /** True once the first LIST (or a {@linkcode seed}) has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** True once a LIST from the server has been loaded (a {@linkcode seed} does not count). */
  hasListed(): boolean {
    return this.#listed;
  }

  /**
   * Fills the cache from a saved copy (a node's local state, when its server can't be reached)
   * before the first LIST: handlers see `onAdd` for each object and the informer counts as
   * synced. The first LIST that succeeds replaces the copy and handlers see the difference, so
   * the server wins (objects deleted meanwhile get `onDelete`). Ignored once listed.
   */
  seed(items: T[]): void {
    if (this.#listed) return;
    const fresh = new Map<string, T>();
    for (const obj of items) fresh.set(objectKey(obj), this.#transform(obj));
    // No version: the watch must not start from a version the copy came from.
    this.#replace(fresh, "");
  }

  /** Resolves `true` once synced, or `false` if `signal` aborts first. */
  waitForSync(signal: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#syncWaiters.delete(onSynced);
        resolve(false);
      };
      const onSynced = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      this.#syncWaiters.add(onSynced);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Lists and watches until `signal` aborts; resolves once fully stopped. Call once. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`Cannot run the ${this.resource.plural} informer twice`);
    this.#running = true;
    const resync = this.#options.resyncMs ? this.#resyncLoop(this.#options.resyncMs, signal) : null;
    const backoff = new Backoff(this.#options.backoff);
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist(signal);
          needList = false;
          backoff.reset();
        }
        const events = await this.#watch(signal);
        if (signal.aborted) break;
        if (events > 0) {
          backoff.reset();
        } else {
          // A watch that ends without a single event may be a server closing streams at once:
          // wait before the next one so that can't become a busy loop.
          await delay(backoff.next(), signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isCode(err, 410) && !needList) {
          // Our version fell out of the server's history: only a fresh LIST is consistent.
          // (A 410 from the LIST itself, e.g. an expired continue token, backs off below.)
          this.#logger.info("watch expired, re-listing", {
            resourceVersion: this.#resourceVersion,
          });
          needList = true;
          continue;
        }
        const wait = backoff.next();
        this.#logger.warn(needList ? "list failed" : "watch failed", { error: err, retryMs: wait });
        await delay(wait, signal);
      }
    }
    await resync;
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.#options;
    const limit = this.#options.pageSize ?? 500;
    const fresh = new Map<string, T>();
    let listVersion = "";
    let cont: string | undefined;
    do {
      if (signal.aborted) return;
      const page = await this.#client.list<T>(this.resource, {
        namespace,
        labelSelector,
        fieldSelector,
        limit,
        continue: cont,
      });
      // Every page of a paged LIST belongs to the snapshot of the first page; watching from the
      // first page's version can only repeat changes, never miss one.
      if (!listVersion) listVersion = page.metadata.resourceVersion ?? "";
      for (const obj of page.items) fresh.set(objectKey(obj), this.#transform(obj));
      cont = page.metadata.continue || undefined;
    } while (cont);
    if (signal.aborted) return;
    this.#listed = true;
    this.#replace(fresh, listVersion);
  }

  #transform(obj: T): T {
    return this.#options.transform ? this.#options.transform(obj) as T : obj;
  }

  /** Swaps the cache for a fresh LIST and tells handlers the difference. */
  #replace(fresh: Map<string, T>, resourceVersion: string): void {
    const old = new Map(this.#items);
    for (const [key, obj] of fresh) {
      const prev = old.get(key);
      this.#store(key, obj, prev);
      if (!prev) this.#emit("onAdd", obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.#emit("onUpdate", prev, obj);
      }
    }
    for (const [key, prev] of old) {
      if (fresh.has(key)) continue;
      this.#remove(key, prev);
      this.#emit("onDelete", prev);
    }
    this.#resourceVersion = resourceVersion;
    this.#logger.debug("listed", { count: fresh.size, resourceVersion });
    if (!this.#synced) {
      this.#synced = true;
      for (const wake of this.#syncWaiters) wake();
      this.#syncWaiters.clear();
    }
  }

  /** Runs one watch until the stream ends; returns how many events it processed. */
  async #watch(signal: AbortSignal): Promise<number> {
    const { namespace, labelSelector, fieldSelector } = this.#options;
    const timeoutSeconds = this.#options.watchTimeoutSeconds ??
      300 + Math.floor(Math.random() * 300);
    let count = 0;
    for await (
      const event of this.#client.watch<T>(this.resource, {
        namespace,
        labelSelector,
        fieldSelector,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        signal,
      })
    ) {
      count++;
      this.#apply(event);
    }
    return count;
  }

  #apply(event: WatchEvent<T>): void {
    const obj = event.object;
    const rv = obj?.metadata?.resourceVersion;
    if (event.type === "BOOKMARK") {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const key = objectKey(obj);
    const prev = this.#items.get(key);
    if (event.type === "DELETED") {
      if (prev) {
        this.#remove(key, prev);
        this.#emit("onDelete", obj);
      }
    } else if (prev && !isNewer(obj, prev)) {
      // A change the cache already holds (a paged LIST can run ahead of its first page's
      // version, a watch without a version replays current objects): skip it, never move an
      // object back in time.
    } else {
      const kept = this.#transform(obj);
      this.#store(key, kept, prev);
      if (prev) this.#emit("onUpdate", prev, kept);
      else this.#emit("onAdd", kept);
    }
    if (rv) this.#resourceVersion = rv;
  }

  #store(key: string, obj: T, prev: T | undefined): void {
    if (prev) { for (const index of this.#indexes.values()) this.#indexRemove(index, key, prev); }
    this.#items.set(key, obj);
    for (const index of this.#indexes.values()) this.#indexAdd(index, key, obj);
  }

  #remove(key: string, prev: T): void {
    for (const index of this.#indexes.values()) this.#indexRemove(index, key, prev);
    this.#items.delete(key);
  }

  #indexAdd(index: Index<T>, key: string, obj: T): void {
    for (const value of index.fn(obj)) {
      let keys = index.byValue.get(value);
      if (!keys) index.byValue.set(value, keys = new Set());
      keys.add(key);
    }
  }

  #indexRemove(index: Index<T>, key: string, obj: T): void {
    for (const value of index.fn(obj)) {
      const keys = index.byValue.get(value);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) index.byValue.delete(value);
    }
  }

  async #resyncLoop(ms: number, signal: AbortSignal): Promise<void> {
    while (await delay(ms, signal)) {
      if (!this.#synced) continue;
      for (const obj of this.#items.values()) this.#emit("onUpdate", obj, obj);
    }
  }

  #emit(kind: "onAdd" | "onDelete", obj: T): void;
  #emit(kind: "onUpdate", oldObj: T, newObj: T): void;
  #emit(kind: keyof InformerHandlers<T>, a: T, b?: T): void {
    for (const h of this.#handlers) this.#call(h, kind, a, b);
  }

  #call(h: InformerHandlers<T>, kind: keyof InformerHandlers<T>, a: T, b?: T): void {
    try {
      if (kind === "onUpdate") h.onUpdate?.(a, b!);
      else h[kind]?.(a);
    } catch (err) {
      // One failing handler must not stop the informer or the other handlers.
      this.#logger.error("event handler threw", { handler: kind, error: err });
    }
  }
}

/**
 * False only when both versions are numbers (Skiff's global revision) and `a`'s is not above
 * `b`'s; versions that aren't numbers are opaque, so `a` counts as newer.
 */
function isNewer(a: KubeObject, b: KubeObject): boolean {
  const va = a.metadata.resourceVersion;
  const vb = b.metadata.resourceVersion;
  if (!va || !vb || !/^\d+$/.test(va) || !/^\d+$/.test(vb)) return true;
  return Number(va) > Number(vb);
}
