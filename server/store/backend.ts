/**
 * The storage interface every backend implements, modelled on kine / etcd's KV API: keys are
 * strings (`/registry/pods/default/web`), values are opaque bytes (JSON text), and every write
 * gets the next value of one global, monotonically increasing revision. A backend keeps a window
 * of history so that watchers can resume from a past revision; older revisions are compacted.
 *
 * The object-level layer above it (server/registry/resource_store.ts) turns revisions into
 * `resourceVersion`s and does guaranteed updates; backends know nothing about Kubernetes objects.
 */

/** One key at one revision. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created the key (its current incarnation). */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
}

/** One change seen by a watcher. */
export interface BackendChange {
  type: "put" | "delete";
  /** For `put` the new value; for `delete` the value just before deletion, with the delete's modRevision. */
  kv: KeyValue;
  /** For `put` of an existing key and for `delete`: the value before this write. */
  prevKv?: KeyValue;
}

/**
 * A progress notification (etcd's progress notify): the watcher has been sent every change on
 * its prefix up to `revision`, which was written to other keys. Lets a watch cache know it is
 * current without an event of its own (read-your-writes waits, bookmarks).
 */
export interface BackendProgress {
  type: "progress";
  revision: number;
}

/** What a watch yields: changes, and progress notifications between them. */
export type BackendEvent = BackendChange | BackendProgress;

/** Options for {@linkcode Backend.list}. */
export interface ListOptions {
  /** At most this many keys (0 or absent = all). */
  limit?: number;
  /** Start after this key (exclusive), for paging. */
  startAfter?: string;
  /** Read at this revision (a consistent page series); absent = current. Throws CompactedError if compacted. */
  revision?: number;
}

/** Result of {@linkcode Backend.list}. */
export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when more keys follow the last returned one. */
  more: boolean;
}

/** Result of a compare-and-swap: either it happened, or the current state is returned. */
export type CasResult =
  | { ok: true; kv: KeyValue }
  | { ok: false; current: KeyValue | null };

/** Thrown when a revision older than the retained history is asked for. */
export class CompactedError extends Error {
  readonly compactRevision: number;
  constructor(requested: number, compactRevision: number) {
    super(
      `required revision ${requested} has been compacted (oldest available ${compactRevision + 1})`,
    );
    this.name = "CompactedError";
    this.compactRevision = compactRevision;
  }
}

/** A kine-style key/value store with one global revision and a watchable history. */
export interface Backend {
  /** The latest key value, or null. */
  get(key: string): Promise<KeyValue | null>;
  /** Keys with the prefix, in key order, at one revision. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** How many keys have the prefix now. */
  count(prefix: string): Promise<number>;
  /** Creates the key; `{ok:false, current}` if it exists. */
  create(key: string, value: string): Promise<CasResult>;
  /** Replaces the value if the key's modRevision is still `expectedRevision`. */
  update(key: string, value: string, expectedRevision: number): Promise<CasResult>;
  /**
   * Deletes the key if its modRevision is `expectedRevision` (or unconditionally when absent).
   * On success `kv` is the deleted value with the delete's revision as modRevision.
   */
  delete(key: string, expectedRevision?: number): Promise<CasResult>;
  /** The latest revision written (0 for an empty store). */
  currentRevision(): Promise<number>;
  /**
   * Every change on keys with the prefix strictly after `afterRevision`, in revision order, then
   * live ones until the signal aborts (the iterator then simply ends). Throws CompactedError on
   * the first iteration when `afterRevision` is below `compactRevision()`, and later if the
   * watcher falls behind a compaction. Interleaves `progress` events with revisions in order: a
   * backend sends one, soon after writes to other keys, when the watcher is caught up.
   */
  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<BackendEvent>;
  /** Drops history at or below `revision` (the latest value of every live key is kept). */
  compact(revision: number): Promise<void>;
  /** The oldest revision still watchable is `compactRevision() + 1`. */
  compactRevision(): Promise<number>;
  /** Releases files and timers. */
  close(): Promise<void>;
}
