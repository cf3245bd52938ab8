/**
 * Test doubles for controller unit tests (client-go's fake clientset is the model): a lister
 * over a fixed set of objects with the namespace and controller indexes, a client that records
 * every call and answers like the API server would, a recorder of events and a settable clock.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { NotFoundError } from "../../shared/errors.ts";
import { CONTROLLER_INDEX, controllerRef, orphanIndexValue } from "./controller_utils.ts";

/** A lister over `objects` (keys `namespace/name`). */
export class FakeLister {
  readonly #items = new Map<string, KubeObject>();

  constructor(objects: KubeObject[] = []) {
    for (const o of objects) this.#items.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  }

  /** Adds or replaces an object (as a watch event would). */
  set(obj: KubeObject): void {
    this.#items.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
  }

  get(key: string): KubeObject | undefined {
    return this.#items.get(key);
  }

  list(): KubeObject[] {
    return [...this.#items.values()];
  }

  byIndex(index: string, value: string): KubeObject[] {
    return this.list().filter((o) => {
      if (index === "namespace") return o.metadata.namespace === value;
      if (index === CONTROLLER_INDEX) {
        const ref = controllerRef(o);
        return ref ? ref.uid === value : orphanIndexValue(o.metadata.namespace ?? "") === value;
      }
      throw new Error(`no index ${index}`);
    });
  }
}

/** One recorded API call. */
export interface Call {
  verb: "create" | "delete" | "get" | "patch" | "updateStatus";
  resource: string;
  name?: string;
  namespace?: string;
  body?: unknown;
  options?: unknown;
}

/** A client that records calls; creates get a name (from generateName) and a uid. */
export class RecordingClient {
  readonly calls: Call[] = [];
  /** Names for which delete and get answer 404. */
  readonly missing = new Set<string>();
  /** Objects get returns, by name. */
  readonly objects = new Map<string, KubeObject>();
  #n = 0;

  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    const created = structuredClone(obj);
    created.metadata.name ??= `${created.metadata.generateName}${this.#n++}`;
    created.metadata.uid = `uid-${created.metadata.name}`;
    created.metadata.namespace ??= opts.namespace;
    this.calls.push({
      verb: "create",
      resource: r.plural,
      name: created.metadata.name,
      namespace: opts.namespace,
      body: created,
    });
    return Promise.resolve(created);
  }

  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    opts: { namespace?: string } = {},
  ): Promise<T> {
    this.calls.push({ verb: "get", resource: r.plural, name, namespace: opts.namespace });
    const obj = this.objects.get(name);
    if (!obj || this.missing.has(name)) {
      return Promise.reject(new NotFoundError({ resource: r.plural, name }));
    }
    return Promise.resolve(obj as T);
  }

  delete(r: ResourceRef, name: string, opts: { namespace?: string } = {}): Promise<KubeObject> {
    this.calls.push({
      verb: "delete",
      resource: r.plural,
      name,
      namespace: opts.namespace,
      options: opts,
    });
    if (this.missing.has(name)) {
      return Promise.reject(new NotFoundError({ resource: r.plural, name }));
    }
    return Promise.resolve({ metadata: { name } });
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    patch: unknown,
    opts: { namespace?: string; type: string },
  ): Promise<T> {
    this.calls.push({
      verb: "patch",
      resource: r.plural,
      name,
      namespace: opts.namespace,
      body: patch,
      options: { type: opts.type },
    });
    return Promise.resolve({ metadata: { name, namespace: opts.namespace } } as T);
  }

  updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    const body = structuredClone(obj);
    this.calls.push({
      verb: "updateStatus",
      resource: r.plural,
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      body,
    });
    return Promise.resolve(body);
  }

  /** The calls of one verb. */
  of(verb: Call["verb"]): Call[] {
    return this.calls.filter((c) => c.verb === verb);
  }

  /** The status of the last updateStatus call. */
  lastStatus(): Record<string, unknown> | undefined {
    const last = this.of("updateStatus").at(-1);
    return (last?.body as KubeObject | undefined)?.status;
  }
}

/** Records events as `Type Reason message`. */
export class FakeRecorder {
  readonly events: string[] = [];
  record(_obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${message}`);
  }
}

/** A clock that only moves when told. */
export class FakeClock {
  constructor(public ms = Date.parse("2026-01-01T00:00:00Z")) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
