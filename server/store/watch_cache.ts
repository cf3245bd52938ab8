/**
 * The watch cache (kube-apiserver's, in spirit): one per resource kind, it lists the kind's keys
 * from the backend once, then follows ONE backend watch, and serves every GET, LIST and WATCH of
 * the kind from memory. It keeps the current objects (decoded once, sorted by key for paging) and
 * a ring of the latest events; each API watcher is only a cursor into that ring, so a hundred
 * watchers cost a hundred cursors, not a hundred copies. The ring's `prevObject`s also rebuild a
 * recent past state for a list (an exact resourceVersion, a later page of a paged list).
 *
 * Cached objects are shared by every reader and deep-frozen: treat them as immutable and
 * `structuredClone` before changing anything. {@linkcode serialize} memoises their serialisation.
 *
 * With `revisionSlots` K > 1, the cache serves backend revision r as resourceVersion r·K and
 * keeps the K − 1 numbers after it for {@linkcode WatchCache.applyLocal}: writes held in this
 * process's memory only (heartbeats, server/registry/heartbeat_buffer.ts), which still get a
 * resourceVersion of their own, above every one served before and below the next backend write.
 */
import { type Backend, type BackendChange, CompactedError, type KeyValue } from "./backend.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { delay } from "../../shared/backoff.ts";
import { GoneError } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";

/**
 * One change to the cached kind. `object` is the new state (for DELETED: the last state, with
 * the delete's revision as resourceVersion); `prevObject` the state before, when there was one.
 * BOOKMARK events come only to watchers that ask for them (`bookmarkIntervalMs`); their object is
 * `{metadata: {resourceVersion}}` — the server adds `kind` and `apiVersion`.
 */
export interface CacheEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  key: string;
  object: KubeObject;
  prevObject?: KubeObject;
  revision: number;
}

/** Options for {@linkcode WatchCache}. */
export interface WatchCacheOptions {
  /** Backend key prefix of the kind, e.g. `/registry/core/pods/`. */
  prefix: string;
  /**
   * Events kept for watchers to resume from (default 10,000). A watcher more than this many
   * events behind the newest one is ended with a GoneError; its client re-lists.
   */
  historySize?: number;
  /**
   * Deep-freeze cached objects (default true), so that code changing a shared object throws at
   * the faulty line instead of silently corrupting the cache and the memoised JSON.
   */
  freeze?: boolean;
  /**
   * Served resourceVersions per backend revision (default 1): backend revision r is served as
   * r·K, and r·K + 1 … r·K + K − 1 are left for {@linkcode WatchCache.applyLocal}. Every cache
   * of a kind (every server on one etcd) must use the same value.
   */
  revisionSlots?: number;
  logger?: Logger;
}

/** Options for {@linkcode WatchCache.list}. */
export interface CacheListOptions {
  /** Key prefix within the kind (e.g. `/registry/core/pods/default/`); default: the whole kind. */
  prefix?: string;
  /** Keep only the objects it accepts. */
  predicate?: (o: KubeObject) => boolean;
  /** At most this many items (0 or absent: all). */
  limit?: number;
  /** Start after this key: the `continueKey` of the previous page. */
  continueKey?: string;
  /**
   * List the objects as they were at this resourceVersion (at most the cache's): the current
   * objects with the retained events after it undone. GoneError when those events are no longer
   * retained. Absent: the current objects.
   */
  atRevision?: number;
}

/** Options for {@linkcode WatchCache.watch}. */
export interface CacheWatchOptions {
  /** Key prefix within the kind; default: the whole kind. */
  prefix?: string;
  /** Deliver the events after this revision (a resourceVersion). 0 is not special here. */
  afterRevision: number;
  /**
   * Kubernetes filter semantics: an object that stops matching yields DELETED (its previous
   * state, at the new revision), one that starts matching yields ADDED.
   */
  predicate?: (o: KubeObject) => boolean;
  /** Ends the watch (the iterator then returns). */
  signal: AbortSignal;
  /**
   * When set, a caught-up watcher that has received nothing for this long gets a BOOKMARK with
   * the cache's revision: every event up to it has been delivered.
   */
  bookmarkIntervalMs?: number;
}

const jsonCache = new WeakMap<object, string>();

