/**
 * The typed Kubernetes API client used by controllers, the scheduler, the agent, the proxy and
 * tests: get/list/create/update/patch/delete/watch on any `ResourceRef`, typed by generics, with
 * non-2xx responses turned back into the `ApiError` the server threw. `fetch` is injectable so
 * in-process controllers call the Hono app directly without a socket.
 */
import type { KubeList, KubeObject, WatchEvent } from "../api/object.ts";
import { collectionPath, objectPath, type ResourceRef } from "../api/resource_info.ts";
import { type ApiError, errorFromStatus, type Status } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { ControllerClient } from "./controller_client.ts";
import { parseWatchStream } from "./watch_stream.ts";

/** How to reach the API server. */
export interface ClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:6443`. */
  server: string;
  /** Bearer token sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** PEM of the CA that signed the server's certificate (for `https://` servers). */
  caData?: string;
  /** Replaces the global `fetch`, e.g. `(input, init) => app.fetch(new Request(input, init))`. */
  fetch?: typeof fetch;
  /** Sent as `User-Agent` (default `skiff`). */
  userAgent?: string;
  logger?: Logger;
}

/** Query values; `undefined` entries are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Options of {@linkcode ApiClient.request}. */
export interface RequestOptions {
  query?: Query;
  /** A string or bytes are sent as is; anything else as JSON. */
  body?: unknown;
  /** Content-Type of `body` (default `application/json`). */
  contentType?: string;
  /** Accept header (default `application/json`). */
  accept?: string;
  signal?: AbortSignal;
}

/** Options of {@linkcode ApiClient.list}. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

/** Options of {@linkcode ApiClient.watch}. */
export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Send only changes after this version; absent or `"0"` replays the current objects first. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /** Aborting ends the iteration and closes the connection. */
  signal: AbortSignal;
}

/** Options of {@linkcode ApiClient.patch}. */
export interface PatchOptions {
  namespace?: string;
  /** merge = JSON merge patch (RFC 7386), json = JSON patch (RFC 6902), apply = server-side apply. */
  type: "merge" | "json" | "strategic" | "apply";
  subresource?: string;
  fieldManager?: string;
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
}

/** Options of {@linkcode ApiClient.delete}. */
export interface DeleteOptions {
  namespace?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

const PATCH_CONTENT_TYPES: Record<PatchOptions["type"], string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** A Kubernetes REST client for any resource kind. */
export class ApiClient implements ControllerClient {
  readonly server: string;
  readonly #token?: string;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string;
  readonly #logger: Logger;
  readonly #httpClient?: Deno.HttpClient;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.#token = options.token;
    this.#userAgent = options.userAgent ?? "skiff";
    this.#logger = options.logger ?? silentLogger;
    if (options.fetch) {
      this.#fetch = options.fetch;
    } else if (options.caData) {
      // TLS with our own CA: a dedicated HTTP client that trusts it (must be closed: `close()`).
      const httpClient = Deno.createHttpClient({ caCerts: [options.caData] });
      this.#httpClient = httpClient;
      this.#fetch = (input, init) => fetch(input, { ...init, client: httpClient });
    } else {
      this.#fetch = (input, init) => fetch(input, init);
    }
  }

  /** Releases the TLS client, if one was created for `caData`. */
  close(): void {
    this.#httpClient?.close();
  }

