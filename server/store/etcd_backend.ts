/**
 * A {@linkcode Backend} on a real etcd (v3.4+), for clusters that want the store outside the
 * server process. It speaks etcd's own v3 JSON API (the gRPC gateway every etcd serves on its
 * client URL: `/v3/kv/range`, `/v3/kv/txn`, `/v3/watch`, ...) with plain `fetch`, so it needs no
 * gRPC library. Revisions are etcd's: a key's modRevision is etcd's mod_revision, and every
 * compare-and-swap is one etcd transaction comparing it.
 *
 * Each watch is one etcd watch over the whole keyspace, filtered by prefix here: seeing every
 * revision is what lets it send exact progress notifications (every revision up to the last one
 * seen has been delivered), which etcd's own progress notify only does on a timer.
 */
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

/** Options for {@linkcode EtcdBackend.open}. */
export interface EtcdBackendOptions {
  /** Injected for tests or custom transports; default: the global `fetch`. */
  fetch?: typeof fetch;
  logger?: Logger;
}

/** An error answered by etcd (`{"error": ..., "code": ...}`). */
export class EtcdError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.name = "EtcdError";
    this.code = code;
  }
}

/** etcd's mvcc.KeyValue as JSON: bytes in base64, int64s as strings, zero values omitted. */
interface EtcdKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
}

interface Header {
  revision?: string;
}

interface RangeResponse {
  header: Header;
  kvs?: EtcdKv[];
  more?: boolean;
  count?: string;
}

interface TxnResponse {
  header: Header;
  succeeded?: boolean;
  responses?: {
    response_range?: RangeResponse;
    response_delete_range?: { prev_kvs?: EtcdKv[] };
  }[];
}

interface WatchResult {
  header?: Header;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: "PUT" | "DELETE"; kv: EtcdKv; prev_kv?: EtcdKv }[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64(text: string): string {
  return encoder.encode(text).toBase64();
}

function b64Bytes(bytes: Uint8Array): string {
  return bytes.toBase64();
}

function unb64(text: string | undefined): string {
  return text ? decoder.decode(Uint8Array.fromBase64(text)) : "";
}

/** The range end covering every key with `prefix` (etcd's `GetPrefixRangeEnd`). */
function prefixEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return b64Bytes(end);
    }
  }
  return b64("\0"); // no upper bound: every key
}

function toKeyValue(kv: EtcdKv): KeyValue {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
  };
}

/** etcd-backed {@linkcode Backend}; see the module comment. */
export class EtcdBackend implements Backend {
  readonly #endpoint: string;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger;
  /** Aborts every watch on close. */
  readonly #closing = new AbortController();
  /** A lower bound of etcd's compact revision (what this client compacted to, or saw). */
  #knownCompact = 0;

