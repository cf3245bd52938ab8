/**
 * The default storage backend: one SQLite file (`node:sqlite`, built into Deno) holding a
 * kine-style table of revisions. Every write appends one row whose id is the new global revision;
 * the latest row of a key is its current value (or a tombstone), older rows are the history that
 * watchers replay and that compaction removes. Watchers are fed by an in-process broadcaster:
 * this process is the only writer, so every committed write is published the moment it commits.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  type Backend,
  type BackendEvent,
  type CasResult,
  CompactedError,
  type KeyValue,
  type ListOptions,
  type ListResult,
} from "./backend.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";

/** Options for {@linkcode SqliteBackend.open}. */
export interface SqliteBackendOptions {
  /**
   * SQLite `synchronous` mode (default `"full"`). Both survive `kill -9` of the process, since a
   * committed transaction is in the WAL file (the OS page cache) before the write is acknowledged.
   * `"full"` also fsyncs the WAL on every commit, so acknowledged writes survive power loss too —
   * the edge devices Skiff runs on lose power — at about 0.3 ms per write on an SSD.
   * `"normal"` skips that fsync (10-20x faster writes) and can lose the last writes on power loss.
   */
  synchronous?: "full" | "normal";
  /**
   * How many live events a watcher may have waiting before it stops buffering and catches up by
   * reading the table instead (default 10,000). Bounds memory per slow watcher; nothing is lost.
   */
  watchBufferSize?: number;
  logger?: Logger;
}

/** One row of the `kv` table. */
interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
}

/** A replayed row joined with the value of the row it replaced. */
interface HistoryRow extends Row {
  prev_value: string | null;
}

