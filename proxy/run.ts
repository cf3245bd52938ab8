/**
 * The service proxy of one node (`skiff proxy`, and embedded in the agent): informers on
 * Services and Endpoints feed one work-queue key; each sync recomputes the desired listeners
 * (service_table.ts) and either reconciles the open sockets (listener_set.ts, userspace mode) or
 * replaces the node's nftables table in one transaction (nft_proxy.ts, nftables mode; see
 * proxy_mode.ts for which). Bind failures and port conflicts become Warning events on the
 * Service; failed binds are retried every few seconds.
 * With Ingress ports on, informers on Ingresses and IngressClasses feed a second key whose sync
 * rebuilds the ingress routes and certificates (ingress_sync.ts) for the node's HTTP/HTTPS
 * listeners (ingress_server.ts); a port that cannot be bound is a Warning event on the Ingresses.
 */

import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import type { Ingress, IngressClass } from "../shared/api/networking_v1.ts";
import { ApiClient } from "../shared/client/client.ts";
import { ENDPOINTS, INGRESS_CLASSES, INGRESSES, SERVICES } from "../shared/client/refs.ts";
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
import type { CommandRunner } from "../shared/command_runner.ts";
import { NftablesProxy } from "./nft_proxy.ts";
import { servicePorts } from "./nft_ruleset.ts";
import { resolveProxyMode } from "./proxy_mode.ts";
import type { ProxyConfig, ProxyMode } from "./config.ts";
import { ipv4NetContains, parseIpv4Net } from "../shared/ipv4_cidr.ts";
import { IngressServer } from "./ingress_server.ts";
import { IngressSync } from "./ingress_sync.ts";

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
  /** The mode already resolved by the caller (the node reports it before the proxy starts). */
  resolvedMode?: ProxyMode;
  /** Runs `nft`, `sysctl`, `conntrack` in nftables mode (tests: inside a network namespace). */
  run?: CommandRunner;
  /** This node's podCIDR once known (nftables mode: pods of this node need no masquerade). */
  podCidr?: () => string | undefined;
  /**
   * In userspace mode, delete the nftables table a previous nftables-mode run left (a mode
   * change). Only the node's own proxy sets this; an embedded proxy (tests) leaves the host's
   * ruleset alone.
   */
  removeStaleTable?: boolean;
}

/** Event reason for a service port the proxy could not open on this node. */
export const FAILED_TO_BIND_PORT = "FailedToBindPort";

