/**
 * The flags of the commands that run a control plane (`skiff server`, `skiff up`) and the server
 * config checked from them. main.ts loads this module through `commandModule` only for those
 * commands, so a node's process never holds the server's config schemas.
 */
import {
  flagOf,
  type FlagSpec,
  FROM_SECONDS,
  fromFlag,
  parseConfig,
  type ParsedFlags,
  SECONDS_FLAG,
  UsageError,
} from "../shared/cli_flags.ts";
import { ServerConfig } from "../server/config.ts";
import { HA_SERVER_FLAGS, haConfigFrom } from "../server/ha/flags.ts";
import type { PodSecurityConfiguration } from "../server/admission/pod_security_configuration.ts";
import { INSTALL_FLAGS } from "./systemd_install.ts";
import { commandModule } from "./command_modules.ts";
import { AGENT_FLAGS, inHome, LOG_LEVEL_FLAG, logLevelFrom } from "./node_flags.ts";

/** The server's data dir under the home directory when `--data-dir` is not given. */
export const SERVER_DATA_DIR = ".skiff";

const SERVER = ServerConfig.shape;

export const SERVER_FLAGS: Record<string, FlagSpec> = {
  "data-dir": flagOf(SERVER.dataDir, { value: "DIR", defaultText: `~/${SERVER_DATA_DIR}` }),
  listen: flagOf(SERVER.listen, { value: "ADDR:PORT" }),
  "node-address": flagOf(SERVER.nodeAddress, { value: "ADDR" }),
  "tls-san": flagOf(SERVER.tlsSans, { value: "NAME" }),
  "service-cidr": flagOf(SERVER.serviceCidr, { value: "CIDR" }),
  "cluster-cidr": flagOf(SERVER.clusterCidr, { value: "CIDR" }),
  "service-node-port-range": flagOf(SERVER.nodePortRange, {
    type: "string",
    value: "MIN-MAX",
    showDefault: (r) => `${r.min}-${r.max}`,
  }),
  "cluster-domain": flagOf(SERVER.clusterDomain, { value: "DOMAIN" }),
  "node-monitor-grace-period": flagOf(SERVER.nodeMonitorGracePeriodMs, SECONDS_FLAG),
  "pod-eviction-timeout": flagOf(SERVER.podEvictionTimeoutSeconds, { value: "SECONDS" }),
  "datastore-endpoint": flagOf(SERVER.datastoreEndpoint, {
    value: "URL",
    defaultText: "embedded SQLite",
  }),
  "admission-control-config-file": {
    type: "string",
    value: "FILE",
    help: "Pod Security defaults and exemptions (AdmissionConfiguration or " +
      "PodSecurityConfiguration; default: baseline everywhere but kube-system)",
  },
  "no-controllers": { type: "boolean", help: "serve the API only (no scheduler or controllers)" },
  ...HA_SERVER_FLAGS,
  "with-agent": {
    type: "boolean",
    help: "also run this machine as a node (agent + proxy), as skiff up does",
  },
  "log-level": LOG_LEVEL_FLAG,
  ...INSTALL_FLAGS,
};

export const UP_FLAGS: Record<string, FlagSpec> = {
  "data-dir": SERVER_FLAGS["data-dir"],
  listen: SERVER_FLAGS.listen,
  "tls-san": SERVER_FLAGS["tls-san"],
  "node-name": AGENT_FLAGS["node-name"],
  "node-address": AGENT_FLAGS["node-address"],
  "service-cidr": SERVER_FLAGS["service-cidr"],
  "cluster-cidr": SERVER_FLAGS["cluster-cidr"],
  "docker-socket": AGENT_FLAGS["docker-socket"],
  "pause-image": AGENT_FLAGS["pause-image"],
  "api-port": AGENT_FLAGS["api-port"],
  "cluster-domain": AGENT_FLAGS["cluster-domain"],
  "proxy-mode": AGENT_FLAGS["proxy-mode"],
  "log-level": LOG_LEVEL_FLAG,
  "admission-control-config-file": SERVER_FLAGS["admission-control-config-file"],
};

export function serverConfigFrom(
  flags: ParsedFlags,
  podSecurity?: PodSecurityConfiguration,
): ServerConfig {
  const level = logLevelFrom(flags);
  return parseConfig(ServerConfig, {
    dataDir: fromFlag(flags, "data-dir", { fallback: inHome(SERVER_DATA_DIR) }),
    listen: fromFlag(flags, "listen"),
    nodeAddress: fromFlag(flags, "node-address"),
    serviceCidr: fromFlag(flags, "service-cidr"),
    clusterCidr: fromFlag(flags, "cluster-cidr"),
    nodePortRange: fromFlag(flags, "service-node-port-range"),
    datastoreEndpoint: fromFlag(flags, "datastore-endpoint"),
    controllers: !flags["no-controllers"],
    nodeMonitorGracePeriodMs: fromFlag(flags, "node-monitor-grace-period", FROM_SECONDS),
    podEvictionTimeoutSeconds: fromFlag(flags, "pod-eviction-timeout"),
    tlsSans: fromFlag(flags, "tls-san"),
    clusterDomain: fromFlag(flags, "cluster-domain"),
    logLevel: level,
    podSecurity,
    ...haConfigFrom(flags),
  });
}

/**
 * The Pod Security configuration in `--admission-control-config-file`, if given (the YAML
 * parser is loaded only then, so node processes never load it).
 */
export async function podSecurityFrom(
  flags: ParsedFlags,
): Promise<PodSecurityConfiguration | undefined> {
  const path = flags["admission-control-config-file"];
  if (typeof path !== "string") return undefined;
  const { parsePodSecurityConfigFile } = await commandModule(
    "server/admission/pod_security_config_file.ts",
  );
  try {
    return parsePodSecurityConfigFile(await Deno.readTextFile(path), path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
