/**
 * Incremental parser for a Kubernetes watch body: newline-delimited JSON
 * `{"type":...,"object":...}` arriving in arbitrary chunks (an event split across chunks, or
 * several in one). Used by `ApiClient.watch()`.
 */
import type { KubeObject, WatchEvent } from "../api/object.ts";
import { errorFromStatus, GoneError, type Status } from "../errors.ts";

/** Options for {@linkcode parseWatchStream}. */
export interface WatchStreamOptions {
  /** Aborting ends the iteration quietly and cancels the body. */
  signal?: AbortSignal;
}

/**
 * Yields the watch events of `body` as they arrive. The iteration ends when the server closes the
 * stream or `signal` aborts; the body is cancelled on abort, on early `break`, and on error, so
 * nothing is leaked.
 *
 * An `ERROR` event ends the watch by throwing: a Status with code 410 becomes a
 * {@linkcode GoneError} (the caller must re-list), any other Status the matching `ApiError`.
 * A line that is not valid JSON throws a `SyntaxError`.
 */
export async function* parseWatchStream<T extends KubeObject = KubeObject>(
  body: ReadableStream<Uint8Array>,
  options: WatchStreamOptions = {},
): AsyncGenerator<WatchEvent<T>, void, undefined> {
  const { signal } = options;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let finished = false;
  const onAbort = () => {
    reader.cancel().catch(() => {});
  };
  if (signal?.aborted) {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
    return;
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let buffer = "";
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      if (signal?.aborted) return;
      if (chunk.done) {
        finished = true;
        buffer += decoder.decode();
        if (buffer.trim() !== "") yield toEvent<T>(buffer);
        return;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim() === "") continue;
        yield toEvent<T>(line);
        if (signal?.aborted) return;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function toEvent<T extends KubeObject>(line: string): WatchEvent<T> {
  const event = JSON.parse(line) as WatchEvent<T>;
  if (event.type === "ERROR") {
    const status = (event.object ?? {}) as unknown as Partial<Status>;
    if (status.code === 410) {
      throw new GoneError(status.message ?? "too old resource version");
    }
    throw errorFromStatus(status, status.code ?? 500);
  }
  return event;
}
