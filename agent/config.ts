/**
 * The configuration of one node agent (`skiff agent`): one zod schema whose defaults and
 * `.describe()` texts are also the flags' defaults and help (main.ts builds its flag tables from
 * them). Kept apart from run.ts so that main.ts can read it without loading the agent.
 */
import { z } from "zod";
import { isNamespacedSysctl } from "./sysctls.ts";

/** Configuration of one agent (`skiff agent` flags). */
export const AgentConfig = z.object({
  /** API server URL. */
  server: z.string().url(),
  /** Bearer token for the API server. */
  token: z.string().min(1),
  /** PEM of the API server's CA, for https servers. */
  caData: z.string().optional(),
  nodeName: z.string().min(1).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a DNS subdomain")
    .describe("name of this node"),
  /** The node's InternalIP: hostPorts are published here, the agent API listens here. */
  nodeAddress: z.string().default("127.0.0.1").describe(
    "address other nodes reach this one on",
  ),
  /** Pod volumes live under `<dataDir>/pods`, image tarballs are read from `<dataDir>/images`. */
  dataDir: z.string().min(1).describe("agent state, pod volumes, images/"),
  dockerSocket: z.string().default("/var/run/docker.sock").describe("Docker engine socket"),
  /**
   * The cluster CIDR the server allocates podCIDRs from (traffic to it is not masqueraded); by
   * default what the server said when the node joined, else `DEFAULT_CLUSTER_CIDR`.
   */
  clusterCidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "must be an IPv4 CIDR")
    .optional().describe("the cluster's pod range"),
  /** Image of the per-pod infra container. */
  pauseImage: z.string().default("skiff.local/pause:1").describe("infra container image"),
  /** Port of the agent API (logs, exec); 0 picks a free one. */
  apiPort: z.number().int().min(0).max(65535).default(10250).describe(
    "port of the agent API for logs/exec",
  ),
  /** Token the API server must present to the agent API (default: `token`). */
  apiToken: z.string().optional(),
  /**
   * SHA-256 (hex) of the token the API server presents to the agent API (from the node's join);
   * when set, only that token is accepted (not `token`, not `apiToken`).
   */
  apiTokenSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Crash-loop and image-pull back-off: first delay, cap, and reset after this much running. */
  backoffInitialMs: z.number().int().positive().default(10_000),
  backoffMaxMs: z.number().int().positive().default(300_000),
  backoffResetMs: z.number().int().positive().default(600_000),
  /** Safety-net relist of pods and containers. */
  relistMs: z.number().int().positive().default(10_000),
  leaseRenewMs: z.number().int().positive().default(5_000),
  statusCheckMs: z.number().int().positive().default(10_000),
  /** How often a pod with local-storage limits is measured (the kubelet's eviction period). */
  storageCheckMs: z.number().int().positive().default(10_000),
  /** Pods synced in parallel. */
  workers: z.number().int().positive().default(16),
  /** The cluster domain (`--cluster-domain`): pods' search path, DNS records, hostnames. */
  clusterDomain: z.string().min(1).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a DNS name")
    .default("cluster.local").describe("the cluster's DNS domain"),
  /**
   * Addresses of the cluster DNS for pods (`--cluster-dns`, as the kubelet's). Empty: the
   * node-local DNS on the gateway of the node's pod network, once the Node has a podCIDR.
   */
  clusterDns: z.array(z.string().min(1)).default([]).describe(
    "nameserver for pods, where the node-local DNS listens",
  ),
  /** The node's resolver configuration (`--resolv-conf`): forwarded to, inherited by pods. */
  resolvConf: z.string().default("/etc/resolv.conf").describe(
    "the node's resolvers: forwarded to, inherited by pods",
  ),
  /**
   * Unsafe sysctls pods may set (`--allowed-unsafe-sysctls`, as the kubelet's): names or
   * `prefix.*` patterns, namespaced only (a node-wide sysctl cannot be set per pod).
   */
  allowedUnsafeSysctls: z.array(
    z.string().refine(isNamespacedSysctl, "must be a namespaced sysctl (net.*, kernel.shm*, …)"),
  ).default([]).describe(
    "unsafe namespaced sysctls (or prefix.*) pods may set, as the kubelet's flag",
  ),
});
/** Parsed agent configuration. */
export type AgentConfig = z.infer<typeof AgentConfig>;
/** Agent configuration before defaults. */
export type AgentConfigInput = z.input<typeof AgentConfig>;
