/**
 * The configuration of `skiff server`, parsed once from flags with zod and passed down. The
 * fields' defaults and `.describe()` texts are also the flags' defaults and help (main.ts builds
 * its flag table from them).
 */
import { z } from "zod";
import { LogLevelSetting } from "../shared/log_level_setting.ts";
import { ipv4NetWithin, parseIpv4Net } from "../shared/ipv4_cidr.ts";
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from "../shared/default_networks.ts";
import { DEFAULT_NODE_PORT_RANGE } from "./registry/service_allocator.ts";
import {
  PodSecurityConfiguration,
  SKIFF_POD_SECURITY,
} from "./admission/pod_security_configuration.ts";
import { HaConfigFields, refineHaConfig } from "./ha/config.ts";

/** `host:port`, IPv4 or a name. */
const ListenAddress = z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be ADDR:PORT");

/** A CIDR such as `10.43.0.0/16`. */
export const Cidr = z.string().regex(
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/,
  "must be an IPv4 CIDR such as 10.43.0.0/16",
);

/** Everything `runServer` needs. */
export const ServerConfig = z.object({
  dataDir: z.string().min(1).describe("state, credentials and kubeconfig"),
  listen: ListenAddress.default("0.0.0.0:6443").describe("address to serve the API on"),
  /** The address this server's node advertises (kubeconfig server URL, certificates). */
  nodeAddress: z.string().optional().describe("address this node advertises"),
  serviceCidr: Cidr.default(DEFAULT_SERVICE_CIDR).describe("range of Service cluster IPs"),
  /** Range node podCIDRs (one /24 each) are allocated from, as k3s's `--cluster-cidr`. */
  clusterCidr: Cidr.refine(
    (c) => Number(c.split("/")[1]) <= 24,
    "must be a /24 or larger (every node gets a /24 of it)",
  ).default(DEFAULT_CLUSTER_CIDR).describe("range node podCIDRs (a /24 each) come from"),
  /** The cluster's DNS domain: the serving certificate names `kubernetes.default.svc.<domain>`. */
  clusterDomain: z.string().min(1).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a DNS name")
    .default("cluster.local").describe(
      "the cluster's DNS domain, named in the serving certificate",
    ),
  /** How often the `kubernetes` Service and its Endpoints are checked (kube-apiserver: 10 s). */
  kubernetesServiceIntervalMs: z.number().int().positive().default(10_000),
  /** Extra names and addresses for the serving certificate. */
  tlsSans: z.array(z.string().min(1)).default([]).describe(
    "extra name or IP for the serving certificate (repeatable, comma-separated)",
  ),
  /**
   * NodePort range (`--service-node-port-range MIN-MAX`), as one `{ min, max }` used by the
   * Service allocator (which is where Kubernetes checks it, too).
   */
  nodePortRange: z.preprocess(
    (v) => {
      if (typeof v !== "string") return v;
      const m = /^(\d+)-(\d+)$/.exec(v.trim());
      return m ? { min: Number(m[1]), max: Number(m[2]) } : v;
    },
    z.object({
      min: z.number().int().min(1).max(65535),
      max: z.number().int().min(1).max(65535),
    }, "must be MIN-MAX, like 30000-32767").refine(
      (r) => r.min <= r.max,
      "MIN must not exceed MAX",
    ),
  ).default(DEFAULT_NODE_PORT_RANGE).describe("range of Service node ports"),
  /** Run the scheduler and controllers in this process. */
  controllers: z.boolean().default(true),
  /** Node lease grace period before Ready=Unknown. */
  nodeMonitorGracePeriodMs: z.number().int().positive().default(15_000).describe(
    "lease age before a node is NotReady",
  ),
  /** Default tolerationSeconds for not-ready/unreachable taints. */
  podEvictionTimeoutSeconds: z.number().int().nonnegative().default(15).describe(
    "default toleration of unreachable nodes",
  ),
  /** Events each kind's watch cache keeps for resuming watchers (older ones get 410 Gone). */
  watchHistorySize: z.number().int().positive().default(10_000),
  /**
   * Where state lives: absent = embedded SQLite in `<dataDir>/db/state.db`; an `http(s)://`
   * URL = a real etcd cluster's client endpoint (k3s's `--datastore-endpoint`).
   */
  datastoreEndpoint: z.string().url().optional().describe(
    "etcd client URL, such as http://127.0.0.1:2379",
  ),
  /** Revisions of history kept for watchers before compaction. */
  historyRevisions: z.number().int().positive().default(10_000),
  logLevel: LogLevelSetting,
  ...HaConfigFields,
  /**
   * Pod Security admission's defaults and exempt namespaces (upstream's PodSecurityConfiguration):
   * `baseline` enforced in every namespace but kube-system unless a namespace's labels say else.
   */
  podSecurity: PodSecurityConfiguration.default(SKIFF_POD_SECURITY),
}).superRefine((c, ctx) => {
  refineHaConfig(c, ctx);
  // Pod and Service addresses must be told apart by every node's routes and proxy.
  const pods = parseIpv4Net(c.clusterCidr);
  const services = parseIpv4Net(c.serviceCidr);
  if (pods && services && (ipv4NetWithin(pods, services) || ipv4NetWithin(services, pods))) {
    ctx.addIssue({
      code: "custom",
      path: ["clusterCidr"],
      message: `must not overlap the service CIDR ${c.serviceCidr}`,
    });
  }
});

/** Parsed server configuration. */
export type ServerConfig = z.infer<typeof ServerConfig>;
