/**
 * One node's whole job in one process (`skiff agent`): gets the node's own credentials (stored
 * ones, or a join with the join token, which trusts the server's CA by the token's hash — see
 * agent/credentials.ts), then runs the node agent and the service proxy side by side until the
 * signal aborts.
 */
import { ensureNodeCredentials } from "../agent/credentials.ts";
import { AgentConfig, runAgent } from "../agent/run.ts";
import { ProxyConfig, runProxy } from "../proxy/run.ts";
import { ProxyMetrics, renderPrometheus } from "../proxy/metrics.ts";
import type { Logger } from "../shared/log.ts";
import { ensureDockerEngine } from "./docker_engine.ts";
import { ensurePauseImage } from "../agent/pause_image.ts";

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
  const { serviceCidr, clusterWideListeners, ...agentInput } = input;
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
  });
  // The node's two jobs share one lifetime: if either fails, stop the other too.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  // The proxy's counters are served by the agent API's /metrics.
  const metrics = new ProxyMetrics();
  const both = [
    runAgent(config, stop.signal, {
      logger: options.logger,
      fetch: options.fetch,
      metricsText: () => renderPrometheus(metrics.snapshot()),
    }),
    runProxy(proxy, stop.signal, { logger: options.logger, fetch: options.fetch, metrics }),
  ].map((p) =>
    p.catch((e) => {
      stop.abort();
      throw e;
    })
  );
  const results = await Promise.allSettled(both);
  signal.removeEventListener("abort", onAbort);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
