/**
 * The service proxy of one node (`skiff proxy`, and embedded in the agent): informers on
 * Services and Endpoints feed one work-queue key; each sync recomputes the desired listeners
 * (service_table.ts) and reconciles the open sockets (listener_set.ts). Bind failures and port
 * conflicts become Warning events on the Service; failed binds are retried every few seconds.
 */

import { z } from "zod";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { ApiClient } from "../shared/client/client.ts";
import { ENDPOINTS, SERVICES } from "../shared/client/refs.ts";
import { runController } from "../shared/controller.ts";
import { EventRecorder } from "../shared/events.ts";
import { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import { LoopbackAddresses } from "./loopback_addresses.ts";
import { isLoopbackCidr, localAddressChecker } from "./ip_address.ts";
import { ListenerSet } from "./listener_set.ts";
import { ProxyMetrics } from "./metrics.ts";
import { type DesiredListener, desiredListeners } from "./service_table.ts";

/** Configuration of the proxy (`skiff proxy` flags, or the agent's). */
export const ProxyConfig = z.object({
  /** API server URL; not needed when `client` is injected through {@linkcode RunProxyOptions}. */
  server: z.string().url().optional(),
  token: z.string().optional(),
  /** PEM of the cluster CA for an `https://` server. */
  caData: z.string().optional(),
  /** This node's name (event source); defaults to the node address. */
  nodeName: z.string().optional(),
  /** This node's address: where NodePorts listen. */
  nodeAddress: z.string().min(1).default("127.0.0.1"),
  /** The cluster's service CIDR; a loopback CIDR means ClusterIPs are bound directly. */
  serviceCidr: z.string().default("10.43.0.0/16"),
  /** Time allowed for connecting to one backend before trying the next. */
  connectTimeoutMs: z.number().int().positive().default(1000),
  /** Idle time after which a UDP session closes. */
  udpIdleTimeoutMs: z.number().int().positive().default(30_000),
  /** Most UDP sessions per service port. */
  udpMaxSessions: z.number().int().positive().default(4096),
  /**
   * Listen on ClusterIPs and external IPs (addresses not tied to this node). Simulated nodes
   * sharing one host must leave this on for one of them only, or they fight over the sockets.
   */
  clusterWideListeners: z.boolean().default(true),
  /** How often listeners that failed to bind are retried. */
  bindRetryMs: z.number().int().positive().default(5_000),
});
/** Parsed proxy configuration. */
export type ProxyConfig = z.infer<typeof ProxyConfig>;
/** Proxy configuration before defaults. */
export type ProxyConfigInput = z.input<typeof ProxyConfig>;

/** Extra wiring for {@linkcode runProxy}. */
export interface RunProxyOptions {
  logger?: Logger;
  /** A client to use instead of building one from `server`/`token` (the agent shares its own). */
  client?: ApiClient;
  /** Transport to the API server when the client is built here (in-process tests). */
  fetch?: typeof fetch;
  /** Counters registry to fill (the metrics endpoint renders it). */
  metrics?: ProxyMetrics;
  /**
   * Services and Endpoints informers shared with the node's other parts (the DNS, the agent's
   * service variables) and run by their owner; without them the proxy makes and runs its own.
   */
  informers?: { services: Informer<Service>; endpoints: Informer<Endpoints> };
  /** Called after every sync with the listeners bound and failed (tests, status). */
  onSync?: (state: { bound: string[]; failed: Map<string, string> }) => void;
}

/** Event reason for a service port the proxy could not open on this node. */
export const FAILED_TO_BIND_PORT = "FailedToBindPort";

const SYNC_KEY = "services";

function serviceRef(l: DesiredListener) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: l.service.namespace, name: l.service.name, uid: l.service.uid },
  };
}

