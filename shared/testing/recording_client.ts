/**
 * `RecordingClient`: a `ControllerClient` for unit tests, modelled on client-go's fake clientset.
 * Every call is recorded (verb, resource, namespace, name, subresource, body, options) in order;
 * results come from a small object tracker (objects the test seeds plus those created through
 * the client) unless a reactor registered with `on()` answers first — return a value to answer,
 * throw to fail the call, return `undefined` to fall through.
 *
 * ```ts
 * const client = new RecordingClient();
 * client.on("create", "pods", () => { throw new ForbiddenError("quota"); });
 * await reconciler.reconcile("default/web");
 * assert.deepEqual(client.actions(), ["create pods default", "update/status replicasets default/web"]);
 * ```
 */
import type { KubeList, KubeObject } from "../api/object.ts";
import type { ResourceRef } from "../api/resource_info.ts";
import type { DeleteOptions, ListOptions, PatchOptions, RequestOptions } from "../client/client.ts";
import type { ControllerClient } from "../client/controller_client.ts";
import { AlreadyExistsError, NotFoundError, type Status } from "../errors.ts";
import { parseSelector } from "../labels.ts";

/** The verbs recorded, as Kubernetes names them (`request` is a raw `ApiClient.request`). */
export type Verb =
  | "get"
  | "list"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deletecollection"
  | "request";

/** One recorded call. */
export interface RecordedCall {
  verb: Verb;
  /** The resource's plural (`pods`); for `request`, the HTTP method and path. */
  resource: string;
  namespace?: string;
  /** Absent for create (see `body`), list and deletecollection. */
  name?: string;
  /** `status` for `updateStatus` and status patches. */
  subresource?: string;
  /** What was sent: the object (create/update), the patch (patch), the request body. */
  body?: unknown;
  /** Patch, delete and list options as passed. */
  options?: unknown;
}

/**
 * Answers a call: return the result, throw an error (e.g. `new ConflictError(...)`) to fail it,
 * or return `undefined` to let the next reactor or the tracker answer.
 */
export type Reactor = (call: RecordedCall) => unknown;

/** A recording, reactor-driven fake of {@linkcode ControllerClient}. */
export class RecordingClient implements ControllerClient {
  /** Every call, in order. */
  readonly calls: RecordedCall[] = [];
  readonly #reactors: { verb: Verb | "*"; resource: string; fn: Reactor }[] = [];
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #seq = 0;

  /** Puts objects into the tracker (what `get`, `list` and `patch` see). */
  seed(r: ResourceRef, ...objects: KubeObject[]): this {
    for (const o of objects) this.#table(r.plural).set(keyOf(o), structuredClone(o));
    return this;
  }

  /** The tracked object of `r` with key `namespace/name`, as the fake server now holds it. */
  tracked<T extends KubeObject = KubeObject>(r: ResourceRef, key: string): T | undefined {
    return this.#objects.get(r.plural)?.get(key) as T | undefined;
  }

  /** Registers a reactor for `verb` (or `*`) on `resource` (a plural, or `*`); newest first. */
  on(verb: Verb | "*", resource: string, fn: Reactor): this {
    this.#reactors.unshift({ verb, resource, fn });
    return this;
  }

  /** Makes the next `times` (default 1) matching calls throw `err`. */
  fail(verb: Verb | "*", resource: string, err: Error, times = 1): this {
    let left = times;
    return this.on(verb, resource, () => {
      if (left <= 0) return undefined;
      left--;
      throw err;
    });
  }

  /** The calls other than get and list. */
  writes(): RecordedCall[] {
    return this.calls.filter((c) => c.verb !== "get" && c.verb !== "list");
  }

  /**
   * The writes as short strings, `verb[/subresource] resource namespace[/name]`, e.g.
   * `"create pods default"`, `"patch replicasets default/web-5d9c"` — handy for table tests.
   */
  actions(): string[] {
    return this.writes().map((c) => {
      const verb = c.subresource ? `${c.verb}/${c.subresource}` : c.verb;
      const where = [c.namespace, c.name].filter(Boolean).join("/");
      return where ? `${verb} ${c.resource} ${where}` : `${verb} ${c.resource}`;
    });
  }

  /** The bodies of the recorded writes with this verb and resource, typed for assertions. */
  bodies<T = KubeObject>(verb: Verb, resource: string): T[] {
    return this.writes().filter((c) => c.verb === verb && c.resource === resource)
      .map((c) => c.body as T);
  }

