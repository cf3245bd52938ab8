/**
 * The namespace controller: a namespace being deleted (`Terminating`) has every object in it
 * deleted; once nothing is left, the `kubernetes` finalizer is removed through the `finalize`
 * subresource and the namespace goes.
 *
 * `NamespaceReconciler.reconcile(name)` follows kube-controller-manager's namespace deleter:
 * `deleteAllContent` → `finalizeNamespace`; meanwhile the namespace's status carries its deletion
 * conditions (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining`, …) with Kubernetes'
 * reasons and messages, so `kubectl describe ns` tells what a stuck namespace waits for.
 */
import type { Namespace } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { errorFromResponse } from "../../shared/client/client.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { EVENTS, NAMESPACES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { rfc3339 } from "../../shared/time.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { collectedResources } from "./garbage_collector.ts";
import { customResourceInformers } from "./custom_resource_informers.ts";

/** How soon a namespace whose objects are still going away is looked at again. */
export const RECHECK_MS = 1000;

/** One namespaced kind and its lister. */
export interface NamespacedContent {
  resource: ResourceRef;
  lister: Lister<KubeObject>;
}

/** What {@linkcode NamespaceReconciler} reads and writes with. */
export interface NamespaceReconcilerOptions {
  listers: { namespaces: Lister<Namespace>; contents: NamespacedContent[] };
  client: ControllerClient;
  /** Re-queues a namespace after `ms` (objects still terminating). */
  enqueueAfter?: (name: string, ms: number) => void;
  logger?: Logger;
}

/** Empties and finalizes Terminating namespaces. */
export class NamespaceReconciler {
  readonly #namespaces: Lister<Namespace>;
  readonly #contents: NamespacedContent[];
  readonly #client: ControllerClient;
  readonly #enqueueAfter: (name: string, ms: number) => void;
  readonly #logger: Logger;

  constructor(o: NamespaceReconcilerOptions) {
    this.#namespaces = o.listers.namespaces;
    this.#contents = o.listers.contents;
    this.#client = o.client;
    this.#enqueueAfter = o.enqueueAfter ?? (() => {});
    this.#logger = o.logger ?? silentLogger;
  }

  /** `name` is a namespace's name. */
  async reconcile(name: string): Promise<void> {
    const ns = this.#namespaces.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    await this.updateConditions(ns);
    const remaining = await this.deleteAllContent(name);
    if (remaining > 0) {
      // Pods with a grace period or objects with finalizers take a while: look again soon.
      this.#enqueueAfter(name, RECHECK_MS);
      return;
    }
    await this.finalizeNamespace(ns);
  }

