/**
 * The service load balancer controller (like k3s's built-in one): a `LoadBalancer` Service gets
 * `status.loadBalancer.ingress` from its `externalIPs`, else from the InternalIP addresses of
 * the Ready nodes — the proxy on every node serves the service's ports there. Services that
 * stop being LoadBalancers have the ingress cleared.
 */
import type { LoadBalancerIngress, Node, Service } from "../../shared/api/core_v1.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { NODES, SERVICES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { keyOf } from "./controller_utils.ts";

/** The ingress list a LoadBalancer service should show, sorted. */
export function loadBalancerIngress(svc: Service, nodes: readonly Node[]): { ip: string }[] {
  const external = svc.spec?.externalIPs ?? [];
  const ips = external.length > 0 ? [...external] : readyNodeIPs(nodes);
  return [...new Set(ips)].sort().map((ip) => ({ ip }));
}

/** The InternalIP addresses of the Ready nodes, sorted and unique (where every proxy serves). */
export function readyNodeIPs(nodes: readonly Node[]): string[] {
  const ips = nodes.filter(isReady).flatMap((n) => {
    const addr = n.status?.addresses?.find((a) => a.type === "InternalIP");
    return addr?.address ? [addr.address] : [];
  });
  return [...new Set(ips)].sort();
}

function isReady(n: Node): boolean {
  return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Whether a node change can change any ingress (readiness or addresses). */
export function nodeChangeMatters(old: Node, cur: Node): boolean {
  return isReady(old) !== isReady(cur) ||
    JSON.stringify(old.status?.addresses) !== JSON.stringify(cur.status?.addresses);
}

/** What {@linkcode LoadBalancerReconciler} reads and writes with. */
export interface LoadBalancerReconcilerOptions {
  listers: { services: Lister<Service>; nodes: Lister<Node> };
  client: ControllerClient;
}

/** Writes the ingress of LoadBalancer Services. */
export class LoadBalancerReconciler {
  readonly #services: Lister<Service>;
  readonly #nodes: Lister<Node>;
  readonly #client: ControllerClient;

  constructor(o: LoadBalancerReconcilerOptions) {
    this.#services = o.listers.services;
    this.#nodes = o.listers.nodes;
    this.#client = o.client;
  }

  /** Keys of every LoadBalancer Service (a node change may move all their ingress). */
  loadBalancerKeys(): string[] {
    return this.#services.list().filter((s) => s.spec?.type === "LoadBalancer").map(keyOf);
  }

  /** syncLoadBalancerStatus: patches the ingress when it differs from the wanted one. */
  async reconcile(key: string): Promise<void> {
    const svc = this.#services.get(key);
    if (!svc) return;
    const current: LoadBalancerIngress[] = svc.status?.loadBalancer?.ingress ?? [];
    const want = svc.spec?.type === "LoadBalancer"
      ? loadBalancerIngress(svc, this.#nodes.list())
      : [];
    if (JSON.stringify(current.map((i) => i.ip)) === JSON.stringify(want.map((i) => i.ip))) return;
    try {
      await this.#client.patch(SERVICES, svc.metadata.name!, {
        status: { loadBalancer: want.length ? { ingress: want } : {} },
      }, { namespace: svc.metadata.namespace, type: "merge", subresource: "status" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Options of {@linkcode runLoadBalancerController}. */
export interface LoadBalancerControllerOptions {
  informers: InformerSet;
  logger?: Logger;
}

/** Runs the LoadBalancer status controller until `signal` aborts. */
export async function runLoadBalancerController(
  options: LoadBalancerControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("load-balancer");
  const services = informers.get<Service>(SERVICES);
  const nodes = informers.get<Node>(NODES);
  const queue = new WorkQueue();
  const reconciler = new LoadBalancerReconciler({
    listers: { services, nodes },
    client: informers.client,
  });
  services.addEventHandler({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
  });
  const all = () => reconciler.loadBalancerKeys().forEach((k) => queue.add(k));
  nodes.addEventHandler({
    onAdd: all,
    onUpdate: (o, n) => nodeChangeMatters(o, n) && all(),
    onDelete: all,
  });
  await runController({
    name: "load-balancer",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [services, nodes],
    logger,
  }, signal);
}