/** Runs the proxy until `signal` aborts; resolves once every socket is closed. */
export async function runProxy(
  config: ProxyConfig,
  signal: AbortSignal,
  options: RunProxyOptions = {},
): Promise<void> {
  const nodeName = config.nodeName ?? config.nodeAddress;
  const log = (options.logger ?? silentLogger).child("proxy", { node: nodeName });
  let client = options.client;
  const ownClient = !client;
  if (!client) {
    if (!config.server) throw new Error("Cannot start the proxy: no API server URL");
    client = new ApiClient({
      server: config.server,
      token: config.token,
      caData: config.caData,
      fetch: options.fetch,
      userAgent: `skiff-proxy/${nodeName}`,
      logger: log,
    });
  }
  const events = new EventRecorder(client, {
    component: "skiff-proxy",
    host: nodeName,
    logger: log,
  });

  let local: LoopbackAddresses | undefined;
  if (!isLoopbackCidr(config.serviceCidr)) {
    if (LoopbackAddresses.privileged()) {
      local = new LoopbackAddresses({ logger: log });
    } else {
      log.warn("not root: ClusterIPs outside 127.0.0.0/8 cannot be made local", {
        serviceCidr: config.serviceCidr,
      });
    }
  }

  const listeners = new ListenerSet({
    connectTimeoutMs: config.connectTimeoutMs,
    udpIdleTimeoutMs: config.udpIdleTimeoutMs,
    udpMaxSessions: config.udpMaxSessions,
    metrics: options.metrics,
    logger: log,
    ensureAddress: local ? (ip) => local.add(ip) : undefined,
    releaseAddress: local ? (ip) => local.remove(ip) : undefined,
    onBindError: (l, err) =>
      events.record(
        serviceRef(l),
        "Warning",
        FAILED_TO_BIND_PORT,
        `Cannot listen on ${l.protocol} ${l.address}:${l.port} on node ${nodeName}: ${err.message}`,
      ),
  });

  const services = options.informers?.services ??
    new Informer<Service>(client, SERVICES, { logger: log });
  const endpoints = options.informers?.endpoints ??
    new Informer<Endpoints>(client, ENDPOINTS, { logger: log });
  const runInformers = options.informers ? [] : [services.run(signal), endpoints.run(signal)];
  const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 10_000 });
  const enqueue = () => queue.add(SYNC_KEY);
  for (const inf of [services, endpoints] as Informer[]) {
    inf.addEventHandler({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue });
  }

  const reportedConflicts = new Set<string>();
  const sync = async () => {
    const isLocal = localAddressChecker();
    const table = desiredListeners(
      services.list(),
      (ns, name) => endpoints.get(`${ns}/${name}`),
      {
        nodeAddress: config.nodeAddress,
        isLocalAddress: (ip) => ip === config.nodeAddress || isLocal(ip),
        clusterWide: config.clusterWideListeners,
      },
    );
    await listeners.reconcile(table.listeners);
    const current = new Set<string>();
    for (const c of table.conflicts) {
      const id = `${c.listener.service.namespace}/${c.listener.service.name} ${c.listener.key}`;
      current.add(id);
      if (reportedConflicts.has(id)) continue;
      reportedConflicts.add(id);
      log.warn("port claimed by another service", { listener: c.listener.key, heldBy: c.heldBy });
      events.record(
        serviceRef(c.listener),
        "Warning",
        FAILED_TO_BIND_PORT,
        `Cannot listen on ${c.listener.protocol} ${c.listener.address}:${c.listener.port} on node ${nodeName}: already used by service ${c.heldBy}`,
      );
    }
    for (const id of [...reportedConflicts]) if (!current.has(id)) reportedConflicts.delete(id);
    const failed = listeners.failed;
    if (failed.size > 0) queue.addAfter(SYNC_KEY, config.bindRetryMs);
    options.onSync?.({ bound: listeners.bound, failed });
  };

  log.info("proxy starting", { nodeAddress: config.nodeAddress, serviceCidr: config.serviceCidr });
  try {
    await Promise.all([
      ...runInformers,
      runController({
        name: "proxy-sync",
        queue,
        reconcile: sync,
        informers: [services, endpoints] as Informer[],
        logger: log,
      }, signal),
    ]);
  } finally {
    queue.shutDown();
    await listeners.close();
    await events.flush();
    if (ownClient) client.close();
    log.info("proxy stopped");
  }
}
