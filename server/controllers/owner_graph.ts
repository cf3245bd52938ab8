/**
 * The garbage collector's dependency graph (kube-controller-manager's GraphBuilder): for every
 * object seen by the watched informers, its resource, key and ownerReferences, and the reverse
 * edges owner uid → dependent uids. Fed by informer events; tells the caller which uids to
 * (re)consider. No I/O.
 */
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { keyOf } from "./controller_utils.ts";

/** The finalizer of a foreground deletion: dependents first, then the owner. */
export const FOREGROUND = "foregroundDeletion";
/** The finalizer of an orphaning deletion: dependents lose their reference, then the owner goes. */
export const ORPHAN = "orphan";

/** One object in the graph. */
export interface GraphNode {
  resource: ResourceRef;
  /** `namespace/name` (or `name`) in its informer. */
  key: string;
  owners: OwnerReference[];
}

/** Objects by uid and the dependents of each owner uid. */
export class OwnerGraph {
  readonly #nodes = new Map<string, GraphNode>();
  readonly #dependents = new Map<string, Set<string>>();

  /** The node of `uid`, if the graph has seen it. */
  node(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid);
  }

  /** Whether an object with `uid` is in the graph. */
  has(uid: string): boolean {
    return this.#nodes.has(uid);
  }

  /** The uids of the objects that name `uid` as an owner. */
  dependentsOf(uid: string): string[] {
    return [...(this.#dependents.get(uid) ?? [])];
  }

  /**
   * Adds or updates `obj`; returns the uids to reconcile: the object itself when it has owners
   * or is being deleted with a GC finalizer, and, when it is new, its dependents (which may have
   * waited for a late-seen owner).
   */
  upsert(resource: ResourceRef, obj: KubeObject): string[] {
    const uid = obj.metadata.uid;
    if (!uid) return [];
    const owners = obj.metadata.ownerReferences ?? [];
    const prev = this.#nodes.get(uid);
    if (prev) this.#unlink(uid, prev.owners);
    this.#nodes.set(uid, { resource, key: keyOf(obj), owners });
    this.#link(uid, owners);
    const out: string[] = [];
    const f = obj.metadata.finalizers ?? [];
    const gcDeleting = !!obj.metadata.deletionTimestamp &&
      (f.includes(FOREGROUND) || f.includes(ORPHAN));
    if (owners.length > 0 || gcDeleting) out.push(uid);
    if (!prev) out.push(...this.dependentsOf(uid));
    return out;
  }

  /**
   * Removes a deleted object; returns its dependents (their owner is gone) and its owners (one
   * in foreground deletion re-checks whether dependents remain).
   */
  remove(obj: KubeObject): string[] {
    const uid = obj.metadata.uid;
    if (!uid) return [];
    const prev = this.#nodes.get(uid);
    if (prev) this.#unlink(uid, prev.owners);
    this.#nodes.delete(uid);
    return [...this.dependentsOf(uid), ...(obj.metadata.ownerReferences ?? []).map((o) => o.uid)];
  }

  #link(uid: string, owners: OwnerReference[]): void {
    for (const o of owners) {
      let set = this.#dependents.get(o.uid);
      if (!set) this.#dependents.set(o.uid, set = new Set());
      set.add(uid);
    }
  }

  #unlink(uid: string, owners: OwnerReference[]): void {
    for (const o of owners) {
      const set = this.#dependents.get(o.uid);
      set?.delete(uid);
      if (set?.size === 0) this.#dependents.delete(o.uid);
    }
  }
}
