/**
 * The Ingress status controller: an Ingress Skiff serves (class `skiff`, or no class while the
 * default class is Skiff's) gets `status.loadBalancer.ingress` = the InternalIP addresses of the
 * Ready nodes, since the proxy on every node serves it on ports 80 and 443. Written by the server
 * rather than by each agent so that one writer owns the list (no agents racing to add and remove
 * themselves). Ingresses of another controller's class are left alone.
 */
import type { Node } from "../../shared/api/core_v1.ts";
import { type Ingress, type IngressClass, servedBySkiff } from "../../shared/api/networking_v1.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { INGRESS_CLASSES, INGRESSES, NODES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { keyOf } from "./controller_utils.ts";
import { nodeChangeMatters, readyNodeIPs } from "./load_balancer.ts";

/** What {@linkcode IngressStatusReconciler} reads and writes with. */
export interface IngressStatusReconcilerOptions {
  listers: { ingresses: Lister<Ingress>; classes: Lister<IngressClass>; nodes: Lister<Node> };
  client: ControllerClient;
}

/** Writes the load-balancer status of the Ingresses Skiff serves. */
export class IngressStatusReconciler {
  readonly #ingresses: Lister<Ingress>;
  readonly #classes: Lister<IngressClass>;
  readonly #nodes: Lister<Node>;
  readonly #client: ControllerClient;

  constructor(o: IngressStatusReconcilerOptions) {
    this.#ingresses = o.listers.ingresses;
    this.#classes = o.listers.classes;
    this.#nodes = o.listers.nodes;
    this.#client = o.client;
  }

  /** Keys of every Ingress (a node or class change may move any of them). */
  allKeys(): string[] {
    return this.#ingresses.list().map(keyOf);
  }

  /**
   * Patches the ingress list when it differs from the wanted one. An Ingress that stops being
   * Skiff's (its class changed) has the addresses Skiff wrote cleared.
   */
  async reconcile(key: string): Promise<void> {
    const ing = this.#ingresses.get(key);
    if (!ing) return;
    const current = (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "");
    const serve = servedBySkiff(ing, this.#classes.list());
    if (!serve && current.length === 0) return;
    const want = serve ? readyNodeIPs(this.#nodes.list()) : [];
    if (JSON.stringify(current) === JSON.stringify(want)) return;
    try {
      await this.#client.patch(INGRESSES, ing.metadata.name!, {
        status: { loadBalancer: want.length ? { ingress: want.map((ip) => ({ ip })) } : {} },
      }, { namespace: ing.metadata.namespace, type: "merge", subresource: "status" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Options of {@linkcode runIngressStatusController}. */
export interface IngressStatusControllerOptions {
  informers: InformerSet;
  logger?: Logger;
}

/** Runs the Ingress status controller until `signal` aborts. */
export async function runIngressStatusController(
  options: IngressStatusControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("ingress-status");
  const ingresses = informers.get<Ingress>(INGRESSES);
  const classes = informers.get<IngressClass>(INGRESS_CLASSES);
  const nodes = informers.get<Node>(NODES);
  const queue = new WorkQueue();
  const reconciler = new IngressStatusReconciler({
    listers: { ingresses, classes, nodes },
    client: informers.client,
  });
  ingresses.addEventHandler({
    onAdd: (i) => queue.add(keyOf(i)),
    onUpdate: (_o, i) => queue.add(keyOf(i)),
  });
  const all = () => reconciler.allKeys().forEach((k) => queue.add(k));
  classes.addEventHandler({ onAdd: all, onUpdate: all, onDelete: all });
  nodes.addEventHandler({
    onAdd: all,
    onUpdate: (o, n) => nodeChangeMatters(o, n) && all(),
    onDelete: all,
  });
  await runController({
    name: "ingress-status",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [ingresses, classes, nodes],
    logger,
  }, signal);
}