interface Watcher {
  prefix: string;
  /** Live events not yet taken by the iterator; replaced by `[]` when taken. */
  queue: BackendEvent[];
  /** Set when `queue` overflowed and was dropped: the iterator re-reads the table. */
  overflowed: boolean;
  /** The latest revision committed at the time of the last publish. */
  progress: number;
  /** Wakes a waiting iterator. */
  wake: (() => void) | null;
  /** Set when the backend closes under the watcher. */
  failure: Error | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const COLUMNS = "id, name, created, deleted, create_revision, prev_revision, value";

/**
 * Suffix of the marker file written next to the database once it is initialised: with the
 * marker present, a missing or empty database file is a lost store, not a new one.
 */
export const INITIALIZED_SUFFIX = ".initialized";

function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Rows replayed per query while a watcher catches up from the table. */
const REPLAY_PAGE = 500;
/** Ids per compaction statement, so that compaction never blocks the event loop for long. */
const COMPACT_CHUNK = 5_000;

/** An upper bound for the keys with `prefix`: a BLOB sorts after every TEXT in SQLite. */
function prefixEnd(prefix: string): string | Uint8Array {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
  if (p.length === 0) return new Uint8Array([0xff]);
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

function toKeyValue(row: Row, modRevision = row.id): KeyValue {
  return {
    key: row.name,
    value: row.value,
    createRevision: row.create_revision,
    modRevision,
  };
}

/** Writes sharing one transaction (group commit). */
interface WriteBatch {
  nextRevision: number;
  writes: {
    result: CasResult;
    event?: BackendEvent;
    revision: number;
    resolve: (r: CasResult) => void;
    reject: (e: unknown) => void;
  }[];
}

/** SQLite-backed {@linkcode Backend}; see the module comment. Open with {@linkcode SqliteBackend.open}. */
export class SqliteBackend implements Backend {
  readonly #db: DatabaseSync;
  readonly #logger: Logger;
  readonly #bufferSize: number;
  readonly #watchers = new Set<Watcher>();
  readonly #stmt: Record<
    | "latest"
    | "insert"
    | "list"
    | "count"
    | "history"
    | "setMeta"
    | "compactChunk"
    | "minId",
    StatementSync
  >;
  /** The latest committed revision (what readers and watchers may see). */
  #revision: number;
  /** The open group-commit transaction, if any. */
  #batch: WriteBatch | undefined;
  #compactRevision: number;
  #compacting: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(db: DatabaseSync, options: SqliteBackendOptions) {
    this.#db = db;
    this.#logger = options.logger ?? silentLogger;
    this.#bufferSize = options.watchBufferSize ?? 10_000;
    this.#stmt = {
      latest: db.prepare(`SELECT ${COLUMNS} FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`),
      insert: db.prepare(
        `INSERT INTO kv (${COLUMNS}) VALUES (:id, :name, :created, :deleted, :cr, :prev, :value)`,
      ),
      // Latest row per key at a revision, tombstones dropped. SQLite fills the bare columns from
      // the row holding MAX(id), and walks kv_name_id in key order so LIMIT stops the scan early.
      list: db.prepare(
        `SELECT id, name, create_revision, value FROM (
           SELECT MAX(id) AS id, name, create_revision, deleted, value FROM kv
           WHERE name >= :start AND name < :end AND name > :after AND id <= :rev
           GROUP BY name
         ) WHERE deleted = 0 ORDER BY name LIMIT :limit`,
      ),
      count: db.prepare(
        `SELECT COUNT(*) AS n FROM (
           SELECT MAX(id) AS id, deleted FROM kv WHERE name >= :start AND name < :end GROUP BY name
         ) WHERE deleted = 0`,
      ),
      history: db.prepare(
        `SELECT kv.id, kv.name, kv.created, kv.deleted, kv.create_revision, kv.prev_revision,
                kv.value, p.value AS prev_value
         FROM kv LEFT JOIN kv AS p
           ON p.id = kv.prev_revision AND kv.created = 0 AND kv.deleted = 0
         WHERE kv.id > :after AND kv.id <= :head AND kv.name >= :start AND kv.name < :end
         ORDER BY kv.id LIMIT :limit`,
      ),
      setMeta: db.prepare(`INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)`),
      // A row at or below the compact revision goes when it is a tombstone or when a newer row of
      // its key exists at or below the compact revision (then it is not the key's value there).
      compactChunk: db.prepare(
        `DELETE FROM kv WHERE id >= :lo AND id < :hi AND (deleted = 1 OR EXISTS (
           SELECT 1 FROM kv AS n WHERE n.name = kv.name AND n.id > kv.id AND n.id <= :rev))`,
      ),
      minId: db.prepare(`SELECT MIN(id) AS id FROM kv`),
    };
    const seq = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).get() as
      | { seq: number }
      | undefined;
    this.#revision = seq?.seq ?? 0;
    const compact = db.prepare(`SELECT value FROM meta WHERE name = 'compact_revision'`).get() as
      | { value: number }
      | undefined;
    this.#compactRevision = compact?.value ?? 0;
  }

  /**
   * Opens (creating if needed) the store in the SQLite file at `path`. The file is locked for
   * this process (`locking_mode=EXCLUSIVE`): a second process opening it fails at once, which is
   * what keeps the in-process watch broadcaster complete.
   */
  static open(path: string, options: SqliteBackendOptions = {}): SqliteBackend {
    const marker = `${path}${INITIALIZED_SUFFIX}`;
    const size = fileSize(path);
    if ((size === undefined || size === 0) && fileSize(marker) !== undefined) {
      // The directory held a store once: an absent or empty file means its data is gone, and
      // starting an empty cluster over it would hide that.
      throw new Error(
        `Cannot open store "${path}": the database file is ${
          size === undefined ? "missing" : "empty"
        } but ${marker} says it held a cluster; restore it from a backup (or delete the marker to start an empty cluster)`,
      );
    }
    // The store holds Secrets: owner-only, like the directory (SQLite gives the WAL the
    // database file's mode).
    if (size === undefined) Deno.openSync(path, { create: true, write: true, mode: 0o600 }).close();
    else Deno.chmodSync(path, 0o600);
    for (const suffix of ["-wal", "-shm"]) {
      if (fileSize(path + suffix) !== undefined) Deno.chmodSync(path + suffix, 0o600);
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { timeout: 0 });
      // EXCLUSIVE before WAL: the WAL index then lives in process memory, not a shared -shm file.
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
      // Taking the write lock now (and keeping it) makes a second opener fail here.
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
      // A damaged file must stop the server at start, not leave it forever unready.
      const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
      if (check.length !== 1 || check[0].quick_check !== "ok") {
        throw new Error(
          `the database is damaged (quick_check: ${
            check.slice(0, 3).map((r) => r.quick_check).join("; ")
          })`,
        );
      }
      if (fileSize(marker) === undefined) {
        Deno.writeTextFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
      }
      return new SqliteBackend(db, options);
    } catch (err) {
      db?.close();
      const msg = err instanceof Error ? err.message : String(err);
      if (/locked|busy/i.test(msg)) {
        throw new Error(`Cannot open store "${path}": it is in use by another process`, {
          cause: err,
        });
      }
      throw new Error(`Cannot open store "${path}": ${msg.split("\n")[0]}`, { cause: err });
    }
  }

  get(key: string): Promise<KeyValue | null> {
    return this.#run(() => {
      const row = this.#latest(key);
      return row && !row.deleted ? toKeyValue(row) : null;
    });
  }

  list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return this.#run(() => {
      const revision = options.revision ?? this.#revision;
      if (revision < this.#compactRevision) {
        throw new CompactedError(revision, this.#compactRevision);
      }
      if (revision > this.#revision) {
        throw new RangeError(
          `Cannot list at revision ${revision}: the latest revision is ${this.#revision}`,
        );
      }
      const limit = options.limit && options.limit > 0 ? options.limit : -1;
      const rows = this.#stmt.list.all({
        start: prefix,
        end: prefixEnd(prefix),
        after: options.startAfter ?? "",
        rev: revision,
        limit: limit < 0 ? -1 : limit + 1,
      }) as unknown as Row[];
      const more = limit >= 0 && rows.length > limit;
      if (more) rows.length = limit;
      return { items: rows.map((r) => toKeyValue(r)), revision, more };
    });
  }

  count(prefix: string): Promise<number> {
    return this.#run(() => {
      const row = this.#stmt.count.get({ start: prefix, end: prefixEnd(prefix) }) as { n: number };
      return row.n;
    });
  }

  create(key: string, value: string): Promise<CasResult> {
    return this.#run(() => {
      if (key === "") throw new TypeError("Cannot create an empty key");
      return this.#write((rev) => {
        const prev = this.#latest(key);
        if (prev && !prev.deleted) return { result: { ok: false, current: toKeyValue(prev) } };
        const row: Row = {
          id: rev,
          name: key,
          created: 1,
          deleted: 0,
          create_revision: rev,
          prev_revision: prev?.id ?? 0,
          value,
        };
        this.#insert(row);
        const kv = toKeyValue(row);
        return { result: { ok: true, kv }, event: { type: "put", kv } };
      });
    });
  }

  update(key: string, value: string, expectedRevision: number): Promise<CasResult> {
    return this.#run(() =>
      this.#write((rev) => {
        const prev = this.#latest(key);
        if (!prev || prev.deleted) return { result: { ok: false, current: null } };
        if (prev.id !== expectedRevision) {
          return { result: { ok: false, current: toKeyValue(prev) } };
        }
        const row: Row = {
          id: rev,
          name: key,
          created: 0,
          deleted: 0,
          create_revision: prev.create_revision,
          prev_revision: prev.id,
          value,
        };
        this.#insert(row);
        const kv = toKeyValue(row);
        return { result: { ok: true, kv }, event: { type: "put", kv, prevKv: toKeyValue(prev) } };
      })
    );
  }

  delete(key: string, expectedRevision?: number): Promise<CasResult> {
    return this.#run(() =>
      this.#write((rev) => {
        const prev = this.#latest(key);
        if (!prev || prev.deleted) return { result: { ok: false, current: null } };
        if (expectedRevision !== undefined && prev.id !== expectedRevision) {
          return { result: { ok: false, current: toKeyValue(prev) } };
        }
        // The tombstone keeps the last value, so a replayed delete can report what was deleted.
        const row: Row = {
          id: rev,
          name: key,
          created: 0,
          deleted: 1,
          create_revision: prev.create_revision,
          prev_revision: prev.id,
          value: prev.value,
        };
        this.#insert(row);
        const kv = toKeyValue(row);
        return {
          result: { ok: true, kv },
          event: { type: "delete", kv, prevKv: toKeyValue(prev) },
        };
      })
    );
  }

  currentRevision(): Promise<number> {
    return this.#run(() => this.#revision);
  }

  compactRevision(): Promise<number> {
    return this.#run(() => this.#compactRevision);
  }

  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<BackendEvent> {
    return this.#watch(prefix, afterRevision, signal);
  }

  /**
   * Removes every row at or below `revision` that is not the value of its key at `revision`
   * (superseded rows and tombstones). The compact revision is recorded first, so reads and
   * watches below it fail with CompactedError before any row disappears; the rows then go in
   * chunks, yielding to the event loop in between. A revision at or below the current compact
   * revision is a no-op; one above the latest revision is a RangeError.
   */
  compact(revision: number): Promise<void> {
    const next = this.#compacting.then(() => this.#compact(revision));
    this.#compacting = next.catch(() => {});
    return next;
  }

  /** Closes the file; live watchers fail with an error saying the store closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#batch) this.#commit(this.#batch);
    this.#closed = true;
    const failure = new Error("the store was closed");
    for (const w of this.#watchers) {
      w.failure = failure;
      w.wake?.();
    }
    await this.#compacting;
    this.#db.close();
  }

  async #compact(revision: number): Promise<void> {
    this.#checkOpen();
    if (revision <= this.#compactRevision) return;
    if (revision > this.#revision) {
      throw new RangeError(
        `Cannot compact at revision ${revision}: the latest revision is ${this.#revision}`,
      );
    }
    this.#stmt.setMeta.run("compact_revision", revision);
    this.#compactRevision = revision;
    const start = Date.now();
    let removed = 0;
    let lo = (this.#stmt.minId.get() as { id: number | null }).id ?? revision + 1;
    while (lo <= revision && !this.#closed) {
      const hi = Math.min(lo + COMPACT_CHUNK, revision + 1);
      removed += Number(this.#stmt.compactChunk.run({ lo, hi, rev: revision }).changes);
      lo = hi;
      if (lo <= revision) await new Promise((r) => setTimeout(r, 0));
    }
    this.#logger.debug("compacted", { revision, removed, ms: Date.now() - start });
  }

  /** Runs a synchronous body as a promise, so that a throw becomes a rejection. */
  #run<T>(body: () => T | Promise<T>): Promise<T> {
    try {
      this.#checkOpen();
      return Promise.resolve(body());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("the store is closed");
  }

  #latest(key: string): Row | undefined {
    return this.#stmt.latest.get(key) as Row | undefined;
  }

  #insert(row: Row): void {
    this.#stmt.insert.run({
      id: row.id,
      name: row.name,
      created: row.created,
      deleted: row.deleted,
      cr: row.create_revision,
      prev: row.prev_revision,
      value: row.value,
    } as Record<string, SQLInputValue>);
  }

  /**
   * One write at the next revision, with group commit: the first write of a turn of the event
   * loop opens a transaction, every write until the end of that turn joins it (each in its own
   * savepoint, so one failing write rolls back alone), and one COMMIT — one fsync — makes them
   * all durable. Only then are their promises resolved and their events published, in revision
   * order, so no caller or watcher ever sees a write that could still be lost. `#revision` stays
   * the committed revision; reads on this connection may see the open batch (its writes are
   * already decided: only a failing disk could still undo them, and then they all fail).
   */
  #write(
    body: (revision: number) => { result: CasResult; event?: BackendEvent },
  ): Promise<CasResult> {
    const batch = this.#batch ?? this.#openBatch();
    const revision = batch.nextRevision;
    this.#db.exec("SAVEPOINT w");
    let out: { result: CasResult; event?: BackendEvent };
    try {
      out = body(revision);
      this.#db.exec("RELEASE w");
    } catch (err) {
      this.#db.exec("ROLLBACK TO w");
      this.#db.exec("RELEASE w");
      return Promise.reject(err);
    }
    if (out.event) batch.nextRevision = revision + 1;
    return new Promise<CasResult>((resolve, reject) => {
      batch.writes.push({ result: out.result, event: out.event, revision, resolve, reject });
    });
  }

  #openBatch(): WriteBatch {
    this.#db.exec("BEGIN IMMEDIATE");
    const batch: WriteBatch = { nextRevision: this.#revision + 1, writes: [] };
    this.#batch = batch;
    // A macrotask, not a microtask: requests handled in the same turn share the commit.
    setTimeout(() => this.#commit(batch), 0);
    return batch;
  }

  #commit(batch: WriteBatch): void {
    if (this.#batch !== batch) return;
    this.#batch = undefined;
    try {
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      for (const w of batch.writes) w.reject(err);
      return;
    }
    for (const w of batch.writes) {
      if (w.event) {
        this.#revision = w.revision;
        this.#publish(w.event, w.revision);
      }
      w.resolve(w.result);
    }
  }

  #publish(event: BackendEvent, revision: number): void {
    const key = (event as { kv: KeyValue }).kv.key;
    for (const w of this.#watchers) {
      if (key.startsWith(w.prefix)) {
        if (w.queue.length >= this.#bufferSize) {
          // Drop the buffer; the iterator re-reads these events from the table.
          w.queue = [];
          w.overflowed = true;
        } else if (!w.overflowed) {
          w.queue.push(event);
        }
      }
      w.progress = revision;
      w.wake?.();
    }
  }

  /**
   * The watch iterator. Invariant: every event on the prefix at or below `seen` has been yielded
   * (or was before `afterRevision`). It registers for live events first, then replays the table
   * from `seen` in pages; live events at or below `seen` are duplicates of replayed rows and are
   * skipped, so nothing is lost or repeated at the hand-over. The same replay serves a watcher
   * whose live buffer overflowed.
   */
  async *#watch(
    prefix: string,
    afterRevision: number,
    signal: AbortSignal,
  ): AsyncGenerator<BackendEvent> {
    this.#checkOpen();
    if (afterRevision < this.#compactRevision) {
      throw new CompactedError(afterRevision, this.#compactRevision);
    }
    const w: Watcher = {
      prefix,
      queue: [],
      overflowed: false,
      progress: this.#revision,
      wake: null,
      failure: null,
    };
    const end = prefixEnd(prefix);
    let seen = afterRevision;
    let replaying = true;
    const onAbort = () => w.wake?.();
    signal.addEventListener("abort", onAbort);
    this.#watchers.add(w);
    try {
      while (!signal.aborted) {
        if (w.failure) throw w.failure;
        if (replaying || w.overflowed) {
          replaying = true;
          w.overflowed = false;
          w.queue = [];
          if (this.#compactRevision > seen) {
            throw new CompactedError(seen, this.#compactRevision);
          }
          // The page and `head` are read in the same synchronous step: no write falls between.
          const head = this.#revision;
          const rows = this.#stmt.history.all({
            after: seen,
            head,
            start: prefix,
            end,
            limit: REPLAY_PAGE,
          }) as unknown as HistoryRow[];
          const complete = rows.length < REPLAY_PAGE;
          for (const row of rows) {
            yield historyEvent(row);
            seen = row.id;
            if (signal.aborted || w.failure) break;
          }
          if (complete && !signal.aborted && !w.failure) {
            replaying = false;
            if (head > seen) {
              seen = head;
              yield { type: "progress", revision: head };
            }
          }
          continue;
        }
        if (w.queue.length > 0) {
          const batch = w.queue;
          w.queue = [];
          for (const event of batch) {
            const revision = (event as { kv: KeyValue }).kv.modRevision;
            if (revision <= seen) continue;
            yield event;
            seen = revision;
            if (signal.aborted || w.failure || w.overflowed) break;
          }
          continue;
        }
        if (w.progress > seen) {
          // Writes to other keys: every event on our prefix up to `progress` has been yielded.
          seen = w.progress;
          yield { type: "progress", revision: seen };
          continue;
        }
        await new Promise<void>((resolve) => {
          w.wake = resolve;
        });
        w.wake = null;
      }
    } finally {
      this.#watchers.delete(w);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function historyEvent(row: HistoryRow): BackendEvent {
  const kv = toKeyValue(row);
  if (row.deleted) {
    return {
      type: "delete",
      kv,
      prevKv: { ...kv, modRevision: row.prev_revision },
    };
  }
  if (row.created || row.prev_value === null) return { type: "put", kv };
  return {
    type: "put",
    kv,
    prevKv: {
      key: row.name,
      value: row.prev_value,
      createRevision: row.create_revision,
      modRevision: row.prev_revision,
    },
  };
}

/** Options for {@linkcode startCompactor}. */
export interface CompactorOptions {
  /** How many of the latest revisions stay watchable (kube-apiserver keeps ~5 minutes' worth). */
  keepRevisions: number;
  /** How often to compact. */
  intervalMs: number;
  /** Stops the compactor. */
  signal: AbortSignal;
  logger?: Logger;
}

/**
 * Compacts `backend` every `intervalMs` down to `currentRevision - keepRevisions`, until the
 * signal aborts. Returns a promise that resolves once stopped (its timer cleared); a failed
 * compaction is logged and retried at the next tick.
 */
export function startCompactor(backend: Backend, options: CompactorOptions): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const { signal } = options;
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    let running: Promise<void> = Promise.resolve();
    const tick = async () => {
      try {
        const target = (await backend.currentRevision()) - options.keepRevisions;
        if (target > (await backend.compactRevision())) await backend.compact(target);
      } catch (err) {
        logger.warn("compaction failed", { error: err });
      }
    };
    const timer = setInterval(() => {
      running = running.then(tick);
    }, options.intervalMs);
    signal.addEventListener("abort", () => {
      clearInterval(timer);
      running.then(() => resolve());
    }, { once: true });
  });
}