  private constructor(endpoint: string, options: EtcdBackendOptions) {
    this.#endpoint = endpoint.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? fetch;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Connects to etcd at `endpoint` (e.g. `http://127.0.0.1:2379`), checking that it answers. */
  static async open(endpoint: string, options: EtcdBackendOptions = {}): Promise<EtcdBackend> {
    const backend = new EtcdBackend(endpoint, options);
    await backend.currentRevision();
    return backend;
  }

  async get(key: string): Promise<KeyValue | null> {
    const r = await this.#call<RangeResponse>("/v3/kv/range", { key: b64(key) });
    return r.kvs?.length ? toKeyValue(r.kvs[0]) : null;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    // etcd reads "revision 0" as "latest"; before the first write (revision 1) nothing existed.
    if (options.revision !== undefined && options.revision < 1) {
      return { items: [], revision: options.revision, more: false };
    }
    const from = options.startAfter !== undefined && options.startAfter >= prefix
      ? b64(options.startAfter + "\0")
      : b64(prefix === "" ? "\0" : prefix);
    const body: Record<string, unknown> = { key: from, range_end: prefixEnd(prefix) };
    if (options.limit && options.limit > 0) body.limit = options.limit;
    if (options.revision !== undefined) body.revision = options.revision;
    try {
      const r = await this.#call<RangeResponse>("/v3/kv/range", body);
      return {
        items: (r.kvs ?? []).map(toKeyValue),
        revision: options.revision ?? Number(r.header.revision ?? 0),
        more: r.more === true,
      };
    } catch (err) {
      if (err instanceof EtcdError && /has been compacted/.test(err.message)) {
        throw new CompactedError(options.revision ?? 0, await this.compactRevision());
      }
      if (err instanceof EtcdError && /future revision/.test(err.message)) {
        throw new RangeError(`Cannot list at revision ${options.revision}: ${err.message}`);
      }
      throw err;
    }
  }

  async count(prefix: string): Promise<number> {
    const r = await this.#call<RangeResponse>("/v3/kv/range", {
      key: b64(prefix === "" ? "\0" : prefix),
      range_end: prefixEnd(prefix),
      count_only: true,
    });
    return Number(r.count ?? 0);
  }

  async create(key: string, value: string): Promise<CasResult> {
    if (key === "") throw new TypeError("Cannot create an empty key");
    const k = b64(key);
    const r = await this.#txn({
      compare: [{ key: k, target: "CREATE", result: "EQUAL", create_revision: "0" }],
      success: [{ request_put: { key: k, value: b64(value) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!r.succeeded) return { ok: false, current: currentOf(r) };
    const revision = Number(r.header.revision);
    return { ok: true, kv: { key, value, createRevision: revision, modRevision: revision } };
  }

  async update(key: string, value: string, expectedRevision: number): Promise<CasResult> {
    const k = b64(key);
    const r = await this.#txn({
      compare: [{ key: k, target: "MOD", result: "EQUAL", mod_revision: String(expectedRevision) }],
      success: [{ request_put: { key: k, value: b64(value) } }, { request_range: { key: k } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!r.succeeded) return { ok: false, current: currentOf(r) };
    // The range after the put, in the same transaction, gives the kept createRevision.
    const kvs = r.responses?.[1]?.response_range?.kvs;
    if (!kvs?.length) throw new Error(`etcd lost ${key} inside its own transaction`);
    return { ok: true, kv: toKeyValue(kvs[0]) };
  }

  async delete(key: string, expectedRevision?: number): Promise<CasResult> {
    const k = b64(key);
    const compare = expectedRevision === undefined
      ? { key: k, target: "CREATE", result: "GREATER", create_revision: "0" }
      : { key: k, target: "MOD", result: "EQUAL", mod_revision: String(expectedRevision) };
    const r = await this.#txn({
      compare: [compare],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!r.succeeded) return { ok: false, current: currentOf(r) };
    const prev = r.responses?.[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) return { ok: false, current: null };
    return { ok: true, kv: { ...toKeyValue(prev), modRevision: Number(r.header.revision) } };
  }

  async currentRevision(): Promise<number> {
    const r = await this.#call<RangeResponse>("/v3/kv/range", {
      key: b64("\0"),
      count_only: true,
    });
    return Number(r.header.revision ?? 0);
  }

  /**
   * etcd does not report its compact revision directly; it is the oldest revision a read at a
   * past revision still accepts, found by binary search (about log2(revision) small reads).
   */
  async compactRevision(): Promise<number> {
    const current = await this.currentRevision();
    let lo = Math.max(1, this.#knownCompact);
    let hi = current;
    if (await this.#readableAt(lo)) return this.#knownCompact;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.#readableAt(mid)) hi = mid;
      else lo = mid + 1;
    }
    this.#knownCompact = Math.max(this.#knownCompact, lo);
    return lo;
  }

  /** etcd compaction (physical: it returns once the old revisions are gone). */
  async compact(revision: number): Promise<void> {
    try {
      await this.#call("/v3/kv/compaction", { revision, physical: true });
      this.#knownCompact = Math.max(this.#knownCompact, revision);
    } catch (err) {
      if (err instanceof EtcdError && /has been compacted/.test(err.message)) return;
      if (err instanceof EtcdError && /future revision/.test(err.message)) {
        throw new RangeError(`Cannot compact at revision ${revision}: ${err.message}`);
      }
      throw err;
    }
  }

  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<BackendEvent> {
    return this.#watch(prefix, afterRevision, signal);
  }

  /** Ends every watch (they fail with an error saying the store closed). */
  close(): Promise<void> {
    this.#closing.abort();
    return Promise.resolve();
  }

  async *#watch(
    prefix: string,
    afterRevision: number,
    signal: AbortSignal,
  ): AsyncGenerator<BackendEvent> {
    if (this.#closing.signal.aborted) throw new Error("the store is closed");
    const stop = AbortSignal.any([signal, this.#closing.signal]);
    let response: Response;
    try {
      response = await this.#fetch(`${this.#endpoint}/v3/watch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          create_request: {
            key: b64("\0"),
            range_end: b64("\0"),
            start_revision: String(afterRevision + 1),
            prev_kv: true,
          },
        }),
        signal: stop,
      });
    } catch (err) {
      if (signal.aborted) return;
      if (this.#closing.signal.aborted) throw new Error("the store was closed");
      throw err;
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      throw new EtcdError(`etcd watch failed (${response.status}): ${text}`, response.status);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // An aborted fetch does not always fail a pending read of its piped body: cancel the reader
    // so the loop below ends at once (a server stopping waits for every watch to end).
    const cancel = () => reader.cancel().catch(() => {});
    stop.addEventListener("abort", cancel, { once: true });
    let buffer = "";
    let seen = afterRevision;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (signal.aborted) return;
          if (this.#closing.signal.aborted) throw new Error("the store was closed");
          throw err;
        }
        if (chunk.done) {
          if (signal.aborted) return;
          throw new Error("etcd ended the watch stream");
        }
        buffer += chunk.value;
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line === "") continue;
          const message = JSON.parse(line) as { result?: WatchResult; error?: unknown };
          if (!message.result) throw new EtcdError(`etcd watch error: ${line}`, 0);
          const result = message.result;
          if (result.canceled) {
            if (result.compact_revision) {
              const compacted = Number(result.compact_revision);
              this.#knownCompact = Math.max(this.#knownCompact, compacted);
              throw new CompactedError(seen, compacted);
            }
            throw new EtcdError(`etcd canceled the watch: ${result.cancel_reason ?? ""}`, 0);
          }
          // Creation: the events after afterRevision follow. Compaction cancels instead.
          if (result.created) {
            // A fresh etcd is at revision 1 with no event behind it: nothing will ever arrive
            // to say revision 1 was delivered, so say it here (a watch cache waits for it).
            const head = Number(result.header?.revision ?? 0);
            if (head === 1 && seen < 1) {
              seen = 1;
              yield { type: "progress", revision: 1 };
            }
            continue;
          }
          let last = seen;
          let lastWasChange = false;
          for (const e of result.events ?? []) {
            const revision = Number(e.kv.mod_revision ?? 0);
            last = Math.max(last, revision);
            lastWasChange = false;
            const key = unb64(e.kv.key);
            if (!key.startsWith(prefix)) continue;
            lastWasChange = true;
            if (e.type === "DELETE") {
              const prev = e.prev_kv ? toKeyValue(e.prev_kv) : undefined;
              yield {
                type: "delete",
                kv: {
                  key,
                  value: prev?.value ?? "",
                  createRevision: prev?.createRevision ?? 0,
                  modRevision: revision,
                },
                prevKv: prev,
              };
            } else {
              const kv = toKeyValue(e.kv);
              yield e.prev_kv
                ? { type: "put", kv, prevKv: toKeyValue(e.prev_kv) }
                : { type: "put", kv };
            }
          }
          if (last > seen) {
            seen = last;
            if (!lastWasChange) yield { type: "progress", revision: last };
          }
        }
      }
    } finally {
      stop.removeEventListener("abort", cancel);
      await reader.cancel().catch(() => {});
    }
  }

  async #readableAt(revision: number): Promise<boolean> {
    try {
      await this.#call("/v3/kv/range", { key: b64("\0"), count_only: true, revision });
      return true;
    } catch (err) {
      if (err instanceof EtcdError && /has been compacted/.test(err.message)) return false;
      throw err;
    }
  }

  #txn(body: Record<string, unknown>): Promise<TxnResponse> {
    return this.#call<TxnResponse>("/v3/kv/txn", body);
  }

  async #call<T>(path: string, body: Record<string, unknown>): Promise<T> {
    const response = await this.#fetch(`${this.#endpoint}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new EtcdError(`etcd ${path} answered ${response.status}: ${text}`, response.status);
    }
    if (!response.ok || typeof parsed.error === "string") {
      const message = String(parsed.message ?? parsed.error ?? text);
      this.#logger.debug("etcd error", { path, message });
      throw new EtcdError(message, Number(parsed.code ?? response.status));
    }
    return parsed as T;
  }
}

/** The key's current value from a failed transaction's range, or null. */
function currentOf(r: TxnResponse): KeyValue | null {
  const kvs = r.responses?.[0]?.response_range?.kvs;
  return kvs?.length ? toKeyValue(kvs[0]) : null;
}
