/**
 * `FakeLister`: a `Lister` over objects a test hands it, with the same index semantics as the
 * informer (including the namespace index), so a reconciler's unit test reads exactly what it
 * would read from a synced cache.
 */
import { type KubeObject, objectKey } from "../api/object.ts";
import type { Selector } from "../labels.ts";
import { filterBySelector, type IndexFunc, type Lister, NAMESPACE_INDEX } from "../lister.ts";

/** An in-memory `Lister`; `set`/`delete` change its contents between reconciles. */
export class FakeLister<T extends KubeObject = KubeObject> implements Lister<T> {
  readonly #items = new Map<string, T>();
  readonly #indexes = new Map<string, IndexFunc<T>>();

  constructor(objects: T[] = []) {
    this.#indexes.set(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? ""]);
    for (const o of objects) this.set(o);
  }

  /** Adds or replaces an object (by its `namespace/name`). */
  set(obj: T): void {
    this.#items.set(objectKey(obj), obj);
  }

  /** Removes the object with `key`. */
  delete(key: string): void {
    this.#items.delete(key);
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(selector?: Selector): T[] {
    return filterBySelector([...this.#items.values()], selector);
  }

  listNamespace(namespace: string, selector?: Selector): T[] {
    return filterBySelector(this.byIndex(NAMESPACE_INDEX, namespace), selector);
  }

  byIndex(indexName: string, value: string): T[] {
    const fn = this.#indexes.get(indexName);
    if (!fn) throw new Error(`Cannot read index "${indexName}": no such indexer`);
    return [...this.#items.values()].filter((o) => fn(o).includes(value));
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (!this.#indexes.has(name)) this.#indexes.set(name, fn);
  }
}
