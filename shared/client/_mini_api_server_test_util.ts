/**
 * Test fixture: a tiny HTTP server on 127.0.0.1 that serves one namespaced resource (pods) the
 * Kubernetes way — get, paged list, create, update with conflicts, delete, and watch with resume,
 * bookmarks and 410 Gone after `compact()`. It lets the client and informer tests exercise real
 * sockets and real streams, and force what the real server rarely does on demand (close every
 * watch, expire history).
 */
import type { KubeObject, WatchEvent } from "../api/object.ts";
import {
  AlreadyExistsError,
  ApiError,
  ConflictError,
  GoneError,
  NotFoundError,
  UnauthorizedError,
} from "../errors.ts";

interface Watcher {
  namespace?: string;
  send(event: WatchEvent): void;
  close(): void;
}

/** A running fixture server. */
export interface MiniApiServer {
  url: string;
  /** Calls the handler in process (no socket), for `ClientOptions.fetch`. */
  fetch: typeof fetch;
  /** Watch requests received so far (each carries its query). */
  watchRequests: URLSearchParams[];
  /** Number of open watch streams. */
  readonly openWatches: number;
  /** Writes an object directly, as another client would (bumps the revision, notifies watches). */
  put(obj: KubeObject): KubeObject;
  /** Deletes directly; returns the deleted object. */
  remove(namespace: string, name: string): KubeObject | undefined;
  /** Sends a BOOKMARK at the current revision to every watch. */
  bookmark(): void;
  /** Forgets history up to the current revision: watches from older versions get 410. */
  compact(): void;
  /** Ends every open watch stream, as a server timeout or restart would. */
  closeWatches(): void;
  /** Next response to any request is this raw status + body (one-shot). */
  failNext(code: number, body: string): void;
  stop(): Promise<void>;
}

