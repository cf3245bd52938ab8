/**
 * Runs the node-local DNS inside the node's process: the Services and Endpoints informers the
 * proxy already runs (no second watch) feed one work-queue key whose sync rebuilds the
 * {@linkcode ClusterZone}; the listen addresses are an input computed by the caller (the gateway
 * of the node's pod bridge, or `--cluster-dns`) and re-read every few seconds, so the server
 * follows the node's podCIDR and retries addresses that could not be bound yet.
 */

import { z } from "zod";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { runController } from "../shared/controller.ts";
import type { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { readResolvConf } from "../shared/resolv_conf.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import { AnswerCache } from "./answer_cache.ts";
import { ClusterZone } from "./cluster_zone.ts";
import { NodeLocalDns } from "./dns_server.ts";
import { Upstream, type UpstreamServer } from "./upstream.ts";

/** Configuration of the node-local DNS (part of the agent's flags). */
export const DnsConfig = z.object({
  /** The cluster domain (`--cluster-domain`). */
  clusterDomain: z.string().min(1).default("cluster.local"),
  /** Port to answer on (53; tests use others). */
  port: z.number().int().min(0).max(65535).default(53),
  /** Where the node's own resolvers are read from. */
  resolvConf: z.string().default("/etc/resolv.conf"),
  /** Budget for one forwarded query across all upstream servers. */
  upstreamTimeoutMs: z.number().int().positive().default(2000),
  /** TTL of cluster records. */
  ttl: z.number().int().min(0).default(5),
  /** Entries in the cache of upstream answers. */
  cacheSize: z.number().int().positive().default(1000),
  /** How often the listen addresses are re-read and failed binds retried. */
  bindRetryMs: z.number().int().positive().default(2000),
});
/** Parsed DNS configuration. */
export type DnsConfig = z.infer<typeof DnsConfig>;

/** Wiring of {@linkcode runNodeLocalDns}. */
export interface RunDnsOptions {
  /** The node's Services informer (run by its owner). */
  services: Informer<Service>;
  /** The node's Endpoints informer (run by its owner). */
  endpoints: Informer<Endpoints>;
  /** The addresses to listen on now (empty: not yet known). */
  addresses: () => string[];
  /** Upstream servers instead of the resolv.conf ones (tests: a fake resolver on 127.0.0.x). */
  upstreams?: UpstreamServer[];
  logger?: Logger;
  /** Called with the server once it exists (tests, benchmarks). */
  onServer?: (server: NodeLocalDns) => void;
}

/** Runs the node-local DNS until `signal` aborts. */
export async function runNodeLocalDns(
  config: DnsConfig,
  signal: AbortSignal,
  options: RunDnsOptions,
): Promise<void> {
  const log = (options.logger ?? silentLogger).child("dns");
  const upstreams = options.upstreams ??
    (await readResolvConf(config.resolvConf)).nameservers.map((hostname) => ({
      hostname,
      port: 53,
    }));
  // One zone, changed per Service: a burst of 1,000 Service events rebuilding a whole zone each
  // time cost ~30 MB of RSS that V8 kept after the garbage was collected.
  const zone = new ClusterZone([], () => undefined, {
    domain: config.clusterDomain,
    ttl: config.ttl,
  });
  const server = new NodeLocalDns({
    zone,
    // Never forward to ourselves (a node whose resolv.conf names its own pod gateway).
    upstream: new Upstream({
      servers: upstreams.filter((u) => !options.addresses().includes(u.hostname)),
      timeoutMs: config.upstreamTimeoutMs,
      logger: log,
    }),
    cache: new AnswerCache({ maxEntries: config.cacheSize }),
    logger: log,
  });
  options.onServer?.(server);

  let reported = "";
  const bind = async () => {
    const failed = await server.listen(
      options.addresses().map((hostname) => ({ hostname, port: config.port })),
    );
    const text = [...failed].map(([k, v]) => `${k}: ${v}`).join("; ");
    if (text && text !== reported) log.warn("cannot listen for DNS yet", { failed: text });
    reported = text;
  };
  // Services and their Endpoints share a key (`namespace/name`); each sync replaces that one
  // Service's records from the caches.
  const queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 5_000 });
  const enqueue = (obj: { metadata: { namespace?: string; name?: string } }) =>
    queue.add(`${obj.metadata.namespace ?? "default"}/${obj.metadata.name ?? ""}`);
  for (const inf of [options.services, options.endpoints] as Informer[]) {
    inf.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, obj) => enqueue(obj),
      onDelete: enqueue,
    });
  }
  const timer = setInterval(
    () => bind().catch((e) => log.error("DNS bind", { error: e })),
    config.bindRetryMs,
  );
  log.info("node-local DNS starting", {
    domain: config.clusterDomain,
    upstreams: upstreams.map((u) => u.hostname).join(","),
  });
  try {
    await bind();
    await runController({
      name: "dns-zone",
      queue,
      reconcile: (key) => {
        const svc = options.services.get(key);
        if (svc) zone.setService(svc, options.endpoints.get(key));
        else zone.deleteService(key);
        return Promise.resolve();
      },
      informers: [options.services, options.endpoints] as Informer[],
      logger: log,
    }, signal);
  } finally {
    clearInterval(timer);
    queue.shutDown();
    await server.close();
    log.info("node-local DNS stopped");
  }
}