/**
 * `JSON.stringify(obj)`, computed once per object: the cached objects are immutable, so one
 * serialisation serves every LIST and every watcher. Only for objects nobody mutates.
 */
export function serialize(obj: KubeObject): string {
  let text = jsonCache.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    jsonCache.set(obj, text);
  }
  return text;
}

/** Alias of {@linkcode serialize}. */
export const json: (obj: KubeObject) => string = serialize;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** First index in the sorted `keys` whose key is > `key` (or >= when `inclusive`). */
function searchKeys(keys: string[], key: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key || (!inclusive && keys[mid] === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Waiter {
  revision: number;
  resolve: () => void;
}

/** The in-memory cache of one kind; see the module comment. */
export class WatchCache {
  readonly #backend: Backend;
  readonly #prefix: string;
  readonly #capacity: number;
  readonly #freeze: boolean;
  readonly #slots: number;
  readonly #logger: Logger;

  /** key → current object. */
  #objects = new Map<string, KubeObject>();
  /** The keys of `#objects`, sorted. */
  #keys: string[] = [];
  /** Ring of the latest events; event number `n` lives at `n % capacity`. */
  #ring: CacheEvent[];
  /** How many events were ever appended since the last (re-)list. */
  #seq = 0;
  /** Every event with a revision above this one is in the ring. */
  #windowStart = 0;
  /** Bumped on every re-list: watchers of an older generation end with GoneError. */
  #generation = 0;
  /** The latest served revision applied (a backend revision times `#slots`, plus local writes). */
  #revision = 0;
  #running = false;
  #listedOnce = false;
  #isReady = false;
  #stopped = false;
  /** Waiting watchers, woken on every new event. */
  #wakers = new Set<() => void>();
  #waiters: Waiter[] = [];
  #readyTarget = Infinity;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #deletedViews = new WeakMap<CacheEvent, CacheEvent>();

  /** How many objects the cache holds (`apiserver_storage_objects`). */
  get size(): number {
    return this.#objects.size;
  }

  constructor(
    backend: Backend,
    options: WatchCacheOptions,
  ) {
    this.#backend = backend;
    this.#prefix = options.prefix;
    this.#capacity = Math.max(1, options.historySize ?? 10_000);
    this.#freeze = options.freeze ?? true;
    this.#slots = Math.max(1, Math.floor(options.revisionSlots ?? 1));
    this.#logger = options.logger ?? silentLogger;
    this.#ring = new Array(this.#capacity);
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody may be awaiting ready() when run() stops early: that is not an unhandled rejection.
    this.#ready.catch(() => {});
  }

  /**
   * Lists the kind and follows the backend watch until the signal aborts; resolves then. On a
   * CompactedError (the backend dropped history this cache still needed) it re-lists, and every
   * live watcher ends with a GoneError so its client re-lists too. Other failures are logged
   * and retried with back-off. Call once.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`the watch cache of ${this.#prefix} is already running`);
    this.#running = true;
    let listed = false;
    let backoff = 100;
    try {
      while (!signal.aborted) {
        try {
          if (!listed) {
            await this.#list(!this.#listedOnce);
            this.#listedOnce = true;
            listed = true;
          }
          const after = this.#backendRevision();
          for await (const event of this.#backend.watch(this.#prefix, after, signal)) {
            if (event.type === "progress") this.#advance(event.revision * this.#slots);
            else this.#apply(event);
            backoff = 100;
          }
        } catch (err) {
          if (signal.aborted) break;
          if (err instanceof CompactedError) {
            this.#logger.warn("watch fell behind compaction; re-listing", {
              revision: this.#revision,
              compactRevision: err.compactRevision,
            });
            listed = false;
            continue;
          }
          this.#logger.error("watch failed; retrying", { error: err, backoffMs: backoff });
          await delay(backoff, signal);
          backoff = Math.min(backoff * 2, 5_000);
        }
      }
    } finally {
      this.#stopped = true;
      this.#rejectReady(new Error(`the watch cache of ${this.#prefix} stopped`));
      for (const wake of this.#wakers) wake();
      const waiters = this.#waiters;
      this.#waiters = [];
      // Writers waiting for their revision get on with it; they read what is there.
      for (const w of waiters) w.resolve();
    }
  }

  /** Resolves once the cache holds the state as of (at least) the moment `run()` started. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The latest revision applied: every change up to it is in the cache. */
  get revision(): number {
    return this.#revision;
  }

  /** Served resourceVersions per backend revision (see {@linkcode WatchCacheOptions}). */
  get revisionSlots(): number {
    return this.#slots;
  }

  /**
   * Replaces the object at `key` with `object`, which is NOT in the backend: a write this process
   * holds in memory (a heartbeat). It gets the next served revision, which lies between the
   * backend revision the cache is at and the next one, and watchers receive it as MODIFIED like
   * any other change. Returns the object as cached (frozen, resourceVersion set); `undefined`
   * when there is nothing at `key`, the cache is not running, or no revision is left before the
   * next backend revision — the caller then writes to the backend instead. A later backend
   * change of the key replaces the local object, as any change does.
   */
  applyLocal(key: string, object: KubeObject): KubeObject | undefined {
    const revision = this.#revision + 1;
    if (revision % this.#slots === 0 || !this.#isReady || this.#stopped) return undefined;
    const prev = this.#objects.get(key);
    if (!prev) return undefined;
    const copy = JSON.parse(JSON.stringify(object)) as KubeObject;
    copy.metadata ??= {};
    copy.metadata.resourceVersion = String(revision);
    const cached = this.#freeze ? deepFreeze(copy) : copy;
    this.#objects.set(key, cached);
    this.#append({ type: "MODIFIED", key, object: cached, prevObject: prev, revision });
    this.#advance(revision);
    return cached;
  }

  /**
   * Resolves when the cache has applied `revision` (read-your-writes after a write), or once the
   * cache stops. Rejects with the signal's reason when it aborts first.
   */
  waitForRevision(revision: number, signal?: AbortSignal): Promise<void> {
    if (this.#revision >= revision || this.#stopped) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** The current object at `key` (shared and frozen: do not modify). */
  get(key: string): KubeObject | undefined {
    return this.#objects.get(key);
  }

  /**
   * The objects under the prefix, in key order, as of `revision`: the current ones, or those at
   * `atRevision` (a consistent later page of a paged list, or an exact-revision list). With
   * `limit`, at most that many; `continueKey` (the last key returned) is set when more remain.
   */
  list(options: CacheListOptions = {}): {
    items: KubeObject[];
    revision: number;
    continueKey?: string;
  } {
    const prefix = options.prefix ?? this.#prefix;
    const at = options.atRevision;
    const past = at !== undefined && at < this.#revision ? this.#snapshot(prefix, at) : undefined;
    const keys = past ? [...past.keys()].sort() : this.#keys;
    const objects = past ?? this.#objects;
    let i = options.continueKey !== undefined && options.continueKey >= prefix
      ? searchKeys(keys, options.continueKey, false)
      : searchKeys(keys, prefix, true);
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const { predicate } = options;
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (; i < keys.length && keys[i].startsWith(prefix); i++) {
      const obj = objects.get(keys[i])!;
      if (predicate && !predicate(obj)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(obj);
      lastKey = keys[i];
    }
    const revision = past ? at! : this.#revision;
    return more ? { items, revision, continueKey: lastKey } : { items, revision };
  }

  /**
   * The objects under `prefix` as they were at `revision`: the current ones with every retained
   * event after it undone, newest first (an ADDED removed, a MODIFIED or DELETED put back to its
   * previous state). GoneError when events after `revision` are no longer all retained.
   */
  #snapshot(prefix: string, revision: number): Map<string, KubeObject> {
    if (revision < this.#windowStart) {
      throw new GoneError(`too old resource version: ${revision} (${this.#windowStart + 1})`);
    }
    const objects = new Map<string, KubeObject>();
    const keys = this.#keys;
    for (
      let i = searchKeys(keys, prefix, true);
      i < keys.length && keys[i].startsWith(prefix);
      i++
    ) {
      objects.set(keys[i], this.#objects.get(keys[i])!);
    }
    const first = this.#firstAfter(revision);
    for (let n = this.#seq - 1; n >= first; n--) {
      const event = this.#ring[n % this.#capacity];
      if (event.type === "BOOKMARK" || !event.key.startsWith(prefix)) continue;
      if (event.prevObject) objects.set(event.key, event.prevObject);
      else objects.delete(event.key);
    }
    return objects;
  }

  /**
   * The events after `afterRevision` under the prefix, then live ones until the signal aborts
   * or the cache stops. Throws GoneError when `afterRevision` is older than the retained
   * history (`too old resource version: 5 (120)`), and ends a watcher with GoneError when it
   * falls more than `historySize` events behind or the cache re-lists: its client re-lists.
   * Waits for `ready()` first.
   */
  watch(options: CacheWatchOptions): AsyncIterable<CacheEvent> {
    return this.#watch(options);
  }

  async *#watch(options: CacheWatchOptions): AsyncGenerator<CacheEvent> {
    const { signal, predicate, afterRevision } = options;
    const prefix = options.prefix ?? this.#prefix;
    if (!this.#isReady) {
      try {
        await abortable(this.#ready, signal);
      } catch {
        return; // the cache stopped before it was ready
      }
    }
    if (signal.aborted || this.#stopped) return;
    if (afterRevision < this.#windowStart) {
      throw new GoneError(
        `too old resource version: ${afterRevision} (${this.#windowStart + 1})`,
      );
    }
    const generation = this.#generation;
    let cursor = this.#firstAfter(afterRevision);
    let delivered = afterRevision;
    const pending: { wake?: () => void } = {};
    const waker = () => pending.wake?.();
    signal.addEventListener("abort", waker);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastSent = Date.now();
    try {
      while (!signal.aborted && !this.#stopped) {
        if (generation !== this.#generation) {
          throw new GoneError(
            `too old resource version: ${delivered} (${
              this.#windowStart + 1
            }): the cache re-listed`,
          );
        }
        if (cursor < this.#seq) {
          if (cursor < this.#seq - this.#capacity) {
            throw new GoneError(
              `too old resource version: ${delivered} (${
                this.#windowStart + 1
              }): the watcher fell behind`,
            );
          }
          const event = this.#ring[cursor % this.#capacity];
          cursor++;
          if (event.revision <= delivered || !event.key.startsWith(prefix)) continue;
          const out = predicate ? this.#filter(event, predicate) : event;
          delivered = event.revision;
          if (out) {
            yield out;
            lastSent = Date.now();
          }
          continue;
        }
        if (options.bookmarkIntervalMs !== undefined) {
          const due = lastSent + options.bookmarkIntervalMs - Date.now();
          if (due <= 0) {
            // Caught up: every event up to the cache's revision has been seen by this watcher.
            if (this.#revision > delivered) delivered = this.#revision;
            lastSent = Date.now();
            yield {
              type: "BOOKMARK",
              key: "",
              object: { metadata: { resourceVersion: String(delivered) } },
              revision: delivered,
            };
            continue;
          }
          timer = setTimeout(waker, due);
        }
        await new Promise<void>((resolve) => {
          pending.wake = resolve;
          this.#wakers.add(resolve);
        });
        this.#wakers.delete(pending.wake!);
        pending.wake = undefined;
        clearTimeout(timer);
      }
    } finally {
      clearTimeout(timer);
      if (pending.wake) this.#wakers.delete(pending.wake);
      signal.removeEventListener("abort", waker);
    }
  }

  /** Kubernetes' filtered-watch rule: a change across the predicate's edge is ADDED/DELETED. */
  #filter(event: CacheEvent, predicate: (o: KubeObject) => boolean): CacheEvent | null {
    if (event.type !== "MODIFIED") return predicate(event.object) ? event : null;
    const now = predicate(event.object);
    const before = event.prevObject !== undefined && predicate(event.prevObject);
    if (now && before) return event;
    if (now) return { ...event, type: "ADDED" };
    if (!before) return null;
    let view = this.#deletedViews.get(event);
    if (!view) {
      const prev = event.prevObject!;
      const object = {
        ...prev,
        metadata: { ...prev.metadata, resourceVersion: String(event.revision) },
      };
      view = { ...event, type: "DELETED", object: this.#freeze ? Object.freeze(object) : object };
      this.#deletedViews.set(event, view);
    }
    return view;
  }

  /** The number of the first retained event with a revision above `revision`. */
  #firstAfter(revision: number): number {
    let lo = Math.max(0, this.#seq - this.#capacity);
    let hi = this.#seq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.#ring[mid % this.#capacity].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Loads the kind. The first list is read `historySize` revisions back (when not compacted) and
   * the watch replays from there, so that after a restart watchers can resume from recent
   * resourceVersions instead of all getting 410 Gone; `ready()` waits for the replay.
   */
  async #list(initial: boolean): Promise<void> {
    const start = Date.now();
    const current = await this.#backend.currentRevision();
    const compacted = await this.#backend.compactRevision();
    const revision = initial ? Math.max(compacted, current - this.#capacity, 0) : current;
    const objects = new Map<string, KubeObject>();
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.#backend.list(this.#prefix, { revision, limit: 5_000, startAfter });
      for (const kv of page.items) {
        const obj = this.#decode(kv, kv.modRevision * this.#slots);
        if (obj) objects.set(kv.key, obj);
      }
      if (!page.more) break;
      startAfter = page.items[page.items.length - 1].key;
    }
    this.#objects = objects;
    this.#keys = [...objects.keys()].sort();
    this.#ring = new Array(this.#capacity);
    this.#seq = 0;
    // A re-list at the backend revision that local writes were served above keeps their
    // revisions spent: the next local write must not be given one of them again.
    const listed = initial
      ? revision * this.#slots
      : Math.max(revision * this.#slots, this.#revision);
    this.#windowStart = listed;
    this.#revision = listed;
    if (!initial) this.#generation++;
    for (const wake of this.#wakers) wake();
    const target = current * this.#slots;
    this.#readyTarget = initial ? target : Math.min(this.#readyTarget, target);
    this.#logger.debug("listed", {
      prefix: this.#prefix,
      objects: objects.size,
      revision,
      ms: Date.now() - start,
    });
    this.#advance(listed);
  }

  #decode(kv: KeyValue, revision: number): KubeObject | undefined {
    try {
      const obj = JSON.parse(kv.value) as KubeObject;
      obj.metadata ??= {};
      obj.metadata.resourceVersion = String(revision);
      return this.#freeze ? deepFreeze(obj) : obj;
    } catch (err) {
      this.#logger.error("skipping an undecodable value", { key: kv.key, error: err });
      return undefined;
    }
  }

  #apply(change: BackendChange): void {
    const key = change.kv.key;
    const revision = change.kv.modRevision * this.#slots;
    // Already applied (a backend replaying what the list held): applying it again would
    // turn a creation into a MODIFIED.
    if (revision <= this.#revision) return;
    const prev = this.#objects.get(key);
    let event: CacheEvent | undefined;
    if (change.type === "delete") {
      if (prev) {
        const object = {
          ...prev,
          metadata: { ...prev.metadata, resourceVersion: String(revision) },
        };
        event = {
          type: "DELETED",
          key,
          object: this.#freeze ? Object.freeze(object) : object,
          prevObject: prev,
          revision,
        };
        this.#objects.delete(key);
        this.#keys.splice(searchKeys(this.#keys, key, true), 1);
      }
    } else {
      const object = this.#decode(change.kv, revision);
      if (object) {
        event = prev
          ? { type: "MODIFIED", key, object, prevObject: prev, revision }
          : { type: "ADDED", key, object, revision };
        if (!prev) this.#keys.splice(searchKeys(this.#keys, key, true), 0, key);
        this.#objects.set(key, object);
      }
    }
    if (event) this.#append(event);
    this.#advance(revision);
  }

  #append(event: CacheEvent): void {
    const slot = this.#seq % this.#capacity;
    if (this.#seq >= this.#capacity) this.#windowStart = this.#ring[slot].revision;
    this.#ring[slot] = event;
    this.#seq++;
    for (const wake of this.#wakers) wake();
  }

  /** The backend revision the cache has applied, which its backend watch resumes after. */
  #backendRevision(): number {
    return Math.floor(this.#revision / this.#slots);
  }

  /** Moves the revision forward and releases whoever waited for it. */
  #advance(revision: number): void {
    if (revision > this.#revision) this.#revision = revision;
    if (this.#waiters.length > 0) {
      const due = this.#waiters.filter((w) => w.revision <= this.#revision);
      if (due.length > 0) {
        this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision);
        for (const w of due) w.resolve();
      }
    }
    if (!this.#isReady && this.#revision >= this.#readyTarget) {
      this.#isReady = true;
      this.#resolveReady();
    }
  }
}

/** Waits for `promise`, or until the signal aborts (then resolves: the caller checks). */
function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
