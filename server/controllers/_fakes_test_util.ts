/**
 * Fakes for the class-shaped controllers' unit tests, as client-go's `fake` clientset: a
 * `FakeLister` over a fixed set of objects (with the namespace and controller indexes the real
 * informers carry), a `RecordingClient` that records every write and answers like the API
 * (generateName, uid, NotFound), a recorder that keeps events, and a settable clock.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { AlreadyExistsError, NotFoundError } from "../../shared/errors.ts";
import type { Clock, ControllerClient, Lister, Recorder } from "./controller_deps.ts";
import { CONTROLLER_INDEX, controllerRef, orphanIndexValue } from "./controller_utils.ts";

/** A lister over `objects` (keyed `namespace/name`). */
export class FakeLister<T extends KubeObject = KubeObject> implements Lister<T> {
  readonly items = new Map<string, T>();
  constructor(objects: T[] = []) {
    for (const o of objects) this.set(o);
  }
  set(o: T): void {
    this.items.set(key(o), o);
  }
  get(k: string): T | undefined {
    return this.items.get(k);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  byIndex(indexName: string, value: string): T[] {
    return this.list().filter((o) => {
      if (indexName === "namespace") return (o.metadata.namespace ?? "") === value;
      if (indexName === CONTROLLER_INDEX) {
        const ref = controllerRef(o);
        return (ref ? ref.uid : orphanIndexValue(o.metadata.namespace ?? "")) === value;
      }
      throw new Error(`FakeLister: no index ${indexName}`);
    });
  }
}

/** One recorded write. */
export interface Call {
  verb: "create" | "update" | "updateStatus" | "patch" | "delete" | "get";
  resource: string;
  name: string;
  namespace?: string;
  object?: KubeObject;
  patch?: unknown;
}

/** A client that records writes; objects it holds answer `get`, missing ones 404. */
export class RecordingClient implements ControllerClient {
  readonly calls: Call[] = [];
  readonly objects = new Map<string, KubeObject>();
  #n = 0;
  /** Makes the next matching create fail with this error. */
  failCreate?: (r: ResourceRef, obj: KubeObject) => Error | undefined;

  /** Stores an object the client should know (e.g. for `get`). */
  put(r: ResourceRef, obj: KubeObject): void {
    this.objects.set(`${r.plural}/${key(obj)}`, obj);
  }

  /** Calls of one verb on one resource (`"pods"`). */
  of(verb: Call["verb"], resource: string): Call[] {
    return this.calls.filter((c) => c.verb === verb && c.resource === resource);
  }

  // deno-lint-ignore require-await
  async get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    this.calls.push({ verb: "get", resource: r.plural, name, namespace: opts.namespace });
    const o = this.objects.get(`${r.plural}/${opts.namespace ? `${opts.namespace}/` : ""}${name}`);
    if (!o) throw new NotFoundError({ resource: r.plural, name });
    return structuredClone(o) as T;
  }

  // deno-lint-ignore require-await
  async create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    const o = structuredClone(obj);
    o.metadata.namespace ??= opts.namespace;
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${(this.#n++).toString(36).padStart(5, "0")}`;
    }
    o.metadata.uid ??= `uid-${o.metadata.name}`;
    this.calls.push({
      verb: "create",
      resource: r.plural,
      name: o.metadata.name!,
      namespace: o.metadata.namespace,
      object: o,
    });
    const err = this.failCreate?.(r, o);
    if (err) throw err;
    const k = `${r.plural}/${key(o)}`;
    if (this.objects.has(k)) {
      throw new AlreadyExistsError({ resource: r.plural, name: o.metadata.name! });
    }
    this.objects.set(k, o);
    return structuredClone(o);
  }

  // deno-lint-ignore require-await
  async update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    this.calls.push({
      verb: "update",
      resource: r.plural,
      name: obj.metadata.name!,
      namespace: obj.metadata.namespace,
      object: structuredClone(obj),
    });
    this.objects.set(`${r.plural}/${key(obj)}`, structuredClone(obj));
    return structuredClone(obj);
  }

  // deno-lint-ignore require-await
  async updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    this.calls.push({
      verb: "updateStatus",
      resource: r.plural,
      name: obj.metadata.name!,
      namespace: obj.metadata.namespace,
      object: structuredClone(obj),
    });
    return structuredClone(obj);
  }

  // deno-lint-ignore require-await
  async patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    patch: unknown,
    opts: { namespace?: string },
  ): Promise<T> {
    this.calls.push({ verb: "patch", resource: r.plural, name, namespace: opts.namespace, patch });
    const o = this.objects.get(`${r.plural}/${opts.namespace ? `${opts.namespace}/` : ""}${name}`);
    const base = o ?? { metadata: { name, namespace: opts.namespace } };
    const p = patch as { metadata?: Record<string, unknown> };
    return { ...base, metadata: { ...base.metadata, ...p.metadata } } as T;
  }

  // deno-lint-ignore require-await
  async delete(
    r: ResourceRef,
    name: string,
    opts: { namespace?: string } = {},
  ): Promise<KubeObject> {
    this.calls.push({ verb: "delete", resource: r.plural, name, namespace: opts.namespace });
    this.objects.delete(`${r.plural}/${opts.namespace ? `${opts.namespace}/` : ""}${name}`);
    return { metadata: { name } };
  }
}

/** A recorder that keeps `reason: message` lines. */
export class FakeRecorder implements Recorder {
  readonly events: string[] = [];
  record(_obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${message}`);
  }
}

/** A clock the test moves. */
export class FakeClock implements Clock {
  constructor(public ms = Date.parse("2026-01-01T00:00:00Z")) {}
  now(): number {
    return this.ms;
  }
}

function key(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}
