/**
 * The namespace controller: a namespace being deleted (`Terminating`) has every object in it
 * deleted; once nothing is left, the `kubernetes` finalizer is removed through the `finalize`
 * subresource and the namespace goes.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { EVENTS, NAMESPACES } from "../../shared/client/refs.ts";
import { errorFromResponse } from "../../shared/client/client.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { Informer } from "../../shared/informer.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { collectedResources } from "./garbage_collector.ts";
import type { InformerSet } from "./informer_set.ts";

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
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("namespace");
  const namespaces = informers.get(NAMESPACES);
  const contents = collectedResources().filter((r) => r.namespaced);
  const contentInformers: Informer[] = contents.map((r) => informers.get(r));
  const queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 5000 });

  namespaces.addEventHandler({
    onAdd: (ns) => ns.metadata.deletionTimestamp && queue.add(ns.metadata.name!),
    onUpdate: (_o, ns) => ns.metadata.deletionTimestamp && queue.add(ns.metadata.name!),
  });
  // As objects of a terminating namespace go, check whether it is empty yet.
  for (const inf of contentInformers) {
    inf.onDelete((o: KubeObject) => {
      const ns = o.metadata.namespace;
      if (ns && namespaces.get(ns)?.metadata.deletionTimestamp) queue.add(ns);
    });
  }

  const reconcile = async (name: string) => {
    const ns = namespaces.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (let i = 0; i < contents.length; i++) {
      const objs = contentInformers[i].byIndex("namespace", name);
      if (objs.length === 0) continue;
      remaining += objs.length;
      if (objs.every((o) => o.metadata.deletionTimestamp)) continue;
      try {
        await client.deleteCollection(contents[i], { namespace: name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (remaining > 0) {
      // Pods with a grace period or objects with finalizers take a while: look again soon.
      queue.addAfter(name, 1000);
      return;
    }
    const finalizers = ((ns.spec?.finalizers ?? []) as string[]).filter((f) => f !== "kubernetes");
    if (finalizers.length === (ns.spec?.finalizers ?? []).length) return;
    // Events are not watched (too many); they go last, without waiting.
    await client.deleteCollection(EVENTS, { namespace: name }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    const res = await client.request(
      "PUT",
      `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`,
      {
        body: { ...ns, apiVersion: "v1", kind: "Namespace", spec: { ...ns.spec, finalizers } },
      },
    );
    if (!res.ok && res.status !== 404) throw await errorFromResponse(res);
    await res.body?.cancel();
    logger.info("namespace emptied and finalized", { namespace: name });
  };

  await runController({
    name: "namespace",
    queue,
    reconcile,
    informers: [namespaces, ...contentInformers],
    logger,
  }, signal);
}
