/**
 * Storage for one resource kind: the object-level layer between the REST handlers and the
 * key/value backend (Kubernetes' registry `Store` + `storage.Interface` in one). Writes go to the
 * backend with compare-and-swap on the revision; reads (get, list, watch) come from the kind's
 * watch cache, and every write waits until the cache has applied it, so a client always reads
 * its own writes. A kind with heartbeats (Leases, Nodes) holds heartbeat-only updates in memory
 * and writes them at most once a minute (server/registry/heartbeat_buffer.ts); its
 * resourceVersions are then backend revisions times {@linkcode HEARTBEAT_REVISION_SLOTS}.
 */
import type { Backend, KeyValue } from "../store/backend.ts";
import {
  HEARTBEAT_REVISION_SLOTS,
  HeartbeatBuffer,
  type HeartbeatOptions,
  type StoredValue,
} from "./heartbeat_buffer.ts";
import { WatchCache } from "../store/watch_cache.ts";
import type { CacheEvent } from "../store/watch_cache.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  OBJECT_MODIFIED,
} from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";

/** Called with the current object; returns the object to write, or `null` to write nothing. */
export type TryUpdate = (current: KubeObject) => KubeObject | null | Promise<KubeObject | null>;

/** Preconditions of an update or delete (Kubernetes `Preconditions`). */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/** Builds `/registry/<group or core>/<plural>/<namespace>/<name>` keys. */
export function registryPrefix(info: Pick<ResourceInfo, "group" | "plural">): string {
  return `/registry/${info.group || "core"}/${info.plural}/`;
}

/** How one served version of a kind maps to and from the version it is stored at. */
export interface VersionConversion {
  toServed(obj: KubeObject): KubeObject;
  toStorage(obj: KubeObject): KubeObject;
}

/** Storage for one resource kind; see the module comment. */
export class ResourceStore {
  readonly info: ResourceInfo;
  readonly cache: WatchCache;
  /** The heartbeats held in memory, for a kind with heartbeats. */
  readonly heartbeats?: HeartbeatBuffer;
  readonly #backend: Backend;
  readonly #prefix: string;
  readonly #apiVersion: string;
  readonly #storageApiVersion?: () => string;
  readonly #conversion?: VersionConversion;

  constructor(
    backend: Backend,
    info: ResourceInfo,
    options: {
      logger: Logger;
      historySize?: number;
      /**
       * Serve another version of the kind from this store's cache (a custom resource's served
       * versions share one storage): objects are read at `info`'s apiVersion and written at the
       * storage version (conversion `None`: only apiVersion changes).
       */
      sharedWith?: ResourceStore;
      /** The apiVersion objects are written at; when set, reads convert to `info`'s. */
      storageApiVersion?: () => string;
      /**
       * For a built-in kind served in two versions (autoscaling/v1 and v2 autoscalers): the
       * conversion between the stored version and `info`'s, instead of changing apiVersion only.
       */
      conversion?: VersionConversion;
      /** Hold this kind's heartbeat-only updates in memory (Leases and Nodes). */
      heartbeats?: HeartbeatOptions;
    },
  ) {
    this.info = info;
    this.#backend = backend;
    this.#prefix = registryPrefix(info);
    this.#apiVersion = apiVersionOf(info);
    this.#storageApiVersion = options.storageApiVersion;
    this.#conversion = options.conversion;
    this.cache = options.sharedWith?.cache ?? new WatchCache(backend, {
      prefix: this.#prefix,
      historySize: options.historySize,
      revisionSlots: options.heartbeats ? HEARTBEAT_REVISION_SLOTS : 1,
      logger: options.logger.child(info.plural),
    });
    if (options.heartbeats) {
      this.heartbeats = new HeartbeatBuffer(backend, this.cache, {
        logger: options.logger.child(info.plural),
        ...options.heartbeats,
      });
    }
  }

