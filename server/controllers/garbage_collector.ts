/**
 * The garbage collector: a graph of every object's ownerReferences across the watched kinds
 * (owner_graph.ts). An object whose owners are all gone is deleted (Background cascade); an
 * owner being deleted with the `foregroundDeletion` finalizer has its dependents deleted first,
 * then loses the finalizer; one with the `orphan` finalizer has its dependents' references to it
 * stripped, then loses the finalizer. Owners absent from the graph are confirmed with a live GET
 * before anything is deleted, so a slow watch never causes a wrong deletion.
 *
 * `GarbageCollector.reconcile(uid)` follows kube-controller-manager's workers:
 * `orphanDependents` | `processDeletingDependentsItem` | `attemptToDeleteItem`.
 */
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { resourceForKind, RESOURCES } from "../../shared/api/resources.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { FOREGROUND, type GraphNode, ORPHAN, OwnerGraph } from "./owner_graph.ts";
import { customResourceInformers } from "./custom_resource_informers.ts";

/** How long a foreground-deleted owner must stay without dependents before it may go. */
export const SETTLE_MS = 300;

/** Kinds the collector watches: every listable, watchable kind but events and metrics. */
export function collectedResources(): ResourceRef[] {
  const seen = new Set<string>();
  return RESOURCES.filter((r) => {
    // A kind served in two versions (autoscaling/v1 and v2) is watched once, at its first.
    const id = `${r.group}/${r.plural}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return r.verbs.includes("watch") && r.verbs.includes("delete") && r.plural !== "events" &&
      r.group !== "metrics.k8s.io";
  });
}

/** What {@linkcode GarbageCollector} reads and writes with. */
export interface GarbageCollectorReconcilerOptions {
  graph: OwnerGraph;
  /** The lister of a watched resource (objects are read by the graph node's key). */
  listerFor: (r: ResourceRef) => Lister<KubeObject> | undefined;
  client: ControllerClient;
  clock?: Clock;
  /** Re-queues `uid` after `ms` (the foreground settle time). */
  enqueueAfter?: (uid: string, ms: number) => void;
  /** The kind of an owner reference (default: the built-in kinds only). */
  resolveKind?: (apiVersion: string, kind: string) => ResourceRef | undefined;
  logger?: Logger;
}

/** Deletes objects whose owners are gone and carries out foreground and orphan deletions. */
export class GarbageCollector {
  readonly #graph: OwnerGraph;
  readonly #listerFor: (r: ResourceRef) => Lister<KubeObject> | undefined;
  readonly #client: ControllerClient;
  readonly #clock: Clock;
  readonly #enqueueAfter: (uid: string, ms: number) => void;
  readonly #logger: Logger;
  readonly #resolveKind: (apiVersion: string, kind: string) => ResourceRef | undefined;
  /** When a foreground-deleted owner was first seen without dependents. */
  readonly #drainedAt = new Map<string, number>();

  constructor(o: GarbageCollectorReconcilerOptions) {
    this.#graph = o.graph;
    this.#listerFor = o.listerFor;
    this.#client = o.client;
    this.#clock = o.clock ?? realClock;
    this.#enqueueAfter = o.enqueueAfter ?? (() => {});
    this.#logger = o.logger ?? silentLogger;
    this.#resolveKind = o.resolveKind ?? resourceForKind;
  }

  /** The cached object of a graph uid. */
  objectOf(uid: string): KubeObject | undefined {
    const n = this.#graph.node(uid);
    return n ? this.#listerFor(n.resource)?.get(n.key) : undefined;
  }

  /** Forgets per-object state of a deleted object. */
  forget(uid: string): void {
    this.#drainedAt.delete(uid);
  }

  /** `uid` is an object's uid (the graph's key). */
  async reconcile(uid: string): Promise<void> {
    const n = this.#graph.node(uid);
    const obj = this.objectOf(uid);
    if (!n || !obj) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && finalizers.includes(ORPHAN)) {
      await this.orphanDependents(uid);
      await this.removeFinalizer(n, obj, ORPHAN);
    } else if (obj.metadata.deletionTimestamp && finalizers.includes(FOREGROUND)) {
      await this.processDeletingDependentsItem(uid, n, obj);
    } else {
      await this.attemptToDeleteItem(n, obj);
    }
  }

  /** orphanDependents: strips the reference to `uid` from each of its dependents. */
  async orphanDependents(uid: string): Promise<void> {
    for (const d of this.#graph.dependentsOf(uid)) {
      const dn = this.#graph.node(d);
      const dep = this.objectOf(d);
      if (!dn || !dep) continue;
      const refs = (dep.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.#patchOwnerRefs(dn, dep, refs);
    }
  }

  /**
   * processDeletingDependentsItem: deletes the dependents of a foreground-deleted owner (in
   * foreground too), and removes its finalizer once it has stayed without dependents for
   * {@linkcode SETTLE_MS} — a dependent created just before the owner's deletion may not be in
   * the graph yet (its watch lags another's).
   */
  async processDeletingDependentsItem(uid: string, n: GraphNode, obj: KubeObject): Promise<void> {
    const deps = this.#graph.dependentsOf(uid);
    for (const d of deps) {
      const dn = this.#graph.node(d);
      const dep = this.objectOf(d);
      if (!dn || !dep || dep.metadata.deletionTimestamp) continue;
      await this.deleteObject(dn, dep, "Foreground");
    }
    if (deps.some((d) => this.#graph.has(d))) {
      this.#drainedAt.delete(uid);
      return;
    }
    const now = this.#clock.now();
    const since = this.#drainedAt.get(uid);
    if (since === undefined || now - since < SETTLE_MS) {
      if (since === undefined) this.#drainedAt.set(uid, now);
      this.#enqueueAfter(uid, SETTLE_MS);
      return;
    }
    this.#drainedAt.delete(uid);
    await this.removeFinalizer(n, obj, FOREGROUND);
  }

  /**
   * attemptToDeleteItem: an object all of whose owners are gone is deleted (Background); one
   * with some owners gone loses the dangling references.
   */
  async attemptToDeleteItem(n: GraphNode, obj: KubeObject): Promise<void> {
    const owners = obj.metadata.ownerReferences ?? [];
    if (owners.length === 0) return;
    const absent: OwnerReference[] = [];
    for (const o of owners) {
      if (!(await this.ownerExists(o, obj.metadata.namespace))) absent.push(o);
    }
    if (absent.length === owners.length) {
      if (obj.metadata.deletionTimestamp) return;
      this.#logger.debug("deleting dependent", { object: n.key, kind: n.resource.kind });
      await this.deleteObject(n, obj, "Background");
    } else if (absent.length > 0) {
      const gone = new Set(absent.map((o) => o.uid));
      await this.#patchOwnerRefs(n, obj, owners.filter((o) => !gone.has(o.uid)));
    }
  }

  /** Whether the owner exists (same uid): the graph, else a live GET. */
  async ownerExists(owner: OwnerReference, namespace?: string): Promise<boolean> {
    if (this.#graph.has(owner.uid)) return true;
    const r = this.#resolveKind(owner.apiVersion, owner.kind);
    if (!r) return true; // An unknown kind: never delete on a guess.
    try {
      const live = await this.#client.get(r, owner.name, {
        namespace: r.namespaced ? namespace : undefined,
      });
      return live.metadata.uid === owner.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Removes `finalizer` (resourceVersion-checked, so a concurrent change retries). */
  async removeFinalizer(n: GraphNode, obj: KubeObject, finalizer: string): Promise<void> {
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await this.#client.patch(n.resource, obj.metadata.name!, {
        metadata: {
          finalizers: finalizers.length > 0 ? finalizers : null,
          resourceVersion: obj.metadata.resourceVersion,
        },
      }, { namespace: obj.metadata.namespace, type: "merge" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes `obj` (uid-checked) with a propagation policy; gone or replaced counts as done. */
  async deleteObject(
    n: GraphNode,
    obj: KubeObject,
    policy: "Background" | "Foreground",
  ): Promise<void> {
    try {
      await this.#client.delete(n.resource, obj.metadata.name!, {
        namespace: obj.metadata.namespace,
        propagationPolicy: policy,
        preconditions: { uid: obj.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  async #patchOwnerRefs(n: GraphNode, obj: KubeObject, refs: OwnerReference[]): Promise<void> {
    try {
      await this.#client.patch(n.resource, obj.metadata.name!, {
        // No owner left: the field goes (null in a merge patch), as Kubernetes leaves it.
        metadata: { uid: obj.metadata.uid, ownerReferences: refs.length > 0 ? refs : null },
      }, { namespace: obj.metadata.namespace, type: "merge" });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}

/** Options of {@linkcode runGarbageCollector}. */
export interface GarbageCollectorOptions {
  informers: InformerSet;
  logger?: Logger;
  workers?: number;
}

/** Runs the garbage collector until `signal` aborts. */
export async function runGarbageCollector(
  options: GarbageCollectorOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("garbage-collector");
  const graph = new OwnerGraph();
  const queue = new WorkQueue();
  const byResource = new Map<string, Informer>();
  // Custom resources take part too: their informers come and go with their CRDs.
  const custom = customResourceInformers(informers, signal);
  const collector = new GarbageCollector({
    graph,
    listerFor: (r) => byResource.get(`${r.group}/${r.plural}`),
    client: informers.client,
    enqueueAfter: (uid, ms) => queue.addAfter(uid, ms),
    resolveKind: (apiVersion, kind) =>
      resourceForKind(apiVersion, kind) ?? custom.resolve(apiVersion, kind),
    logger,
  });
  const enqueue = (uids: string[]) => uids.forEach((u) => queue.add(u));
  const collect = (r: ResourceRef, inf: Informer) => {
    byResource.set(`${r.group}/${r.plural}`, inf);
    inf.addEventHandler({
      onAdd: (o) => enqueue(graph.upsert(r, o)),
      onUpdate: (_old, o) => enqueue(graph.upsert(r, o)),
      onDelete: (o) => {
        if (o.metadata.uid) collector.forget(o.metadata.uid);
        enqueue(graph.remove(o));
      },
    });
  };
  const builtIn = collectedResources().map((r) => {
    const inf = informers.get(r);
    collect(r, inf);
    return inf;
  });
  custom.subscribe({
    onAdd: (k) => collect(k.ref, k.informer),
    onRemove: (k) => {
      byResource.delete(`${k.ref.group}/${k.ref.plural}`);
      for (const o of k.informer.list()) enqueue(graph.remove(o));
    },
  });
  await runController({
    name: "garbage-collector",
    queue,
    reconcile: (uid) => collector.reconcile(uid),
    informers: [...builtIn, custom.crds],
    workers: options.workers ?? 10,
    logger,
  }, signal);
}
