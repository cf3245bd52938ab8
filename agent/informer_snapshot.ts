/**
 * A node's local copy of one informer's objects (its pods, the Nodes, the Services…), so that an
 * agent that starts while its server is unreachable can run from what it last knew: the copy is
 * written under the agent's data dir atomically (temp file, fsync, rename), at most once per
 * `debounceMs` after a change and never above `maxBytes`, and read back into the informer with
 * `Informer.seed()` before its first LIST. The first LIST that succeeds replaces it (the server
 * wins).
 */
import type { KubeObject } from "../shared/api/object.ts";
import { writeFileAtomic } from "../shared/write_file_atomic.ts";
import { delay } from "../shared/backoff.ts";
import type { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";

/** Options for {@linkcode InformerSnapshot}. */
export interface InformerSnapshotOptions<T> {
  /** Directory of the copies (`<dataDir>/state`). */
  dir: string;
  /** File name without `.json`, e.g. `pods`. */
  name: string;
  /** Largest copy written (default 16 MiB): a bigger one is not written, and said so. */
  maxBytes?: number;
  /** Delay between a change and the write that follows (default 1 s). */
  debounceMs?: number;
  /** File mode (default 0o600: pods carry environment values). */
  mode?: number;
  /** Called after each write with the objects written (e.g. to prune what they referenced). */
  onWritten?: (items: T[]) => Promise<void> | void;
  logger?: Logger;
}

/** Keeps one informer's objects on disk and seeds the informer from them at start. */
export class InformerSnapshot<T extends KubeObject> {
  readonly #informer: Informer<T>;
  readonly #o: InformerSnapshotOptions<T>;
  readonly #log: Logger;
  #dirty = false;
  #wake?: () => void;
  #lastText = "";

  constructor(informer: Informer<T>, options: InformerSnapshotOptions<T>) {
    this.#informer = informer;
    this.#o = options;
    this.#log = (options.logger ?? silentLogger).child("snapshot", { name: options.name });
  }

  /** The copy's path. */
  get path(): string {
    return `${this.#o.dir}/${this.#o.name}.json`;
  }

  /** The saved objects, or undefined when there is no (readable) copy. */
  async load(): Promise<T[] | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      const parsed = JSON.parse(text) as { items?: T[] };
      if (!Array.isArray(parsed.items)) return undefined;
      this.#lastText = text;
      return parsed.items;
    } catch {
      this.#log.warn("ignoring an unreadable local copy", { path: this.path });
      return undefined;
    }
  }

  /**
   * Seeds the informer from the copy, unless it has already listed from the server; returns
   * how many objects it was given (undefined: no copy).
   */
  async seed(): Promise<number | undefined> {
    const items = await this.load();
    if (!items || this.#informer.hasListed()) return undefined;
    this.#informer.seed(items);
    return items.length;
  }

  /** Writes the copy after changes until `signal` aborts, and once more then. */
  async run(signal: AbortSignal): Promise<void> {
    await Deno.mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
    const touch = () => {
      this.#dirty = true;
      this.#wake?.();
    };
    this.#informer.addEventHandler({ onAdd: touch, onUpdate: touch, onDelete: touch });
    // A seeded informer counts as synced: its copy is what is on disk already.
    if (this.#informer.hasSynced()) this.#dirty = true;
    while (!signal.aborted) {
      if (!this.#dirty) {
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          this.#wake = () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          };
          signal.addEventListener("abort", onAbort, { once: true });
        });
        this.#wake = undefined;
        continue;
      }
      if (!await delay(this.#o.debounceMs ?? 1000, signal)) break;
      await this.flush();
    }
    await this.flush();
  }

  /** Writes the copy now if it changed (only once the informer has synced). */
  async flush(): Promise<void> {
    if (!this.#dirty || !this.#informer.hasSynced()) return;
    this.#dirty = false;
    const items = this.#informer.list();
    const text = JSON.stringify({ items });
    if (text === this.#lastText) return;
    const max = this.#o.maxBytes ?? 16 * 1024 * 1024;
    if (text.length > max) {
      this.#log.warn("local copy too large; not written", { bytes: text.length, maxBytes: max });
      return;
    }
    try {
      await writeFileAtomic(this.path, text, this.#o.mode ?? 0o600);
      this.#lastText = text;
      await this.#o.onWritten?.(items);
    } catch (e) {
      this.#dirty = true;
      this.#log.warn("cannot write the local copy", { error: e });
    }
  }
}
