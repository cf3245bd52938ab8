/**
 * The garbage collector: a graph of every object's ownerReferences across the watched kinds.
 * An object whose owners are all gone is deleted (Background cascade); an owner being deleted
 * with the `foregroundDeletion` finalizer has its dependents deleted first, then loses the
 * finalizer; one with the `orphan` finalizer has its dependents' references to it stripped,
 * then loses the finalizer. Owners absent from the graph are confirmed with a live GET before
 * anything is deleted, so a slow watch never causes a wrong deletion.
 */
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { resourceForKind, RESOURCES } from "../../shared/api/resources.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { Informer } from "../../shared/informer.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import type { InformerSet } from "./informer_set.ts";

const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";
/** How long a foreground-deleted owner must stay without dependents before it may go. */
const SETTLE_MS = 300;

/** Kinds the collector watches: every listable, watchable kind but events and metrics. */
export function collectedResources(): ResourceRef[] {
  return RESOURCES.filter((r) =>
    r.verbs.includes("watch") && r.verbs.includes("delete") && r.plural !== "events" &&
    r.group !== "metrics.k8s.io"
  );
}

interface GraphNode {
  resource: ResourceRef;
  key: string;
  owners: OwnerReference[];
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
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("garbage-collector");
  const nodes = new Map<string, GraphNode>();
  const dependents = new Map<string, Set<string>>();
  const queue = new WorkQueue();
  const drainedAt = new Map<string, number>();
  const watched: Informer[] = [];
  const byResource = new Map<string, Informer>();

  const link = (uid: string, owners: OwnerReference[]) => {
    for (const o of owners) {
      let set = dependents.get(o.uid);
      if (!set) dependents.set(o.uid, set = new Set());
      set.add(uid);
    }
  };
  const unlink = (uid: string, owners: OwnerReference[]) => {
    for (const o of owners) {
      const set = dependents.get(o.uid);
      set?.delete(uid);
      if (set?.size === 0) dependents.delete(o.uid);
    }
  };
  const enqueueDependents = (uid: string) => {
    for (const d of dependents.get(uid) ?? []) queue.add(d);
  };

  for (const r of collectedResources()) {
    const inf = informers.get(r);
    watched.push(inf);
    byResource.set(`${r.group}/${r.plural}`, inf);
    const key = (o: KubeObject) =>
      o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
    const upsert = (o: KubeObject) => {
      const uid = o.metadata.uid;
      if (!uid) return;
      const owners = o.metadata.ownerReferences ?? [];
      const prev = nodes.get(uid);
      if (prev) unlink(uid, prev.owners);
      nodes.set(uid, { resource: r, key: key(o), owners });
      link(uid, owners);
      const f = o.metadata.finalizers ?? [];
      if (
        owners.length > 0 ||
        (o.metadata.deletionTimestamp && (f.includes(FOREGROUND) || f.includes(ORPHAN)))
      ) {
        queue.add(uid);
      }
      if (!prev) enqueueDependents(uid); // dependents that waited for a late-seen owner
    };
    inf.addEventHandler({
      onAdd: upsert,
      onUpdate: (_old, o) => upsert(o),
      onDelete: (o) => {
        const uid = o.metadata.uid;
        if (!uid) return;
        const prev = nodes.get(uid);
        if (prev) unlink(uid, prev.owners);
        nodes.delete(uid);
        drainedAt.delete(uid);
        enqueueDependents(uid);
        // Owners waiting in foreground deletion re-check whether dependents remain.
        for (const owner of o.metadata.ownerReferences ?? []) queue.add(owner.uid);
      },
    });
  }

  const objectOf = (uid: string): KubeObject | undefined => {
    const n = nodes.get(uid);
    if (!n) return undefined;
    return byResource.get(`${n.resource.group}/${n.resource.plural}`)?.get(n.key);
  };

  /** Whether the owner exists (same uid): the graph, else a live GET. */
  const ownerExists = async (owner: OwnerReference, namespace?: string): Promise<boolean> => {
    if (nodes.has(owner.uid)) return true;
    const r = resourceForKind(owner.apiVersion, owner.kind);
    if (!r) return true; // An unknown kind: never delete on a guess.
    try {
      const live = await client.get(r, owner.name, {
        namespace: r.namespaced ? namespace : undefined,
      });
      return live.metadata.uid === owner.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };

  const removeFinalizer = async (n: GraphNode, obj: KubeObject, finalizer: string) => {
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await client.patch(n.resource, obj.metadata.name!, {
        metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
      }, { namespace: obj.metadata.namespace, type: "merge" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const reconcile = async (uid: string) => {
    const n = nodes.get(uid);
    const obj = objectOf(uid);
    if (!n || !obj) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && finalizers.includes(ORPHAN)) {
      for (const d of [...(dependents.get(uid) ?? [])]) {
        const dn = nodes.get(d);
        const dep = objectOf(d);
        if (!dn || !dep) continue;
        const refs = (dep.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        try {
          await client.patch(dn.resource, dep.metadata.name!, {
            metadata: { uid: dep.metadata.uid, ownerReferences: refs },
          }, { namespace: dep.metadata.namespace, type: "merge" });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
      }
      await removeFinalizer(n, obj, ORPHAN);
      return;
    }
    if (obj.metadata.deletionTimestamp && finalizers.includes(FOREGROUND)) {
      const deps = [...(dependents.get(uid) ?? [])];
      for (const d of deps) {
        const dn = nodes.get(d);
        const dep = objectOf(d);
        if (!dn || !dep || dep.metadata.deletionTimestamp) continue;
        await deleteObject(dn, dep, "Foreground");
      }
      const remaining = deps.filter((d) => nodes.has(d));
      if (remaining.length > 0) {
        drainedAt.delete(uid);
        return;
      }
      // A dependent created just before the owner's deletion may not be in our graph yet (its
      // watch lags another's): only finish once the owner has stayed without dependents a moment.
      const since = drainedAt.get(uid);
      if (since === undefined || Date.now() - since < SETTLE_MS) {
        if (since === undefined) drainedAt.set(uid, Date.now());
        queue.addAfter(uid, SETTLE_MS);
        return;
      }
      drainedAt.delete(uid);
      await removeFinalizer(n, obj, FOREGROUND);
      return;
    }
    const owners = obj.metadata.ownerReferences ?? [];
    if (owners.length === 0) return;
    const absent: OwnerReference[] = [];
    for (const o of owners) {
      if (!(await ownerExists(o, obj.metadata.namespace))) absent.push(o);
    }
    if (absent.length === owners.length) {
      if (obj.metadata.deletionTimestamp) return;
      logger.debug("deleting dependent", { object: n.key, kind: n.resource.kind });
      await deleteObject(n, obj, "Background");
    } else if (absent.length > 0) {
      // Some owners are gone: drop the dangling references, keep the object.
      const gone = new Set(absent.map((o) => o.uid));
      try {
        await client.patch(n.resource, obj.metadata.name!, {
          metadata: {
            uid: obj.metadata.uid,
            ownerReferences: owners.filter((o) => !gone.has(o.uid)),
          },
        }, { namespace: obj.metadata.namespace, type: "merge" });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  };

  const deleteObject = async (
    n: GraphNode,
    obj: KubeObject,
    policy: "Background" | "Foreground",
  ) => {
    try {
      await client.delete(n.resource, obj.metadata.name!, {
        namespace: obj.metadata.namespace,
        propagationPolicy: policy,
        preconditions: { uid: obj.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  };

  await runController({
    name: "garbage-collector",
    queue,
    reconcile,
    informers: watched,
    workers: options.workers ?? 10,
    logger,
  }, signal);
}