/** Starts the fixture; `token` makes it require `Authorization: Bearer <token>`. */
export function startMiniApiServer(options: { token?: string } = {}): MiniApiServer {
  const items = new Map<string, KubeObject>();
  const history: { rv: number; event: WatchEvent }[] = [];
  const watchers = new Set<Watcher>();
  const watchRequests: URLSearchParams[] = [];
  let revision = 10;
  let compacted = 0;
  let nextFailure: { code: number; body: string } | undefined;

  const keyOf = (ns: string, name: string) => `${ns}/${name}`;
  const record = (type: WatchEvent["type"], obj: KubeObject) => {
    const event = { type, object: structuredClone(obj) };
    history.push({ rv: Number(obj.metadata.resourceVersion), event });
    for (const w of watchers) {
      if (!w.namespace || w.namespace === obj.metadata.namespace) w.send(event);
    }
  };
  const put = (obj: KubeObject): KubeObject => {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++revision);
    stored.metadata.uid ??= crypto.randomUUID();
    const key = keyOf(stored.metadata.namespace!, stored.metadata.name!);
    const existed = items.has(key);
    items.set(key, stored);
    record(existed ? "MODIFIED" : "ADDED", stored);
    return stored;
  };
  const remove = (namespace: string, name: string): KubeObject | undefined => {
    const key = keyOf(namespace, name);
    const obj = items.get(key);
    if (!obj) return undefined;
    items.delete(key);
    const gone = { ...structuredClone(obj) };
    gone.metadata.resourceVersion = String(++revision);
    record("DELETED", gone);
    return gone;
  };

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });

  const watch = (url: URL, namespace: string | undefined): Response => {
    watchRequests.push(url.searchParams);
    const from = Number(url.searchParams.get("resourceVersion") ?? "0");
    const encoder = new TextEncoder();
    let watcher: Watcher;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        const send = (event: WatchEvent) => {
          if (open) controller.enqueue(encoder.encode(JSON.stringify(event) + "\n"));
        };
        const close = () => {
          if (!open) return;
          open = false;
          watchers.delete(watcher);
          controller.close();
        };
        watcher = { namespace, send, close };
        if (from > 0 && from < compacted) {
          send({
            type: "ERROR",
            object: new GoneError(`too old resource version: ${from}`)
              .toStatus() as unknown as KubeObject,
          });
          close();
          return;
        }
        if (from === 0) {
          for (const obj of items.values()) {
            if (!namespace || obj.metadata.namespace === namespace) {
              send({ type: "ADDED", object: obj });
            }
          }
        } else {
          for (const h of history) {
            if (h.rv > from && (!namespace || h.event.object.metadata.namespace === namespace)) {
              send(h.event);
            }
          }
        }
        watchers.add(watcher);
      },
      cancel() {
        watchers.delete(watcher);
      },
    });
    return new Response(stream, { headers: { "content-type": "application/json" } });
  };

  const handle = async (req: Request): Promise<Response> => {
    try {
      if (nextFailure) {
        const f = nextFailure;
        nextFailure = undefined;
        return new Response(f.body, { status: f.code });
      }
      if (options.token && req.headers.get("authorization") !== `Bearer ${options.token}`) {
        throw new UnauthorizedError();
      }
      const url = new URL(req.url);
      const m = url.pathname.match(/^\/api\/v1(?:\/namespaces\/([^/]+))?\/pods(?:\/([^/]+))?$/);
      if (!m) throw new NotFoundError({ resource: "paths", name: url.pathname });
      const namespace = m[1] ? decodeURIComponent(m[1]) : undefined;
      const name = m[2] ? decodeURIComponent(m[2]) : undefined;
      const subject = { resource: "pods", name };
      if (req.method === "GET" && !name && url.searchParams.get("watch") === "true") {
        return watch(url, namespace);
      }
      if (req.method === "GET" && !name) {
        const all = [...items.entries()]
          .filter(([, o]) => !namespace || o.metadata.namespace === namespace)
          .sort(([a], [b]) => a < b ? -1 : 1);
        const limit = Number(url.searchParams.get("limit") ?? "0");
        const start = Number(url.searchParams.get("continue") ?? "0");
        const end = limit > 0 ? start + limit : all.length;
        const page = all.slice(start, end).map(([, o]) => o);
        return json({
          apiVersion: "v1",
          kind: "PodList",
          metadata: {
            resourceVersion: String(revision),
            ...(end < all.length ? { continue: String(end) } : {}),
          },
          items: page,
        });
      }
      if (!namespace || !name && req.method !== "POST") {
        throw new ApiError(405, "MethodNotAllowed", "not supported by the fixture");
      }
      if (req.method === "GET") {
        const obj = items.get(keyOf(namespace, name!));
        if (!obj) throw new NotFoundError(subject);
        return json(obj);
      }
      if (req.method === "POST") {
        const obj = await req.json() as KubeObject;
        obj.metadata.namespace = namespace;
        if (items.has(keyOf(namespace, obj.metadata.name!))) {
          throw new AlreadyExistsError({ resource: "pods", name: obj.metadata.name });
        }
        return json(put(obj), 201);
      }
      if (req.method === "PUT") {
        const obj = await req.json() as KubeObject;
        const cur = items.get(keyOf(namespace, name!));
        if (!cur) throw new NotFoundError(subject);
        if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
          throw new ConflictError(
            subject,
            "the object has been modified; please apply your changes to the latest version and try again",
          );
        }
        return json(put(obj));
      }
      if (req.method === "DELETE") {
        await req.body?.cancel();
        const gone = remove(namespace, name!);
        if (!gone) throw new NotFoundError(subject);
        return json(gone);
      }
      throw new ApiError(405, "MethodNotAllowed", "not supported by the fixture");
    } catch (err) {
      if (err instanceof ApiError) return json(err.toStatus(), err.code);
      throw err;
    }
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    fetch: (input, init) => handle(new Request(input, init)),
    watchRequests,
    get openWatches() {
      return watchers.size;
    },
    put,
    remove,
    bookmark() {
      const event: WatchEvent = {
        type: "BOOKMARK",
        object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: String(revision) } },
      };
      for (const w of watchers) w.send(event);
    },
    compact() {
      compacted = revision;
      history.length = 0;
    },
    closeWatches() {
      for (const w of [...watchers]) w.close();
    },
    failNext(code, body) {
      nextFailure = { code, body };
    },
    async stop() {
      for (const w of [...watchers]) w.close();
      await server.shutdown();
    },
  };
}
