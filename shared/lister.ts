/**
 * The read side of a cache, as client-go's listers: get by key, list (optionally by label
 * selector), list one namespace, and look up a named index. The `Informer` implements it over its
 * watch-fed cache; tests use `FakeLister` (shared/testing/) over a fixed set of objects.
 * Reconcilers take `Lister`s, never `Informer`s, so they can be unit-tested without a server.
 */
import type { KubeObject } from "./api/object.ts";
import type { Selector } from "./labels.ts";

/** Computes the index values of an object, e.g. `(pod) => [pod.spec.nodeName ?? ""]`. */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

/** Index every lister has: objects by `metadata.namespace` (`""` for cluster-scoped kinds). */
export const NAMESPACE_INDEX = "namespace";

/** Pods by `spec.nodeName` (only bound pods are indexed): add with {@linkcode podNodeName}. */
export const NODE_NAME_INDEX = "nodeName";

/** {@linkcode NODE_NAME_INDEX}'s index function. */
export const podNodeName: IndexFunc<KubeObject> = (p) => p.spec?.nodeName ? [p.spec.nodeName] : [];

/** Read access to a cache of one kind. Returned objects are shared: never mutate them. */
export interface Lister<T extends KubeObject> {
  /** The object with key `namespace/name` (or `name` for cluster-scoped kinds). */
  get(key: string): T | undefined;
  /** Every object, or those whose labels match `selector`. */
  list(selector?: Selector): T[];
  /** The objects of one namespace, or those of it whose labels match `selector`. */
  listNamespace(namespace: string, selector?: Selector): T[];
  /** The objects whose index `indexName` includes `value`; throws for an unknown index. */
  byIndex(indexName: string, value: string): T[];
  /**
   * Adds a named index. A name that already exists is kept as it is (informers are shared, so
   * several controllers may add the same index; one name must always mean one index).
   * Reconcilers add the indexes they read in their constructor.
   */
  addIndexer(name: string, fn: IndexFunc<T>): void;
}

/** `objects` filtered by `selector` (all of them when it is absent). */
export function filterBySelector<T extends KubeObject>(objects: T[], selector?: Selector): T[] {
  if (!selector || selector.empty) return objects;
  return objects.filter((o) => selector.matches(o.metadata.labels));
}
