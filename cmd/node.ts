/**
 * One node's whole job in one process (`skiff agent`): gets the node's own credentials (stored
 * ones, or a join with the join token, which trusts the server's CA by the token's hash — see
 * agent/credentials.ts), then runs the node agent, the service proxy and the node-local DNS side
 * by side until the signal aborts. One Services and one Endpoints informer feed all three (the
 * proxy's listeners, the DNS records, the containers' service variables).
 */
import { ensureNodeCredentials } from "../agent/credentials.ts";
import { runAgent } from "../agent/run.ts";
import { AgentConfig } from "../agent/config.ts";
import { DEFAULT_CLUSTER_CIDR } from "../shared/default_networks.ts";
import { runProxy } from "../proxy/run.ts";
import { ProxyConfig, type RequestedProxyMode } from "../proxy/config.ts";
import { ProxyMetrics, renderPrometheus, renderProxyMode } from "../proxy/metrics.ts";
import { PROXY_MODE_ANNOTATION, resolveProxyMode } from "../proxy/proxy_mode.ts";
import type { Logger } from "../shared/log.ts";
import { ensureDockerEngine } from "./docker_engine.ts";
import { ensurePauseImage } from "../agent/pause_image.ts";
import { DnsConfig, dnsListenAddresses, runNodeLocalDns } from "../dns/mod.ts";
import type { Endpoints, Node, Service } from "../shared/api/core_v1.ts";
import { ApiClient } from "../shared/client/client.ts";
import { ENDPOINTS, NODES, SERVICES } from "../shared/client/refs.ts";
import { Informer } from "../shared/informer.ts";
import { InformerSnapshot } from "../agent/informer_snapshot.ts";
import { absolute } from "../agent/volumes.ts";
import { ServerFailover, serverUrlsOfEndpoints } from "../shared/client/server_failover.ts";

/**
 * A node's settings: the agent's, with `server` and `token` (a join token) needed only until the
 * node has joined (they are kept in `<dataDir>/credentials.json`).
 */
export type NodeConfig = Omit<AgentConfig, "server" | "token" | "caData"> & {
  server?: string;
  token?: string;
  caData?: string;
  /** The cluster's service CIDR, for the proxy (default 10.43.0.0/16). */
  serviceCidr?: string;
  /**
   * Proxy ClusterIPs and external IPs on this node (default true). Simulated nodes sharing one
   * host turn it off on all but one, as they would otherwise fight over the same sockets.
   */
  clusterWideListeners?: boolean;
  /** Port of the node-local DNS (53; tests may pick another). */
  dnsPort?: number;
  /** `--proxy-mode` (default auto: nftables where the kernel and `nft` allow it). */
  proxyMode?: RequestedProxyMode;
  /** `--proxy-nft-table`: the nftables mode's table (default `skiff`; one per agent on a host). */
  proxyNftTable?: string;
  /** Port of the node's Ingress HTTP listener (80; 0 disables). */
  ingressHttpPort?: number;
  /** Port of the node's Ingress HTTPS listener (443; 0 disables). */
  ingressHttpsPort?: number;
};

/** Options of {@linkcode runNode}. */
export interface RunNodeOptions {
  logger: Logger;
  /** In-process transport to a server in the same process (`skiff up`). */
  fetch?: typeof fetch;
  /** The CA when already known (same process as the server). */
  caPem?: string;
}

