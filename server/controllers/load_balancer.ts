/**
 * The service load balancer controller (like k3s's built-in one): a `LoadBalancer` Service gets
 * `status.loadBalancer.ingress` from its `externalIPs`, else from the InternalIP addresses of
 * the Ready nodes — the proxy on every node serves the service's ports there. Services that
 * stop being LoadBalancers have the ingress cleared.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { NODES, SERVICES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { keyOf } from "./controller_utils.ts";
import type { InformerSet } from "./informer_set.ts";

/** The ingress list a LoadBalancer service should show, sorted. */
export function loadBalancerIngress(
  svc: KubeObject,
  nodes: readonly KubeObject[],
): { ip: string }[] {
  const external = (svc.spec?.externalIPs ?? []) as string[];
  let ips: string[];
  if (external.length > 0) {
    ips = [...external];
  } else {
    ips = [];
    for (const n of nodes) {
      const ready = (n.status?.conditions ?? []).some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      );
      if (!ready) continue;
      const addr = (n.status?.addresses ?? []).find((a: { type: string }) =>
        a.type === "InternalIP"
      );
      if (addr?.address) ips.push(addr.address);
    }
  }
  return [...new Set(ips)].sort().map((ip) => ({ ip }));
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
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("load-balancer");
  const services = informers.get(SERVICES);
  const nodes = informers.get(NODES);
  const queue = new WorkQueue();
  services.addEventHandler({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
  });
  const allLoadBalancers = () => {
    for (const s of services.list()) {
      if (s.spec?.type === "LoadBalancer") queue.add(keyOf(s));
    }
  };
  nodes.addEventHandler({
    onAdd: allLoadBalancers,
    onUpdate: (o, n) => {
      if (
        JSON.stringify([
          o.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status,
          o.status?.addresses,
        ]) !==
          JSON.stringify([
            n.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status,
            n.status?.addresses,
          ])
      ) {
        allLoadBalancers();
      }
    },
    onDelete: allLoadBalancers,
  });

  const reconcile = async (key: string) => {
    const svc = services.get(key);
    if (!svc) return;
    const current = (svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[];
    const want = svc.spec?.type === "LoadBalancer" ? loadBalancerIngress(svc, nodes.list()) : [];
    if (JSON.stringify(current.map((i) => i.ip)) === JSON.stringify(want.map((i) => i.ip))) return;
    try {
      await client.patch(SERVICES, svc.metadata.name!, {
        status: { loadBalancer: want.length ? { ingress: want } : {} },
      }, { namespace: svc.metadata.namespace, type: "merge", subresource: "status" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  await runController({
    name: "load-balancer",
    queue,
    reconcile,
    informers: [services, nodes],
    logger,
  }, signal);
}
