/**
 * Heartbeats held in memory: the part of a {@linkcode ResourceStore} that keeps Lease renewals and
 * Node status heartbeats (server/registry/heartbeat_changes.ts) off the disk. A heartbeat-only
 * update of a key this server has written goes to the kind's watch cache alone
 * ({@linkcode WatchCache.applyLocal}), so GET, LIST and WATCH see it at once with a resourceVersion
 * of its own; the store gets the key's latest state at most once per `persistIntervalMs`, and all
 * of it on {@linkcode HeartbeatBuffer.flush} at shutdown. Any other update of the key is written
 * at once, and carries the held heartbeat with it.
 *
 * Invariants:
 * - A key is held only after this server wrote it to the backend while holding was allowed
 *   (its first renewal after a start, or after becoming leader, goes to the store). That write's
 *   revision is above every revision another server, or this one before a crash, held
 *   heartbeats at, so the resourceVersions given to held heartbeats never repeat.
 * - A held heartbeat counts only while the cache still holds exactly the object it put there: a
 *   write by another server (through etcd) replaces it, wins, and the key is written through
 *   from the backend's value again.
 * - Updates of one key are serialised ({@linkcode HeartbeatBuffer.exclusive}); held state and
 *   compare-and-swap base then cannot change under an update.
 * - `writeThrough()` true (on etcd: this server is not the leader) stops holding: every update is
 *   written, and the next sweep writes what is still held and forgets it.
 */
import type { Backend, KeyValue } from "../store/backend.ts";
import type { WatchCache } from "../store/watch_cache.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { delay } from "../../shared/backoff.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { KeyedLock } from "../../shared/keyed_lock.ts";
import type { HeartbeatTest } from "./heartbeat_changes.ts";

/**
 * Served resourceVersions per backend revision in a kind with heartbeats (the watch cache's
 * `revisionSlots`): 999 held heartbeats fit between two writes; the 1000th is written.
 */
export const HEARTBEAT_REVISION_SLOTS = 1000;