/** Runs agent (and proxy) for one node; resolves when both have stopped. */
export async function runNode(
  input: NodeConfig,
  signal: AbortSignal,
  options: RunNodeOptions,
): Promise<void> {
  await ensureDockerEngine(input.dockerSocket, options.logger);
  await ensurePauseImage(input.pauseImage, {
    dockerSocket: input.dockerSocket,
    logger: options.logger,
  });
  const creds = await ensureNodeCredentials({
    server: input.server,
    joinToken: input.token,
    nodeName: input.nodeName,
    dataDir: input.dataDir,
    caPem: input.caData ?? options.caPem,
    fetch: options.fetch,
    logger: options.logger,
    signal,
  });
  const {
    serviceCidr,
    clusterWideListeners,
    dnsPort,
    proxyMode,
    proxyNftTable,
    ingressHttpPort,
    ingressHttpsPort,
    ...agentInput
  } = input;
  const config = AgentConfig.parse({
    ...agentInput,
    // A flag wins over what the server said at the join.
    clusterCidr: input.clusterCidr ?? creds.clusterCidr,
    server: creds.server,
    token: creds.token,
    caData: creds.caPem,
    apiTokenSha256: creds.agentClientTokenSha256,
  });
  const proxy = ProxyConfig.parse({
    server: creds.server,
    token: creds.token,
    caData: creds.caPem,
    nodeName: input.nodeName,
    nodeAddress: input.nodeAddress,
    // The server tells joining nodes its Service CIDR; a flag can still override it.
    serviceCidr: serviceCidr ?? creds.serviceCidr,
    clusterWideListeners,
    ingressHttpPort,
    ingressHttpsPort,
    mode: proxyMode,
    nftTable: proxyNftTable,
    clusterCidr: config.clusterCidr ?? DEFAULT_CLUSTER_CIDR,
  });
  // Resolved before the agent registers the Node, which carries it as an annotation.
  const mode = await resolveProxyMode(proxy.mode, {
    serviceCidr: proxy.serviceCidr,
    logger: options.logger.child("proxy"),
  });
  // The node's two jobs share one lifetime: if either fails, stop the other too.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  // The proxy's counters are served by the agent API's /metrics.
  const metrics = new ProxyMetrics();
  // Several API servers: requests fail over between the servers the `kubernetes` Endpoints list.
  const failover: ServerFailover | undefined = options.fetch ? undefined : new ServerFailover({
    server: creds.server,
    caPem: creds.caPem,
    discover: (): string[] => serverUrlsOfEndpoints(endpoints.get("default/kubernetes")),
    logger: options.logger,
  });
  const apiFetch = options.fetch ?? failover!.fetch;
  // One client and one watch per kind for the proxy, the DNS and the service variables.
  const client = new ApiClient({
    server: creds.server,
    token: creds.token,
    caData: creds.caPem,
    fetch: apiFetch,
    userAgent: `skiff-proxy/${config.nodeName}`,
    logger: options.logger,
  });
  const services = new Informer<Service>(client, SERVICES, { logger: options.logger });
  const endpoints = new Informer<Endpoints>(client, ENDPOINTS, { logger: options.logger });
  // The node's own Node, for its podCIDR: the DNS listens on the pod bridge's gateway.
  const self = new Informer<Node>(client, NODES, {
    fieldSelector: `metadata.name=${config.nodeName}`,
    logger: options.logger,
  });
  // The proxy and the DNS serve what they last knew while the server is unreachable, also after
  // the node restarts during an outage: their informers start from the node's local copy.
  const stateDir = `${absolute(config.dataDir)}/state`;
  const snapshots = [
    new InformerSnapshot(services, { dir: stateDir, name: "services", logger: options.logger }),
    new InformerSnapshot(endpoints, { dir: stateDir, name: "endpoints", logger: options.logger }),
    new InformerSnapshot(self, { dir: stateDir, name: "self", logger: options.logger }),
  ];
  await Promise.all(snapshots.map((s) => s.seed()));
  const clusterDns = () => {
    const spec = self.get(config.nodeName)?.spec;
    const cidrs = spec?.podCIDRs?.length ? spec.podCIDRs : spec?.podCIDR ? [spec.podCIDR] : [];
    return dnsListenAddresses(config.clusterDns, cidrs);
  };
  const dns = DnsConfig.parse({
    clusterDomain: config.clusterDomain,
    resolvConf: config.resolvConf,
    port: dnsPort,
  });
  const all = [
    runAgent(config, stop.signal, {
      logger: options.logger,
      fetch: apiFetch,
      metricsText: () => renderPrometheus(metrics.snapshot()) + renderProxyMode(mode),
      services,
      clusterDns,
      nodeAnnotations: { [PROXY_MODE_ANNOTATION]: mode },
      proxyRelaysServices: mode === "userspace",
    }),
    runProxy(proxy, stop.signal, {
      logger: options.logger,
      client,
      metrics,
      informers: { services, endpoints },
      resolvedMode: mode,
      removeStaleTable: true,
      podCidr: () => self.get(config.nodeName)?.spec?.podCIDR,
    }),
    runNodeLocalDns(dns, stop.signal, {
      services,
      endpoints,
      addresses: clusterDns,
      logger: options.logger,
    }),
    services.run(stop.signal),
    endpoints.run(stop.signal),
    self.run(stop.signal),
    ...snapshots.map((s) => s.run(stop.signal)),
  ].map((p) =>
    p.catch((e) => {
      stop.abort();
      throw e;
    })
  );
  const results = await Promise.allSettled(all);
  client.close();
  failover?.close();
  signal.removeEventListener("abort", onAbort);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
