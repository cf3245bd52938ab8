/**
 * Serves `?watch=true`: newline-delimited `{"type": ..., "object": ...}` events from the kind's
 * watch cache, exactly as kube-apiserver frames them. Without a resourceVersion (or with "0") the
 * current objects come first as ADDED events; with one, only changes after it, or a single ERROR
 * event carrying a 410 `Expired` Status when that version is older than the retained history.
 * Headers go out at once (kubectl's informers wait for them), the stream ends after
 * `timeoutSeconds`, and BOOKMARK events carry the latest revision when the client allows them.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { ApiError, BadRequestError, InternalError } from "../../shared/errors.ts";
import type { GenericRegistry } from "../registry/generic_registry.ts";
import { serialize } from "../store/watch_cache.ts";
import { selectorPredicate } from "./rest.ts";
import { includeObjectPolicy, wantsTable } from "./responses.ts";
import { tableFor } from "./tables/mod.ts";

/** Longest a watch stays open when the client gives no timeoutSeconds (kube-apiserver: 30-60 min). */
const DEFAULT_TIMEOUT_SECONDS = 1800;
/** How often a BOOKMARK is sent to clients that allow them. */
const BOOKMARK_INTERVAL_MS = 30_000;

const encoder = new TextEncoder();

/** Opens a watch stream on one resource (optionally one namespace). */
export function serveWatch(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace?: string,
): Response {
  const predicate = selectorPredicate(q, registry.info.kind);
  const rvParam = q.get("resourceVersion") ?? "";
  let afterRevision: number | undefined;
  if (rvParam !== "" && rvParam !== "0") {
    afterRevision = Number(rvParam);
    if (!Number.isInteger(afterRevision) || afterRevision < 0) {
      throw new BadRequestError(`resourceVersion: Invalid value: "${rvParam}": must be an integer`);
    }
  }
  const timeoutParam = q.get("timeoutSeconds");
  const timeoutSeconds = timeoutParam === null ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutParam);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
    throw new BadRequestError(`timeoutSeconds: Invalid value: "${timeoutParam}"`);
  }
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const info = registry.info;
  const asTable = wantsTable(req.headers.get("accept"));
  const includeObject = includeObjectPolicy(q.get("includeObject"));
  const store = registry.store;

  // A client that goes away cancels the body stream (`cancel` below), which stops the watch.
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const frame = (type: string, obj: KubeObject): Uint8Array => {
    let payload: string;
    if (type === "BOOKMARK") {
      payload = JSON.stringify({ kind: info.kind, apiVersion: apiVersionOf(info), ...obj });
    } else if (asTable && type !== "ERROR") {
      payload = JSON.stringify(tableFor(info, [obj], { includeObject }));
    } else {
      payload = serialize(obj);
    }
    return encoder.encode(`{"type":"${type}","object":${payload}}\n`);
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => stop.abort(), timeoutSeconds * 1000);
      (async () => {
        try {
          if (afterRevision === undefined) {
            const { items, revision } = store.list({ namespace, predicate });
            for (const item of items) controller.enqueue(frame("ADDED", item));
            afterRevision = revision;
          }
          const events = store.watch({
            namespace,
            afterRevision,
            predicate,
            signal: stop.signal,
            bookmarkIntervalMs: bookmarks ? BOOKMARK_INTERVAL_MS : undefined,
          });
          for await (const ev of events) controller.enqueue(frame(ev.type, ev.object));
        } catch (e) {
          if (!stop.signal.aborted) {
            const err = e instanceof ApiError ? e : new InternalError(String(e));
            try {
              controller.enqueue(frame("ERROR", err.toStatus() as unknown as KubeObject));
            } catch {
              // the client is already gone
            }
          }
        } finally {
          clearTimeout(timer);
          try {
            controller.close();
          } catch {
            // already closed by a cancelled client
          }
        }
      })();
    },
    cancel() {
      stop.abort();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    },
  });
}