  /** Forgets the recorded calls (not the tracker or the reactors). */
  clear(): void {
    this.calls.length = 0;
  }

  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    return this.#call({ verb: "get", resource: r.plural, namespace: opts.namespace, name }, () => {
      const obj = this.#table(r.plural).get(joinKey(opts.namespace, name));
      if (!obj) throw new NotFoundError({ resource: r.plural, group: r.group, name });
      return structuredClone(obj);
    }) as Promise<T>;
  }

  list<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    const call: RecordedCall = {
      verb: "list",
      resource: r.plural,
      namespace: opts.namespace,
      options: opts,
    };
    return this.#call(call, () => {
      const selector = opts.labelSelector ? parseSelector(opts.labelSelector) : undefined;
      const items = [...this.#table(r.plural).values()].filter((o) =>
        (!opts.namespace || o.metadata.namespace === opts.namespace) &&
        (!selector || selector.matches(o.metadata.labels))
      );
      return { apiVersion: "v1", kind: "List", metadata: {}, items: structuredClone(items) };
    }) as Promise<KubeList<T>>;
  }

  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { namespace?: string; dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<T> {
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    const call: RecordedCall = {
      verb: "create",
      resource: r.plural,
      namespace,
      body: structuredClone(obj),
      options: opts,
    };
    return this.#call(call, () => {
      const seq = ++this.#seq;
      const name = obj.metadata.name ??
        `${obj.metadata.generateName ?? ""}${seq.toString(36).padStart(5, "0")}`;
      const table = this.#table(r.plural);
      const key = joinKey(namespace, name);
      if (table.has(key)) throw new AlreadyExistsError({ resource: r.plural, name });
      const stored = structuredClone(obj);
      stored.metadata = {
        ...stored.metadata,
        name,
        ...(namespace ? { namespace } : {}),
        uid: stored.metadata.uid ?? `uid-${seq}`,
        resourceVersion: String(seq),
      };
      table.set(key, stored);
      return structuredClone(stored);
    }) as Promise<T>;
  }

  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { subresource?: string } = {},
  ): Promise<T> {
    const { name, namespace } = obj.metadata;
    const call: RecordedCall = {
      verb: "update",
      resource: r.plural,
      namespace,
      name,
      subresource: opts.subresource,
      body: structuredClone(obj),
    };
    // Lenient where client-go's tracker is strict: updating an object the test never seeded
    // stores it, so tests need only seed what a reconciler reads back.
    return this.#call(call, () => this.#store(r, obj)) as Promise<T>;
  }

  updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    return this.update(r, obj, { subresource: "status" });
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    patch: unknown,
    opts: PatchOptions,
  ): Promise<T> {
    const call: RecordedCall = {
      verb: "patch",
      resource: r.plural,
      namespace: opts.namespace,
      name,
      subresource: opts.subresource,
      body: structuredClone(patch),
      options: opts,
    };
    return this.#call(call, () => {
      const key = joinKey(opts.namespace, name);
      const base = this.#table(r.plural).get(key) ??
        { metadata: { name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } };
      // Merge patches are applied to the tracked object; other patch types are recorded and the
      // object returned unchanged (assert on the recorded body instead).
      const merged = opts.type === "merge" || opts.type === "strategic"
        ? mergePatch(base, patch) as KubeObject
        : base;
      return this.#store(r, merged);
    }) as Promise<T>;
  }

  delete(r: ResourceRef, name: string, opts: DeleteOptions = {}): Promise<KubeObject | Status> {
    const call: RecordedCall = {
      verb: "delete",
      resource: r.plural,
      namespace: opts.namespace,
      name,
      options: opts,
    };
    return this.#call(call, () => {
      this.#table(r.plural).delete(joinKey(opts.namespace, name));
      return { kind: "Status", apiVersion: "v1", status: "Success", code: 200 } as Status;
    }) as Promise<KubeObject | Status>;
  }

  async deleteCollection(
    r: ResourceRef,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<void> {
    const call: RecordedCall = {
      verb: "deletecollection",
      resource: r.plural,
      namespace: opts.namespace,
      options: opts,
    };
    await this.#call(call, () => {
      const table = this.#table(r.plural);
      const selector = opts.labelSelector ? parseSelector(opts.labelSelector) : undefined;
      for (const [key, o] of table) {
        if (opts.namespace && o.metadata.namespace !== opts.namespace) continue;
        if (selector && !selector.matches(o.metadata.labels)) continue;
        table.delete(key);
      }
      return null;
    });
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const call: RecordedCall = {
      verb: "request",
      resource: `${method} ${path}`,
      body: opts.body,
      options: opts,
    };
    return this.#call(call, () => Response.json({})) as Promise<Response>;
  }

  #call(call: RecordedCall, tracker: () => unknown): Promise<unknown> {
    this.calls.push(call);
    try {
      for (const r of this.#reactors) {
        if (r.verb !== "*" && r.verb !== call.verb) continue;
        if (r.resource !== "*" && r.resource !== call.resource) continue;
        const out = r.fn(call);
        if (out !== undefined) return Promise.resolve(out);
      }
      return Promise.resolve(tracker());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #store(r: ResourceRef, obj: KubeObject): KubeObject {
    const stored = structuredClone(obj);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#seq) };
    this.#table(r.plural).set(keyOf(stored), stored);
    return structuredClone(stored);
  }

  #table(plural: string): Map<string, KubeObject> {
    let t = this.#objects.get(plural);
    if (!t) this.#objects.set(plural, t = new Map());
    return t;
  }
}

function keyOf(o: KubeObject): string {
  return joinKey(o.metadata.namespace, o.metadata.name ?? "");
}

function joinKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** RFC 7386 JSON merge patch (the tracker's only patch semantics). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target)
      ? { ...target as Record<string, unknown> }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
