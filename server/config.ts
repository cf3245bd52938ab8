/**
 * The configuration of `skiff server`, parsed once from flags with zod and passed down.
 */
import { z } from "zod";

/** `host:port`, IPv4 or a name. */
const ListenAddress = z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be ADDR:PORT");

/** A CIDR such as `10.43.0.0/16`. */
export const Cidr = z.string().regex(
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/,
  "must be an IPv4 CIDR such as 10.43.0.0/16",
);

/** Everything `runServer` needs. */
export const ServerConfig = z.object({
  dataDir: z.string().min(1),
  listen: ListenAddress.default("0.0.0.0:6443"),
  /** The address this server's node advertises (kubeconfig server URL, certificates). */
  nodeAddress: z.string().optional(),
  serviceCidr: Cidr.default("10.43.0.0/16"),
  /** The cluster's DNS domain: the serving certificate names `kubernetes.default.svc.<domain>`. */
  clusterDomain: z.string().min(1).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a DNS name")
    .default("cluster.local"),
  /** How often the `kubernetes` Service and its Endpoints are checked (kube-apiserver: 10 s). */
  kubernetesServiceIntervalMs: z.number().int().positive().default(10_000),
  /** Extra names and addresses for the serving certificate. */
  tlsSans: z.array(z.string().min(1)).default([]),
  nodePortRange: z.tuple([z.number().int(), z.number().int()]).default([30000, 32767]),
  /** Run the scheduler and controllers in this process. */
  controllers: z.boolean().default(true),
  /** Node lease grace period before Ready=Unknown. */
  nodeMonitorGracePeriodMs: z.number().int().positive().default(15_000),
  /** Default tolerationSeconds for not-ready/unreachable taints. */
  podEvictionTimeoutSeconds: z.number().int().nonnegative().default(15),
  /** Events each kind's watch cache keeps for resuming watchers (older ones get 410 Gone). */
  watchHistorySize: z.number().int().positive().default(10_000),
  /**
   * Where state lives: absent = embedded SQLite in `<dataDir>/db/state.db`; an `http(s)://`
   * URL = a real etcd cluster's client endpoint (k3s's `--datastore-endpoint`).
   */
  datastoreEndpoint: z.string().url().optional(),
  /** Revisions of history kept for watchers before compaction. */
  historyRevisions: z.number().int().positive().default(10_000),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

/** Parsed server configuration. */
export type ServerConfig = z.infer<typeof ServerConfig>;