  /** An object as this store serves it (its apiVersion, for converted kinds). */
  #out(obj: KubeObject): KubeObject;
  #out(obj: KubeObject | undefined): KubeObject | undefined;
  #out(obj: KubeObject | undefined): KubeObject | undefined {
    if (!obj || !this.#storageApiVersion || obj.apiVersion === this.#apiVersion) return obj;
    if (this.#conversion) return this.#conversion.toServed(obj);
    return { ...obj, apiVersion: this.#apiVersion };
  }

  /** An object as it is written (the storage version's apiVersion, for converted kinds). */
  #in(obj: KubeObject): KubeObject {
    if (!this.#storageApiVersion) return obj;
    const apiVersion = this.#storageApiVersion();
    if (obj.apiVersion === apiVersion) return obj;
    return this.#conversion ? this.#conversion.toStorage(obj) : { ...obj, apiVersion };
  }

  /** The key of one object. */
  key(namespace: string | undefined, name: string): string {
    return this.info.namespaced ? `${this.#prefix}${namespace}/${name}` : `${this.#prefix}${name}`;
  }

  /** The key prefix of a namespace's objects (or all objects when absent). */
  prefix(namespace?: string): string {
    return this.info.namespaced && namespace ? `${this.#prefix}${namespace}/` : this.#prefix;
  }

  /** Starts the watch cache (and the writing of held heartbeats); resolves when they stop. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.cache.run(signal), this.heartbeats?.run(signal)]);
  }

  /** Writes every heartbeat held in memory to the store (at shutdown). */
  async flush(): Promise<void> {
    await this.heartbeats?.flush();
  }

  /** The object, or NotFoundError. */
  get(namespace: string | undefined, name: string): KubeObject {
    const obj = this.cache.get(this.key(namespace, name));
    if (!obj) throw this.notFound(name);
    return this.#out(obj);
  }

  /** The object or undefined. */
  find(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#out(this.cache.get(this.key(namespace, name)));
  }

  /** Lists from the cache (as of `atRevision`: see {@linkcode WatchCache.list}). */
  list(options: {
    namespace?: string;
    predicate?: (o: KubeObject) => boolean;
    limit?: number;
    continueKey?: string;
    atRevision?: number;
  } = {}): { items: KubeObject[]; revision: number; continueKey?: string } {
    const result = this.cache.list({
      prefix: this.prefix(options.namespace),
      predicate: options.predicate,
      limit: options.limit,
      continueKey: options.continueKey,
      atRevision: options.atRevision,
    });
    if (this.#storageApiVersion) result.items = result.items.map((o) => this.#out(o));
    return result;
  }

  /** Watches from the cache; throws GoneError when `afterRevision` is too old. */
  watch(options: {
    namespace?: string;
    afterRevision: number;
    predicate?: (o: KubeObject) => boolean;
    signal: AbortSignal;
    bookmarkIntervalMs?: number;
  }): AsyncIterable<CacheEvent> {
    const events = this.cache.watch({
      prefix: this.prefix(options.namespace),
      afterRevision: options.afterRevision,
      predicate: options.predicate,
      signal: options.signal,
      bookmarkIntervalMs: options.bookmarkIntervalMs,
    });
    return this.#storageApiVersion ? this.#convertEvents(events) : events;
  }

  async *#convertEvents(events: AsyncIterable<CacheEvent>): AsyncIterable<CacheEvent> {
    for await (const e of events) {
      if (e.type === "BOOKMARK") yield e;
      else yield { ...e, object: this.#out(e.object), prevObject: this.#out(e.prevObject) };
    }
  }

  /** Writes a new object; AlreadyExistsError if the name is taken. */
  async create(obj: KubeObject): Promise<KubeObject> {
    const { namespace, name } = obj.metadata;
    const stored = stripResourceVersion(this.#in(obj));
    const key = this.key(namespace, name!);
    const mayHold = this.heartbeats?.mayHold() ?? false;
    const result = await this.#backend.create(key, JSON.stringify(stored));
    if (!result.ok) throw new AlreadyExistsError(this.#subject(name!));
    const object = await this.#settled(result.kv, stored);
    this.heartbeats?.written(key, result.kv, { mayHold });
    return object;
  }

  /**
   * Kubernetes' GuaranteedUpdate: reads the current object, lets `tryUpdate` derive the new one,
   * and writes it with compare-and-swap, retrying on a concurrent write. Preconditions (uid,
   * resourceVersion) are checked against the current object on every try; a resourceVersion
   * precondition that no longer holds is a 409 Conflict, never retried.
   */
  async guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    tryUpdate: TryUpdate,
    preconditions: Preconditions = {},
  ): Promise<{ object: KubeObject; changed: boolean }> {
    const key = this.key(namespace, name);
    const update = () => this.#guaranteedUpdate(key, name, tryUpdate, preconditions);
    return await (this.heartbeats ? this.heartbeats.exclusive(key, update) : update());
  }

  async #guaranteedUpdate(
    key: string,
    name: string,
    tryUpdate: TryUpdate,
    preconditions: Preconditions,
  ): Promise<{ object: KubeObject; changed: boolean }> {
    // A heartbeat held in memory is newer than the stored value: updates start from it.
    let current = this.heartbeats?.held(key) ?? this.#stored(await this.#backend.get(key));
    for (let attempt = 0;; attempt++) {
      if (!current) throw this.notFound(name);
      const given = this.#out(decode(current));
      this.#checkPreconditions(given, preconditions);
      // tryUpdate may change `given` freely: an unchanged object is returned as parsed anew
      // (parsing is cheaper than structuredClone for these JSON objects, and only no-op
      // updates pay it).
      const next = await tryUpdate(given);
      const unchanged = (kv: StoredValue) => ({ object: this.#out(decode(kv)), changed: false });
      if (next === null) return unchanged(current);
      const stored = stripResourceVersion(this.#in(next));
      const text = JSON.stringify(stored);
      // The stored value never carries resourceVersion, so it compares as is.
      if (text === current.value) return unchanged(current);
      const kept = this.heartbeats?.keep(key, current, stored);
      if (kept) {
        const object = withResourceVersion(stored, Number(kept.metadata.resourceVersion));
        return { object: this.#out(object), changed: true };
      }
      const mayHold = this.heartbeats?.mayHold() ?? false;
      const result = await this.#backend.update(key, text, current.modRevision);
      if (result.ok) {
        const object = await this.#settled(result.kv, stored);
        this.heartbeats?.written(key, result.kv, { mayHold });
        return { object, changed: true };
      }
      this.heartbeats?.forget(key);
      current = this.#stored(result.current);
      if (attempt > 100) {
        throw new ConflictError(this.#subject(name), "too many conflicting writes");
      }
    }
  }

  /** Removes the object for good (after preconditions); returns the last state. */
  delete(
    namespace: string | undefined,
    name: string,
    preconditions: Preconditions = {},
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    const remove = () => this.#delete(key, name, preconditions);
    return this.heartbeats ? this.heartbeats.exclusive(key, remove) : remove();
  }

  async #delete(key: string, name: string, preconditions: Preconditions): Promise<KubeObject> {
    for (;;) {
      const kv = await this.#backend.get(key);
      if (!kv) throw this.notFound(name);
      // The last state is the held heartbeat, when there is one on top of this stored value.
      const held = this.heartbeats?.held(key);
      const current = held?.modRevision === kv.modRevision ? held : this.#stored(kv);
      this.#checkPreconditions(decode(current), preconditions);
      const result = await this.#backend.delete(key, kv.modRevision);
      if (result.ok) {
        this.heartbeats?.forget(key);
        await this.cache.waitForRevision(this.#served(result.kv.modRevision));
        return this.#out(decode(current));
      }
      if (!result.current) throw this.notFound(name);
    }
  }

  /** NotFoundError for a name of this kind. */
  notFound(name: string): NotFoundError {
    return new NotFoundError(this.#subject(name));
  }

  #subject(name: string) {
    return { resource: this.info.plural, group: this.info.group, name };
  }

  #checkPreconditions(obj: KubeObject, p: Preconditions): void {
    const name = obj.metadata.name ?? "";
    if (p.uid && p.uid !== obj.metadata.uid) {
      throw new ConflictError(
        this.#subject(name),
        `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    if (p.resourceVersion && p.resourceVersion !== obj.metadata.resourceVersion) {
      throw new ConflictError(this.#subject(name), OBJECT_MODIFIED);
    }
  }

  async #settled(kv: KeyValue, stored: KubeObject): Promise<KubeObject> {
    const revision = this.#served(kv.modRevision);
    await this.cache.waitForRevision(revision);
    return this.#out(withResourceVersion(stored, revision));
  }

  /** The resourceVersion a backend revision is served as. */
  #served(modRevision: number): number {
    return modRevision * this.cache.revisionSlots;
  }

  #stored(kv: KeyValue): StoredValue;
  #stored(kv: KeyValue | null): StoredValue | null;
  #stored(kv: KeyValue | null): StoredValue | null {
    if (!kv) return null;
    return { value: kv.value, modRevision: kv.modRevision, revision: this.#served(kv.modRevision) };
  }
}

function decode(current: StoredValue): KubeObject {
  return withResourceVersion(JSON.parse(current.value), current.revision);
}

function withResourceVersion(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/** The stored form never carries resourceVersion: the revision is the source of truth. */
function stripResourceVersion(obj: KubeObject): KubeObject {
  if (obj.metadata.resourceVersion === undefined) return obj;
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
