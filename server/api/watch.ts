/**
 * Serves `?watch=true`: newline-delimited `{"type": ..., "object": ...}` events from the kind's
 * watch cache, exactly as kube-apiserver frames them. Without a resourceVersion (or with "0") the
 * current objects come first as ADDED events; with one, only changes after it, or a single ERROR
 * event carrying a 410 `Expired` Status when that version is older than the retained history.
 * Headers go out at once (kubectl's informers wait for them), the stream ends after
 * `timeoutSeconds`, and BOOKMARK events carry the latest revision when the client allows them.
 * A resourceVersion the cache has not reached is waited for up to 3 s, then answered with 504
 * `Timeout` (Too large resource version), as kube-apiserver does.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { ApiError, BadRequestError, InternalError } from "../../shared/errors.ts";
import type { GenericRegistry } from "../registry/generic_registry.ts";
import { serialize } from "../store/watch_cache.ts";
import { selectorPredicate } from "./rest.ts";
import {
  includeObjectPolicy,
  partialObjectMetadata,
  wantsMetadataOnly,
  wantsTable,
} from "./responses.ts";
import { tableFor } from "./tables/mod.ts";
import { parseResourceVersion, reachRevision, validateWatchOptions } from "./list_options.ts";

/** Longest a watch stays open when the client gives no timeoutSeconds (kube-apiserver: 30-60 min). */
const DEFAULT_TIMEOUT_SECONDS = 1800;
/** How often a BOOKMARK is sent to clients that allow them. */
const BOOKMARK_INTERVAL_MS = 30_000;

const encoder = new TextEncoder();

/**
 * The chunks a watch stream buffers ahead of its client. The stream is pull-driven: events are
 * taken from the watch cache only as the client reads, so a stuck client holds a cursor into the
 * cache's ring and these few chunks, and once the ring has moved past it, the next read gets an
 * ERROR event with 410 Expired.
 */
const STREAM_HIGH_WATER_MARK = 16;

/** Runs a stream controller call that throws once the client has cancelled the stream. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // the client is already gone
  }
}

/** Opens a watch stream on one resource (optionally one namespace). */
export async function serveWatch(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace?: string,
): Promise<Response> {
  validateWatchOptions(q);
  const predicate = selectorPredicate(q, registry.info.kind);
  let afterRevision = parseResourceVersion(q.get("resourceVersion"));
  const timeoutParam = q.get("timeoutSeconds");
  const timeoutSeconds = timeoutParam === null ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutParam);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
    throw new BadRequestError(`timeoutSeconds: Invalid value: "${timeoutParam}"`);
  }
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const info = registry.info;
  const asTable = wantsTable(req.headers.get("accept"));
  const metadataOnly = !asTable && wantsMetadataOnly(req.headers.get("accept"), false);
  const includeObject = includeObjectPolicy(q.get("includeObject"));
  const store = registry.store;

  // A resourceVersion from the future: wait a little for the cache to reach it, then 504.
  if (afterRevision !== undefined) await reachRevision(store, afterRevision);

  // The client going away cancels the body stream (`cancel` below), which stops the watch.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutSeconds * 1000);

  const frame = (type: string, obj: KubeObject): Uint8Array => {
    let payload: string;
    if (metadataOnly && type !== "ERROR") {
      payload = JSON.stringify(partialObjectMetadata(obj));
    } else if (type === "BOOKMARK") {
      payload = JSON.stringify({ kind: info.kind, apiVersion: apiVersionOf(info), ...obj });
    } else if (asTable && type !== "ERROR") {
      payload = JSON.stringify(tableFor(info, [obj], { includeObject }));
    } else {
      payload = serialize(obj);
    }
    return encoder.encode(`{"type":"${type}","object":${payload}}\n`);
  };

  // Initial ADDED events, then the cache's events, each taken only when the client reads.
  async function* events(): AsyncGenerator<Uint8Array> {
    if (afterRevision === undefined) {
      const { items, revision } = store.list({ namespace, predicate });
      for (const item of items) yield frame("ADDED", item);
      afterRevision = revision;
    }
    const watch = store.watch({
      namespace,
      afterRevision,
      predicate,
      signal: stop.signal,
      bookmarkIntervalMs: bookmarks ? BOOKMARK_INTERVAL_MS : undefined,
    });
    for await (const ev of watch) yield frame(ev.type, ev.object);
  }
  const source = events();
  let finished = false;
  const finish = () => {
    finished = true;
    clearTimeout(timer);
    stop.abort();
  };

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      let next: IteratorResult<Uint8Array>;
      try {
        next = await source.next();
      } catch (e) {
        // A 410 for a watcher the ring has left behind, or any other failure: one ERROR event.
        const aborted = stop.signal.aborted;
        finish();
        if (!aborted) {
          const err = e instanceof ApiError ? e : new InternalError(String(e));
          const status = err.toStatus() as unknown as KubeObject;
          safely(() => controller.enqueue(frame("ERROR", status)));
        }
        safely(() => controller.close());
        return;
      }
      if (next.done) {
        finish();
        safely(() => controller.close());
      } else if (!finished) {
        safely(() => controller.enqueue(next.value));
      }
    },
    cancel() {
      finish();
      source.return(undefined).catch(() => {});
    },
  }, new CountQueuingStrategy({ highWaterMark: STREAM_HIGH_WATER_MARK }));
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    },
  });
}
