/**
 * The configuration of the service proxy (`skiff proxy`, and the proxy inside `skiff agent`):
 * one zod schema whose defaults and `.describe()` texts are also the flags' defaults and help
 * (main.ts builds its flag tables from them). Kept apart from run.ts so that main.ts can read it
 * without loading the proxy.
 */
import { z } from "zod";
import { DEFAULT_SERVICE_CIDR } from "../shared/default_networks.ts";

/** The modes `--proxy-mode` accepts. */
export const PROXY_MODES = ["auto", "nftables", "userspace"] as const;
/** A requested mode. */
export type RequestedProxyMode = typeof PROXY_MODES[number];
/** A mode the proxy runs in. */
export type ProxyMode = Exclude<RequestedProxyMode, "auto">;

/** Default name of the proxy's table (`inet skiff`). */
export const DEFAULT_NFT_TABLE = "skiff";

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
  serviceCidr: z.string().default(DEFAULT_SERVICE_CIDR).describe("range of Service cluster IPs"),
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
  clusterWideListeners: z.boolean().default(true).describe(
    "serve Service cluster IPs and external IPs on this node; =false turns it off",
  ),
  /** How often listeners that failed to bind are retried. */
  bindRetryMs: z.number().int().positive().default(5_000),
  /** `--proxy-mode`: `auto` (nftables where it works, else userspace), `nftables`, `userspace`. */
  mode: z.enum(PROXY_MODES).default("auto").describe(
    "how Service traffic is forwarded: nftables, userspace, or auto (nftables where the kernel " +
      "and nft allow it, else userspace)",
  ),
  /**
   * The nftables mode's table (family `inet`). Several agents sharing one host (tests) each
   * need their own.
   */
  nftTable: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,30}$/, "must be an nft table name")
    .default(DEFAULT_NFT_TABLE).describe("the nftables mode's table, family inet"),
  /** The cluster's pod CIDR: in nftables mode, sources inside it are pods, never masqueraded. */
  clusterCidr: z.string().optional(),
  /** Port of the Ingress HTTP listener on the node address; 0 disables it. */
  ingressHttpPort: z.number().int().min(0).max(65535).default(80).describe(
    "port the node serves Ingresses on over HTTP; 0 disables",
  ),
  /** Port of the Ingress HTTPS listener on the node address; 0 disables it. */
  ingressHttpsPort: z.number().int().min(0).max(65535).default(443).describe(
    "port the node serves Ingresses on over HTTPS; 0 disables",
  ),
  /** How long a fetched Ingress TLS Secret is used before it is fetched again. */
  ingressSecretRefreshMs: z.number().int().positive().default(60_000),
});
/** Parsed proxy configuration. */
export type ProxyConfig = z.infer<typeof ProxyConfig>;
/** Proxy configuration before defaults. */
export type ProxyConfigInput = z.input<typeof ProxyConfig>;