  /**
   * deleteAllContent: deletes the collection of every kind with objects in the namespace
   * (skipping kinds whose objects are all terminating already); returns how many remain.
   */
  async deleteAllContent(name: string): Promise<number> {
    let remaining = 0;
    for (const { resource, lister } of this.#contents) {
      const objs = lister.listNamespace(name);
      remaining += objs.length;
      if (objs.length === 0 || objs.every((o) => o.metadata.deletionTimestamp)) continue;
      try {
        await this.#client.deleteCollection(resource, { namespace: name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return remaining;
  }

  /**
   * Writes the namespace's deletion conditions (only when they changed): what content remains,
   * by resource, and which finalizers hold it, as kube-controller-manager words them.
   */
  async updateConditions(ns: Namespace): Promise<void> {
    const name = ns.metadata.name!;
    const remaining: string[] = [];
    const finalizers = new Map<string, number>();
    for (const { resource, lister } of this.#contents) {
      const objs = lister.listNamespace(name);
      if (objs.length === 0) continue;
      remaining.push(`${resource.plural}.${resource.group} has ${objs.length} resource instances`);
      for (const o of objs) {
        for (const f of o.metadata.finalizers ?? []) {
          finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
        }
      }
    }
    const held = [...finalizers].sort(([a], [b]) => a.localeCompare(b))
      .map(([f, n]) => `${f} in ${n} resource instances`);
    const wanted: [string, string, string, string][] = [
      [
        "NamespaceDeletionDiscoveryFailure",
        "False",
        "ResourcesDiscovered",
        "All resources successfully discovered",
      ],
      [
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
      ],
      [
        "NamespaceDeletionContentFailure",
        "False",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
      ],
      remaining.length > 0
        ? [
          "NamespaceContentRemaining",
          "True",
          "SomeResourcesRemain",
          `Some resources are remaining: ${remaining.sort().join(", ")}`,
        ]
        : [
          "NamespaceContentRemaining",
          "False",
          "ContentRemoved",
          "All content successfully removed",
        ],
      held.length > 0
        ? [
          "NamespaceFinalizersRemaining",
          "True",
          "SomeFinalizersRemain",
          `Some content in the namespace has finalizers remaining: ${held.join(", ")}`,
        ]
        : [
          "NamespaceFinalizersRemaining",
          "False",
          "ContentHasNoFinalizers",
          "All content-preserving finalizers finished",
        ],
    ];
    const current = ns.status?.conditions ?? [];
    const now = rfc3339();
    let changed = false;
    const conditions = wanted.map(([type, status, reason, message]) => {
      const had = current.find((c) => c.type === type);
      if (had && had.status === status && had.reason === reason && had.message === message) {
        return had;
      }
      changed = true;
      const since = had?.status === status ? had.lastTransitionTime : now;
      return { type, status, lastTransitionTime: since, reason, message };
    });
    if (!changed) return;
    try {
      await this.#client.updateStatus<Namespace>(NAMESPACES, {
        ...ns,
        apiVersion: "v1",
        kind: "Namespace",
        status: { ...ns.status, phase: "Terminating", conditions },
      } as Namespace);
    } catch (err) {
      // Gone, or a newer version in the cache soon: the next pass writes them.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** finalizeNamespace: deletes its events, then removes the `kubernetes` finalizer. */
  async finalizeNamespace(ns: Namespace): Promise<void> {
    const name = ns.metadata.name!;
    const current = ns.spec?.finalizers ?? [];
    const finalizers = current.filter((f) => f !== "kubernetes");
    if (finalizers.length === current.length) return;
    // Events are not watched (too many); they go last, without waiting.
    await this.#client.deleteCollection(EVENTS, { namespace: name }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    const res = await this.#client.request(
      "PUT",
      `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`,
      {
        body: { ...ns, apiVersion: "v1", kind: "Namespace", spec: { ...ns.spec, finalizers } },
      },
    );
    if (!res.ok && res.status !== 404) throw await errorFromResponse(res);
    await res.body?.cancel();
    this.#logger.info("namespace emptied and finalized", { namespace: name });
  }
}

/** Options of {@linkcode runNamespaceController}. */
export interface NamespaceControllerOptions {
  informers: InformerSet;
  logger?: Logger;
}

/** Runs the namespace controller until `signal` aborts. */
export async function runNamespaceController(
  options: NamespaceControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("namespace");
  const namespaces = informers.get<Namespace>(NAMESPACES);
  const contents = collectedResources().filter((r) => r.namespaced)
    .map((resource) => ({ resource, lister: informers.get(resource) }));
  const queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 5000 });
  const reconciler = new NamespaceReconciler({
    listers: { namespaces, contents },
    client: informers.client,
    enqueueAfter: (name, ms) => queue.addAfter(name, ms),
    logger,
  });
  namespaces.addEventHandler({
    onAdd: (ns) => ns.metadata.deletionTimestamp && queue.add(ns.metadata.name!),
    onUpdate: (_o, ns) => ns.metadata.deletionTimestamp && queue.add(ns.metadata.name!),
  });
  // As objects of a terminating namespace go, check whether it is empty yet.
  const requeueOnDelete = (lister: Informer<KubeObject>) =>
    lister.onDelete((o) => {
      const ns = o.metadata.namespace;
      if (ns && namespaces.get(ns)?.metadata.deletionTimestamp) queue.add(ns);
    });
  for (const { lister } of contents) requeueOnDelete(lister as Informer<KubeObject>);
  const builtIn = [...contents];
  // Namespaced custom resources are content too (`contents` is the reconciler's own list).
  const custom = customResourceInformers(informers, signal);
  custom.subscribe({
    onAdd: (k) => {
      if (!k.ref.namespaced) return;
      contents.push({ resource: k.ref, lister: k.informer });
      requeueOnDelete(k.informer);
    },
    onRemove: (k) => {
      const i = contents.findIndex((c) => c.lister === k.informer);
      if (i >= 0) contents.splice(i, 1);
    },
  });
  await runController({
    name: "namespace",
    queue,
    reconcile: (name) => reconciler.reconcile(name),
    informers: [namespaces, custom.crds, ...builtIn.map((c) => c.lister as Informer<KubeObject>)],
    logger,
  }, signal);
}