  /** GET one object; throws a 404 `ApiError` (`isNotFound`) when it doesn't exist. */
  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    return this.#json<T>("GET", objectPath(r, name, opts));
  }

  /** LIST objects (one page when `limit` is set; follow `metadata.continue` for the next). */
  list<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.#json<KubeList<T>>("GET", collectionPath(r, opts.namespace), {
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
    });
  }

  /** POST a new object into `opts.namespace`, else `obj.metadata.namespace`. */
  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { namespace?: string; dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<T> {
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.#json<T>("POST", collectionPath(r, namespace), {
      body: obj,
      query: { dryRun: opts.dryRun ? "All" : undefined, fieldManager: opts.fieldManager },
    });
  }

  /**
   * PUT `obj` over the stored object named by its metadata; a stale
   * `metadata.resourceVersion` throws 409 Conflict (`isConflict`).
   */
  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { subresource?: string } = {},
  ): Promise<T> {
    const { name, namespace } = obj.metadata;
    if (!name) throw new TypeError(`Cannot update a ${r.kind} without metadata.name`);
    return this.#json<T>("PUT", objectPath(r, name, { namespace, subresource: opts.subresource }), {
      body: obj,
    });
  }

  /** PUT the `status` subresource (spec changes in `obj` are ignored by the server). */
  updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    return this.update(r, obj, { subresource: "status" });
  }

  /** PATCH one object with a merge, JSON, strategic-merge or apply patch. */
  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    patch: unknown,
    opts: PatchOptions,
  ): Promise<T> {
    const path = objectPath(r, name, { namespace: opts.namespace, subresource: opts.subresource });
    return this.#json<T>("PATCH", path, {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[opts.type],
      query: {
        fieldManager: opts.fieldManager ?? (opts.type === "apply" ? this.#userAgent : undefined),
        force: opts.force,
      },
    });
  }

  /**
   * DELETE one object. Resolves the object (still present while finalizers or a grace period
   * hold it, with `deletionTimestamp` set) or a success `Status`.
   */
  delete(r: ResourceRef, name: string, opts: DeleteOptions = {}): Promise<KubeObject | Status> {
    return this.#json<KubeObject | Status>("DELETE", objectPath(r, name, opts), {
      body: deleteOptionsBody(opts),
    });
  }

  /** DELETE every object of a collection that matches the selectors. */
  async deleteCollection(
    r: ResourceRef,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<void> {
    await this.#json("DELETE", collectionPath(r, opts.namespace), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
  }

  /**
   * WATCH a collection. Iterates the events until the server ends the stream (e.g. after
   * `timeoutSeconds`) or `opts.signal` aborts. Throws `GoneError` (code 410) when
   * `resourceVersion` is older than the server's history: re-list, then watch again.
   */
  async *watch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    opts: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    let res: Response;
    try {
      res = await this.#watchRequest(r, opts);
    } catch (err) {
      // Aborted before the response headers arrived: end quietly, as an abort does later on.
      if (opts.signal.aborted) return;
      throw err;
    }
    if (!res.ok) throw await errorFromResponse(res);
    if (!res.body) return;
    yield* parseWatchStream<T>(res.body, { signal: opts.signal });
  }

  #watchRequest(r: ResourceRef, opts: WatchOptions): Promise<Response> {
    return this.request("GET", collectionPath(r, opts.namespace), {
      query: {
        watch: "true",
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined,
        timeoutSeconds: opts.timeoutSeconds,
      },
      signal: opts.signal,
    });
  }

  /**
   * Raw request relative to the server (`/api/v1/namespaces/default/pods/web/log`), with the
   * client's auth. The response is returned as is, whatever its code: the caller must consume or
   * cancel its body. The escape hatch for logs, binding, scale, eviction.
   */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = new Headers({
      "Accept": opts.accept ?? "application/json",
      "User-Agent": this.#userAgent,
    });
    if (this.#token) headers.set("Authorization", `Bearer ${this.#token}`);
    let body: BodyInit | undefined;
    if (opts.body !== undefined) {
      headers.set("Content-Type", opts.contentType ?? "application/json");
      body = typeof opts.body === "string" || opts.body instanceof Uint8Array
        ? opts.body as BodyInit
        : JSON.stringify(opts.body);
    }
    return this.#fetch(this.server + path + queryString(opts.query), {
      method,
      headers,
      body,
      signal: opts.signal,
    });
  }

  async #json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (!res.ok) {
      const err = await errorFromResponse(res);
      this.#logger.debug("request failed", { method, path, code: err.code, reason: err.reason });
      throw err;
    }
    return await res.json() as T;
  }
}

function queryString(query?: Query): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined) params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

function deleteOptionsBody(opts: DeleteOptions): Record<string, unknown> | undefined {
  const body: Record<string, unknown> = {};
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
  if (opts.preconditions) body.preconditions = opts.preconditions;
  if (opts.dryRun) body.dryRun = ["All"];
  if (Object.keys(body).length === 0) return undefined;
  return { kind: "DeleteOptions", apiVersion: "v1", ...body };
}

/**
 * The `ApiError` for a non-2xx response: from its `Status` body when it has one, else from the
 * HTTP code and text. Always consumes the body.
 */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let status: Partial<Status> = {};
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && parsed.kind === "Status") status = parsed;
    else status = { message: text || res.statusText };
  } catch {
    status = { message: text.trim() || res.statusText || undefined };
  }
  return errorFromStatus(status, res.status);
}