const SYNC_KEY = "services";
const INGRESS_KEY = "ingress";

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

  const mode = options.resolvedMode ??
    await resolveProxyMode(config.mode, {
      serviceCidr: config.serviceCidr,
      run: options.run,
      logger: log,
    });
  const nft = new NftablesProxy(config.nftTable, { run: options.run, logger: log });
  if (
    mode === "userspace" && options.removeStaleTable && LoopbackAddresses.privileged() &&
    await nft.exists()
  ) {
    // A node switched from nftables mode: its table would DNAT in front of our sockets.
    await nft.remove();
    log.info("nftables rules of the previous proxy mode removed", { table: config.nftTable });
  }

  let local: LoopbackAddresses | undefined;
  if (mode === "userspace" && !isLoopbackCidr(config.serviceCidr)) {
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
  const loopbackNode = ipv4NetContains(parseIpv4Net("127.0.0.0/8")!, config.nodeAddress);
  let programmedPodCidr: string | undefined;
  const sync = async () => {
    const isLocal = localAddressChecker();
    const table = desiredListeners(
      services.list(),
      (ns, name) => endpoints.get(`${ns}/${name}`),
      {
        nodeAddress: config.nodeAddress,
        // The kernel DNATs external IPs wherever the network delivers them (as kube-proxy);
        // sockets can only be bound on this host's own addresses.
        isLocalAddress: mode === "nftables"
          ? () => true
          : (ip) => ip === config.nodeAddress || isLocal(ip),
        clusterWide: config.clusterWideListeners,
        sctp: mode === "nftables",
      },
    );
    if (mode === "nftables") {
      programmedPodCidr = options.podCidr?.();
      if (programmedPodCidr) await nft.ensureHairpin(programmedPodCidr, loopbackNode);
      await nft.apply(servicePorts(table.listeners.values()), {
        nodeName,
        // A node on a loopback address shares its host with other simulated nodes: NodePorts
        // on its own address only. A real node serves them on all of its addresses.
        nodePortAddresses: loopbackNode ? [config.nodeAddress] : "local",
        clusterCidr: config.clusterCidr,
        podCidr: programmedPodCidr,
      });
    } else {
      await listeners.reconcile(table.listeners);
    }
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
    options.onSync?.({
      bound: mode === "nftables" ? [...table.listeners.keys()] : listeners.bound,
      failed,
    });
  };
  // The podCIDR arrives with the Node, after the first sync: re-program when it does.
  // Pods come and go between syncs: their bridge ports need hairpin mode too.
  let ticks = 0;
  const podCidrWatch = mode === "nftables" && options.podCidr
    ? setInterval(() => {
      const podCidr = options.podCidr!();
      if (podCidr !== programmedPodCidr) queue.add(SYNC_KEY);
      else if (podCidr && ++ticks % 3 === 0) {
        nft.ensureHairpin(podCidr, loopbackNode).catch((e) =>
          log.warn("hairpin check failed", { error: (e as Error).message })
        );
      }
    }, 2_000)
    : undefined;

  // The node's ingress: only when a port is on, so that a node without it watches no Ingresses.
  const ingressOn = config.ingressHttpPort > 0 || config.ingressHttpsPort > 0;
  const ingresses = ingressOn
    ? new Informer<Ingress>(client, INGRESSES, { logger: log })
    : undefined;
  const ingressClasses = ingressOn
    ? new Informer<IngressClass>(client, INGRESS_CLASSES, { logger: log })
    : undefined;
  const ingressServer = ingressOn
    ? new IngressServer({
      hostname: config.nodeAddress,
      httpPort: config.ingressHttpPort,
      httpsPort: config.ingressHttpsPort,
      logger: log,
    })
    : undefined;
  const ingressSync = new IngressSync({
    client,
    logger: log,
    secretRefreshMs: config.ingressSecretRefreshMs,
  });
  const ingressInformers = ingresses && ingressClasses
    ? [ingresses as unknown as Informer, ingressClasses as unknown as Informer]
    : [];
  const enqueueIngress = () => queue.add(INGRESS_KEY);
  for (const inf of [services, endpoints, ...ingressInformers] as Informer[]) {
    if (ingressOn) {
      inf.addEventHandler({
        onAdd: enqueueIngress,
        onUpdate: enqueueIngress,
        onDelete: enqueueIngress,
      });
    }
  }
  // `namespace/name scheme:port` of the failures already reported, so each Ingress gets one
  // event per failing port (also an Ingress created while the port is failing).
  const reportedIngressFailures = new Set<string>();
  const syncIngress = async () => {
    if (!ingressServer || !ingresses || !ingressClasses) return;
    const served = ingressSync.served(ingresses.list(), ingressClasses.list());
    ingressServer.update(
      await ingressSync.state(served, {
        service: (ns, name) => services.get(`${ns}/${name}`),
        endpoints: (ns, name) => endpoints.get(`${ns}/${name}`),
      }),
    );
    const failed = await ingressServer.reconcile();
    if (failed.length > 0) {
      log.warn("ingress port not bound", {
        failed: failed.map((f) => `${f.scheme}:${f.port}: ${f.error.message}`).join("; "),
      });
    }
    const current = new Set<string>();
    for (const ing of served) {
      for (const f of failed) {
        const id = `${ing.metadata.namespace}/${ing.metadata.name} ${f.scheme}:${f.port}`;
        current.add(id);
        if (reportedIngressFailures.has(id)) continue;
        reportedIngressFailures.add(id);
        events.record(
          {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: {
              namespace: ing.metadata.namespace,
              name: ing.metadata.name,
              uid: ing.metadata.uid,
            },
          },
          "Warning",
          FAILED_TO_BIND_PORT,
          `Cannot listen on TCP ${config.nodeAddress}:${f.port} (${f.scheme}) on node ${nodeName}: ${f.error.message}`,
        );
      }
    }
    for (const id of [...reportedIngressFailures]) {
      if (!current.has(id)) reportedIngressFailures.delete(id);
    }
    if (failed.length > 0) queue.addAfter(INGRESS_KEY, config.bindRetryMs);
    const refresh = ingressSync.nextRefreshMs();
    if (refresh !== undefined) queue.addAfter(INGRESS_KEY, Math.max(refresh, 100));
  };

  log.info("proxy starting", {
    mode,
    nodeAddress: config.nodeAddress,
    serviceCidr: config.serviceCidr,
    ...(mode === "nftables" ? { table: `inet ${config.nftTable}` } : {}),
  });
  try {
    await Promise.all([
      ...runInformers,
      ...ingressInformers.map((i) => i.run(signal)),
      runController({
        name: "proxy-sync",
        queue,
        reconcile: (key) => key === INGRESS_KEY ? syncIngress() : sync(),
        informers: [services, endpoints, ...ingressInformers] as Informer[],
        logger: log,
      }, signal),
    ]);
  } finally {
    if (podCidrWatch !== undefined) clearInterval(podCidrWatch);
    queue.shutDown();
    await ingressServer?.close();
    await listeners.close();
    // nftables mode leaves its table: a restarting agent must not interrupt Service traffic.
    // It goes on a switch to userspace mode or with `skiff proxy --cleanup`.
    await events.flush();
    if (ownClient) client.close();
    log.info("proxy stopped");
  }
}
