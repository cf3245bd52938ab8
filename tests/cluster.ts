/**
 * A whole test cluster in this process: a real API server (TLS, SQLite, scheduler, controllers)
 * and one real node per simulated address (127.0.0.11, 127.0.0.12, ...), each running the agent
 * (and the service proxy, once `runNode` embeds it) against the real Docker engine. Nodes run
 * in-process for speed; tests that must kill a node process use tests/server_process.ts-style
 * subprocesses instead. `stop()` removes every container the nodes made.
 */
import { runNode } from "../cmd/node.ts";
import { AgentConfig } from "../agent/config.ts";
import { podNetworkName } from "../agent/pod_network.ts";
import { HostGateway } from "../agent/host_gw.ts";
import { NetworkPolicyFirewall } from "../agent/network_policy_firewall.ts";
import { NftablesProxy } from "../proxy/nft_proxy.ts";
import { Logger } from "../shared/log.ts";
import { ensureTestImages } from "./images.ts";
import type { TestImages } from "./images.ts";
import { startTestServer, waitFor } from "./test_utils.ts";
import type { TestServer, TestServerOptions } from "./test_utils.ts";

/** One simulated node. */
export interface TestNode {
  name: string;
  address: string;
  dataDir: string;
  /** The agent API's port, bound by the agent (port 0) and read from its Node's status. */
  apiPort: number;
  /** Stops this node's agent (its containers keep running, as after a crash). */
  stop(): Promise<void>;
}

/** A running test cluster. */
export interface TestCluster {
  server: TestServer;
  nodes: TestNode[];
  images: TestImages;
  /** kubeconfig + a private kubectl cache dir, for tests/kubectl.ts. */
  kubectl: { kubeconfigPath: string; cacheDir: string };
  /** Stops nodes and server, removes containers and temp dirs. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startTestCluster}. */
export interface TestClusterOptions extends TestServerOptions {
  /**
   * Node addresses (default one node on 127.0.0.11); names are `node-<last octet>-<4 hex>`, the
   * suffix unique per cluster so that clusters of test files running at the same time never
   * share a node name (agents on one engine only tell their containers apart by it).
   */
  nodeAddresses?: string[];
  /**
   * The first part of the node names (default `node`) and, when given, of their data dirs, for
   * tests that keep to names of their own.
   */
  nodeNamePrefix?: string;
  /** Agent settings to shrink back-offs and periods in tests. */
  agent?: Partial<AgentConfig>;
  /**
   * Ingress ports of every node (default none: the tests' nodes share this host, and most
   * tests have no use for an ingress on ports 80/443).
   */
  ingress?: { httpPort: number; httpsPort: number };
  /**
   * The nodes' proxy mode (default `userspace`, the mode these tests were written against;
   * nftables-mode tests ask for it). In nftables mode each node gets its own table,
   * `skiff-<node name>`, and the test's `stop()` deletes them.
   */
  proxyMode?: "nftables" | "userspace";
}

/** The nftables table of a test node (nftables proxy mode): unique per node on the host. */
export function nftTableOf(nodeName: string): string {
  return `skiff-${nodeName}`.slice(0, 31);
}

/** Starts a server and its nodes, and waits until every node is Ready. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const images = await ensureTestImages();
  const server = await startTestServer(options);
  const logLevel = (Deno.env.get("SKIFF_TEST_LOG") as "debug" | undefined) ?? "error";
  const logger = new Logger({ level: logLevel, component: "test-node" });
  const nodes: TestNode[] = [];
  const runs: Promise<void>[] = [];
  const addresses = options.nodeAddresses ?? ["127.0.0.11"];
  const suffix = crypto.randomUUID().slice(0, 4);
  for (const [index, address] of addresses.entries()) {
    const name = `${options.nodeNamePrefix ?? "node"}-${address.split(".").pop()}-${suffix}`;
    const dataDir = await Deno.makeTempDir({
      prefix: options.nodeNamePrefix ? `${name}-` : `skiff-${name}-`,
    });
    const ac = new AbortController();
    const config = AgentConfig.parse({
      server: server.url,
      token: server.joinToken,
      caData: server.caPem,
      nodeName: name,
      nodeAddress: address,
      dataDir,
      apiPort: 0,
      pauseImage: images.pause,
      backoffInitialMs: 500,
      backoffMaxMs: 5_000,
      relistMs: 2_000,
      leaseRenewMs: 1_000,
      statusCheckMs: 2_000,
      ...options.agent,
    });
    const run = runNode(
      {
        ...config,
        serviceCidr: options.serviceCidr ?? "127.43.0.0/16",
        // All simulated nodes share this host's loopback: one of them serves ClusterIPs and
        // external IPs, as each real node would for itself.
        clusterWideListeners: index === 0,
        proxyMode: options.proxyMode ?? "userspace",
        proxyNftTable: nftTableOf(name),
        ingressHttpPort: options.ingress?.httpPort ?? 0,
        ingressHttpsPort: options.ingress?.httpsPort ?? 0,
      },
      ac.signal,
      { logger: logger.child(name), caPem: server.caPem },
    );
    runs.push(run);
    nodes.push({
      name,
      address,
      dataDir,
      apiPort: 0,
      async stop() {
        ac.abort();
        await run.catch(() => {});
      },
    });
  }
  const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
  const ready = await waitFor("every node Ready", async () => {
    const list = await server.client.list(
      { group: "", version: "v1", plural: "nodes", namespaced: false, kind: "Node" },
    );
    const ready = list.items.filter((n) =>
      n.status?.conditions?.some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      )
    );
    return ready.length === nodes.length && ready;
  }, { timeoutMs: 30_000 });
  // As kube-apiserver finds a kubelet: the port its Node reports.
  for (const node of nodes) {
    const n = ready.find((x) => x.metadata.name === node.name);
    node.apiPort = n?.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!node.apiPort) throw new Error(`Node ${node.name} reports no kubelet port`);
  }
  return {
    server,
    nodes,
    images,
    kubectl: { kubeconfigPath: server.kubeconfigPath, cacheDir },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await removeNodeContainers(nodes.map((n) => n.name));
      await server.stop();
      for (const n of nodes) await Deno.remove(n.dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Removes every container labelled with one of the node names (the agent's own label), then the
 * nodes' pod networks and firewall chains (NetworkPolicy ones too).
 */
export async function removeNodeContainers(nodeNames: string[]): Promise<void> {
  for (const name of nodeNames) {
    const ids = await new Deno.Command("docker", {
      args: ["ps", "-aq", "--filter", `label=io.skiff.node=${name}`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const list = new TextDecoder().decode(ids.stdout).split("\n").filter(Boolean);
    if (list.length) {
      await new Deno.Command("docker", {
        args: ["rm", "-f", ...list],
        stdout: "null",
        stderr: "null",
      })
        .output();
    }
    await new Deno.Command("docker", {
      args: ["network", "rm", podNetworkName(name)],
      stdout: "null",
      stderr: "null",
    }).output();
    await new HostGateway({ nodeName: name }).teardown();
    await new NetworkPolicyFirewall({ nodeName: name }).teardown();
    // The nftables mode leaves its table for a restart; the test is over.
    const nft = new NftablesProxy(nftTableOf(name));
    if (await nft.exists()) await nft.remove();
  }
}