/** Options of {@linkcode HeartbeatBuffer} (and of a ResourceStore with heartbeats). */
export interface HeartbeatOptions {
  /** Which updates are heartbeats (server/registry/heartbeat_changes.ts). */
  isHeartbeat: HeartbeatTest;
  /**
   * True while heartbeats must be written through, because other servers read the same store
   * and must see them (on etcd: while this server is not the leader). Default: never.
   */
  writeThrough?: () => boolean;
  /** A held key is written to the store at most this often (default 60 000 ms). */
  persistIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A key's value as an update starts from: stored text, compare-and-swap base, resourceVersion. */
export interface StoredValue {
  /** The object as stored: JSON without resourceVersion. */
  value: string;
  /** The backend modRevision to compare-and-swap against. */
  modRevision: number;
  /** The served resourceVersion. */
  revision: number;
}

/** What this server last wrote, or holds, for one key. */
interface Entry {
  /** The backend modRevision of the key's stored value. */
  modRevision: number;
  /** The object the cache holds for the key: the stored value, or a held heartbeat. */
  cached: KubeObject;
  /** True when `cached` is a heartbeat not yet in the store. */
  dirty: boolean;
  /** Clock time of the key's last write to the store. */
  persistedAt: number;
}

/** The object as stored (JSON without resourceVersion). */
function storedText(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

/** Heartbeats of one kind held in memory; see the module comment. */
export class HeartbeatBuffer {
  readonly #backend: Backend;
  readonly #cache: WatchCache;
  readonly #isHeartbeat: HeartbeatTest;
  readonly #writeThrough: () => boolean;
  readonly #interval: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #locks = new KeyedLock();

  constructor(backend: Backend, cache: WatchCache, options: HeartbeatOptions) {
    if (cache.revisionSlots < 2) {
      throw new RangeError("Cannot hold heartbeats in a watch cache without revision slots");
    }
    this.#backend = backend;
    this.#cache = cache;
    this.#isHeartbeat = options.isHeartbeat;
    this.#writeThrough = options.writeThrough ?? (() => false);
    this.#interval = options.persistIntervalMs ?? 60_000;
    this.#clock = options.clock ?? realClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** How many keys hold a heartbeat the store does not have yet. */
  get dirtyCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.dirty) n++;
    return n;
  }

  /** Runs `fn` after every earlier call for `key` has finished (one update of a key at a time). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(key, fn);
  }

  /**
   * The key's value as this server holds it, when that is newer than or the same as the stored
   * one (undefined when the server holds nothing for it, or another write replaced it since).
   */
  held(key: string): StoredValue | undefined {
    const entry = this.#current(key);
    if (!entry) return undefined;
    return {
      value: storedText(entry.cached),
      modRevision: entry.modRevision,
      revision: Number(entry.cached.metadata.resourceVersion),
    };
  }

  /**
   * Holds `next` (as stored) in memory instead of writing it, when it is a heartbeat of
   * `current` (a value from {@linkcode held}) and holding is allowed. Returns the object as the
   * cache now serves it, or undefined: then the caller writes `next` to the backend.
   */
  keep(key: string, current: StoredValue, next: KubeObject): KubeObject | undefined {
    const entry = this.#current(key);
    if (!entry || entry.modRevision !== current.modRevision) return undefined;
    if (Number(entry.cached.metadata.resourceVersion) !== current.revision) return undefined;
    if (this.#writeThrough()) return undefined;
    if (!this.#isHeartbeat(JSON.parse(current.value), next)) return undefined;
    const cached = this.#cache.applyLocal(key, next);
    if (!cached) return undefined;
    entry.cached = cached;
    entry.dirty = true;
    return cached;
  }

  /** True when a write issued now may let the key be held afterwards (see {@linkcode written}). */
  mayHold(): boolean {
    return !this.#writeThrough();
  }

  /**
   * Notes a write of the key to the backend (after the cache applied it). `mayHold` is what
   * {@linkcode mayHold} said before the write was issued: the key is held from now on only if
   * holding was allowed both then and now, so that the write's revision is above any revision
   * another server held heartbeats at. `at` is when the write counts as made (default now).
   */
  written(key: string, kv: KeyValue, options: { mayHold: boolean; at?: number }): void {
    const cached = this.#cache.get(key);
    const revision = String(kv.modRevision * this.#cache.revisionSlots);
    if (
      !options.mayHold || this.#writeThrough() || cached?.metadata.resourceVersion !== revision
    ) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.set(key, {
      modRevision: kv.modRevision,
      cached,
      dirty: false,
      persistedAt: options.at ?? this.#clock.now(),
    });
  }

  /** Forgets the key (deleted, or written by someone else). */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /**
   * Writes every held heartbeat whose key was last written `persistIntervalMs` ago or more; with
   * `writeThrough()` true, every held heartbeat, and then holds nothing. Writes issued together
   * share one commit on SQLite.
   */
  async flushDue(): Promise<void> {
    const now = this.#clock.now();
    const all = this.#writeThrough();
    const due = [...this.#entries].filter(([, e]) =>
      e.dirty && (all || now - e.persistedAt >= this.#interval)
    ).map(([key]) => key);
    // The sweep's start counts as the write time, so that the next sweep, one interval later,
    // finds these due again however long the writes took.
    await Promise.all(due.map((key) => this.#flushKey(key, now)));
    if (all) {
      // What failed to be written stays held (dirty), and is written with the key's next update.
      for (const [key, e] of this.#entries) if (!e.dirty) this.#entries.delete(key);
    }
  }

  /** Writes every held heartbeat (at shutdown, after the API stopped taking requests). */
  async flush(): Promise<void> {
    const now = this.#clock.now();
    const dirty = [...this.#entries].filter(([, e]) => e.dirty).map(([key]) => key);
    await Promise.all(dirty.map((key) => this.#flushKey(key, now)));
  }

  /** Writes due heartbeats every `persistIntervalMs` until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (await delay(this.#interval, signal)) {
      await this.flushDue();
    }
  }

  /** The key's entry while the cache still serves the object it describes. */
  #current(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#cache.get(key) === entry.cached) return entry;
    // Deleted, or written by another server: the backend's value is the truth now.
    this.#entries.delete(key);
    return undefined;
  }

  #flushKey(key: string, at: number): Promise<void> {
    return this.exclusive(key, async () => {
      const mayHold = this.mayHold();
      const entry = this.#current(key);
      if (!entry?.dirty) return;
      try {
        const result = await this.#backend.update(
          key,
          storedText(entry.cached),
          entry.modRevision,
        );
        if (!result.ok) {
          this.#entries.delete(key); // written or deleted elsewhere meanwhile: that one wins
          return;
        }
        await this.#cache.waitForRevision(result.kv.modRevision * this.#cache.revisionSlots);
        this.written(key, result.kv, { mayHold, at });
      } catch (err) {
        // Kept dirty: the next sweep (or the next other update of the key) writes it.
        this.#logger.warn("writing a held heartbeat failed", { key, error: err });
      }
    });
  }
}
