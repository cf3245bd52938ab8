/**
 * `skiff agent`: the node agent's configuration (one zod-parsed object, built by main.ts from
 * flags) and `runAgent()`, which wires the Docker wrapper, the pod informer, the per-pod sync
 * loop, probes, the image directory, node heartbeats and the agent API together and runs them
 * until the signal aborts.
 */

import { ApiClient, errorFromResponse } from "../shared/client/client.ts";
import {
  CONFIGMAPS,
  NODES,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  PODS,
  SECRETS,
} from "../shared/client/refs.ts";
import type { Node } from "../shared/api/core_v1.ts";
import { isNotFound } from "../shared/errors.ts";
import { EventRecorder } from "../shared/events.ts";
import { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import type { ResourceRef } from "../shared/api/resource_info.ts";
import { DockerRuntime } from "./docker_runtime.ts";
import { NodeHeartbeat } from "./heartbeat.ts";
import { serveAgentApi } from "./http_api.ts";
import { AgentMetrics } from "./agent_metrics.ts";
import { ImageManager } from "./image_manager.ts";
import { NodeNetwork } from "./node_network.ts";
import { runNetworkPolicies } from "./network_policy_watch.ts";
import { podNetworkName } from "./pod_network.ts";
import { PodSyncer } from "./pod_sync.ts";
import type { KeyValueSource, Pod } from "./pod_types.ts";
import { PodWorkers } from "./pod_workers.ts";
import { ProbeManager } from "./probes.ts";
import { absolute, type ObjectReader } from "./volumes.ts";
import { ServiceAccountTokens, type TokenRequester } from "./service_account_tokens.ts";
import { localPathRoot, runLocalPathCleaner } from "./local_path_cleaner.ts";
import { InformerSnapshot } from "./informer_snapshot.ts";
import { CachingObjectReader } from "./object_cache.ts";
import type { EnvService } from "./service_env.ts";
import type { AgentConfig } from "./config.ts";
import { DEFAULT_CLUSTER_CIDR } from "../shared/default_networks.ts";

/** Extra wiring for {@linkcode runAgent} (tests). */
export interface RunAgentOptions {
  logger?: Logger;
  /** Transport to the API server (default: real HTTP). */
  fetch?: typeof fetch;
  /** Called once the agent API listens, with its port. */
  onApiListening?: (port: number) => void;
  /** Prometheus text of counters kept beside the agent (the node's proxy), for GET /metrics. */
  metricsText?: () => string;
  /** Receives the node's pod network once it is in place (the proxy's node-local listeners). */
  onPodNetwork?: (network: NodeNetwork) => void;
  /**
   * The node's Services informer, shared with the proxy and the DNS (run by its owner), for
   * service environment variables. Without it containers get none.
   */
  services?: { list(): EnvService[]; hasSynced(): boolean };
  /** The node-local DNS addresses now (default: `config.clusterDns`). */
  clusterDns?: () => string[];
  /** Annotations the Node carries besides the agent's own (the node's proxy mode). */
  nodeAnnotations?: Record<string, string>;
  /**
   * True when the node's proxy relays Service traffic itself (userspace mode): NetworkPolicies
   * then see the node, not the client pod, on Service connections, and the agent says so.
   */
  proxyRelaysServices?: boolean;
}

function objectReader(client: ApiClient, tokens: ServiceAccountTokens): ObjectReader {
  const get = async (r: ResourceRef, namespace: string | undefined, name: string) => {
    try {
      return await client.get<KeyValueSource>(r, name, { namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return {
    getConfigMap: (ns, name) => get(CONFIGMAPS, ns, name),
    getSecret: (ns, name) => get(SECRETS, ns, name),
    getPersistentVolumeClaim: (ns, name) => get(PERSISTENT_VOLUME_CLAIMS, ns, name),
    getPersistentVolume: (name) => get(PERSISTENT_VOLUMES, undefined, name),
    serviceAccountToken: (pod, source) => tokens.token(pod, source),
  };
}

/** TokenRequest for a pod's ServiceAccount, with the node's credentials. */
function tokenRequester(client: ApiClient): TokenRequester {
  return async (namespace, serviceAccount, request) => {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/` +
      `${encodeURIComponent(serviceAccount)}/token`;
    const res = await client.request("POST", path, { body: request });
    if (!res.ok) throw await errorFromResponse(res);
    const answer = await res.json() as { status: { token: string; expirationTimestamp: string } };
    return answer.status;
  };
}

/** Runs the node agent until `signal` aborts; resolves once everything has stopped. */
export async function runAgent(
  config: AgentConfig,
  signal: AbortSignal,
  options: RunAgentOptions = {},
): Promise<void> {
  const log = (options.logger ?? silentLogger).child("agent", { node: config.nodeName });
  const dataDir = absolute(config.dataDir);
  await Deno.mkdir(`${dataDir}/pods`, { recursive: true });
  const metrics = new AgentMetrics();
  const rt = new DockerRuntime({
    nodeName: config.nodeName,
    socketPath: config.dockerSocket,
    onOperation: (op, failed) => metrics.runtimeOperation(op, failed),
    logger: log.child("docker"),
  });
  const client = new ApiClient({
    server: config.server,
    token: config.token,
    caData: config.caData,
    fetch: options.fetch,
    userAgent: `skiff-agent/${config.nodeName}`,
    logger: log,
  });
  const queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 30_000 });
  const tokens = new ServiceAccountTokens(tokenRequester(client));
  const informer = new Informer<Pod>(client, PODS, {
    fieldSelector: `spec.nodeName=${config.nodeName}`,
    logger: log,
  });
  // The node's local state (`<dataDir>/state`): its pods, the Nodes (its podCIDR, the routes to
  // the others) and the objects its pods read, so that it runs its pods without the server.
  const stateDir = `${dataDir}/state`;
  const reader = new CachingObjectReader({
    inner: objectReader(client, tokens),
    dir: `${stateDir}/objects`,
    logger: log,
  });
  const podSnapshot = new InformerSnapshot(informer, {
    dir: stateDir,
    name: "pods",
    // A Secret leaves the disk with the last pod that read it.
    onWritten: (pods) => reader.prune(pods),
    logger: log,
  });
  const events = new EventRecorder(client, {
    component: "kubelet",
    host: config.nodeName,
    logger: log,
  });
  const images = new ImageManager(rt, {
    backoffInitialMs: config.backoffInitialMs,
    backoffMaxMs: config.backoffMaxMs,
    logger: log.child("images"),
  });
  const probes = new ProbeManager({
    rt,
    onChange: (key) => queue.add(key),
    onFailure: (pod, _container, kind, output) =>
      events.record(
        { ...pod, apiVersion: "v1", kind: "Pod" },
        "Warning",
        "Unhealthy",
        `${kind[0].toUpperCase()}${kind.slice(1)} probe failed: ${output || "(no output)"}`.slice(
          0,
          1024,
        ),
      ),
    logger: log.child("probes"),
  });
  const clusterDns = options.clusterDns ?? (() => config.clusterDns);
  const syncer = new PodSyncer({
    rt,
    client,
    images,
    probes,
    events,
    reader,
    tokens,
    nodeName: config.nodeName,
    nodeAddress: config.nodeAddress,
    podNetwork: podNetworkName(config.nodeName),
    dataDir,
    pauseImage: config.pauseImage,
    backoff: {
      initialMs: config.backoffInitialMs,
      maxMs: config.backoffMaxMs,
      resetMs: config.backoffResetMs,
    },
    requeue: (key, ms) => queue.addAfter(key, ms),
    allowedUnsafeSysctls: config.allowedUnsafeSysctls,
    storageCheckMs: config.storageCheckMs,
    services: options.services,
    dns: {
      clusterDomain: config.clusterDomain,
      clusterDns,
      resolvConf: config.resolvConf,
    },
    metrics,
    logger: log.child("sync"),
  });
  const workers = new PodWorkers({
    informer,
    syncer,
    rt,
    queue,
    relistMs: config.relistMs,
    workers: config.workers,
    metrics,
    logger: log,
  });
  const api = serveAgentApi({
    rt,
    token: config.apiToken ?? config.token,
    tokenSha256: config.apiTokenSha256,
    nodeName: config.nodeName,
    nodeAddress: config.nodeAddress,
    metrics,
    metricsText: options.metricsText,
    hostname: config.nodeAddress,
    port: config.apiPort,
    logger: log.child("api"),
  }, signal);
  options.onApiListening?.(api.port);
  const heartbeat = new NodeHeartbeat({
    client,
    rt,
    dataDir,
    nodeName: config.nodeName,
    nodeAddress: config.nodeAddress,
    apiPort: api.port,
    localPathRoot: localPathRoot(dataDir),
    annotations: options.nodeAnnotations,
    leaseRenewMs: config.leaseRenewMs,
    statusCheckMs: config.statusCheckMs,
    networkError: () => network.current ? undefined : "waiting for the node's podCIDR",
    // Back from a time cut off: every pod's status is sent now, not at its next change.
    onReconnect: () => {
      for (const key of informer.keys()) queue.add(key);
    },
    logger: log.child("node"),
  });
  const nodes = new Informer<Node>(client, NODES, { logger: log });
  const nodeSnapshot = new InformerSnapshot(nodes, { dir: stateDir, name: "nodes", logger: log });
  const seeded = await Promise.all([podSnapshot.seed(), nodeSnapshot.seed()]);
  if (seeded[0] !== undefined) {
    log.info("loaded the node's local state", { pods: seeded[0], nodes: seeded[1] ?? 0 });
  }
  const network = new NodeNetwork({
    rt,
    nodes,
    nodeName: config.nodeName,
    clusterCidr: config.clusterCidr ?? DEFAULT_CLUSTER_CIDR,
    logger: log.child("network"),
  });
  options.onPodNetwork?.(network);
  // NetworkPolicies for this node's pods, in the kernel beside the pod network's rules (the
  // controller is loaded once a policy exists).
  const policies = {
    client,
    nodeName: config.nodeName,
    podCIDR: () => network.current?.podCIDR,
    networkReady: (s: AbortSignal) => network.ready(s),
    proxyRelaysServices: options.proxyRelaysServices,
    clusterDns,
    logger: log.child("netpol"),
  };
  log.info("agent starting", {
    server: config.server,
    address: config.nodeAddress,
    apiPort: api.port,
  });
  try {
    await Promise.all([
      informer.run(signal),
      nodes.run(signal),
      podSnapshot.run(signal),
      nodeSnapshot.run(signal),
      network.run(signal),
      runNetworkPolicies(policies, signal),
      // Pods get addresses from the node's podCIDR: none starts before the network is there.
      network.ready(signal).then(async (ready) => {
        if (!ready) return;
        // Ready now: say so at once rather than at the next status check.
        heartbeat.updateStatus(true).catch(() => {});
        await workers.run(signal);
      }),
      heartbeat.run(signal),
      runLocalPathCleaner({ client, nodeName: config.nodeName, dataDir, logger: log }, signal),
      images.watchImageDir(`${dataDir}/images`, signal, () => {
        // New images: retry pods waiting for them now, not after their back-off.
        images.resetBackoff();
        for (const key of informer.keys()) queue.add(key);
      }).catch((e) => log.error("stopped watching the images directory", { error: e })),
      api.finished,
    ]);
  } finally {
    metrics.close();
    await probes.stop();
    await events.flush();
    client.close();
    log.info("agent stopped");
  }
}
