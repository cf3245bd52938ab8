/**
 * The flags of the node's commands (`skiff agent`, `skiff proxy`) and the configs checked from
 * them. main.ts loads this module up front; the control plane's flags (cmd/server_flags.ts) are
 * loaded only by the commands that run one, so a node's process does not parse the server's
 * config schemas (~1 MiB private while they load; bench/results/agent.md). The flags' help and defaults come from the config
 * schemas (`flagOf`).
 */
import { z } from "zod";
import {
  flagOf,
  type FlagSpec,
  fromFlag,
  parseConfig,
  type ParsedFlags,
  UsageError,
} from "../shared/cli_flags.ts";
import type { LogLevel } from "../shared/log.ts";
import { LogLevelSetting } from "../shared/log_level_setting.ts";
import { AgentConfig } from "../agent/config.ts";
import { ProxyConfig, type ProxyConfigInput } from "../proxy/config.ts";
import { INSTALL_FLAGS } from "./systemd_install.ts";
import type { NodeConfig } from "./node.ts";

/** A node's data dir under the home directory when `--data-dir` is not given. */
export const AGENT_DATA_DIR = ".skiff-agent";

/** `~/<dir>`, with the real home directory. */
export function inHome(dir: string): string {
  return `${Deno.env.get("HOME") ?? "."}/${dir}`;
}

const AGENT = AgentConfig.shape;
const PROXY = ProxyConfig.shape;

/** `--log-level`, which every long-running command takes. */
export const LOG_LEVEL_FLAG: FlagSpec = flagOf(LogLevelSetting, { value: "LEVEL" });

export const AGENT_FLAGS: Record<string, FlagSpec> = {
  server: {
    type: "string",
    value: "URL",
    help: "API server, e.g. https://192.168.1.10:6443 (needed until the node has joined)",
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "join token from the server's <data-dir>/token (needed until the node has joined)",
  },
  "node-name": flagOf(AGENT.nodeName, { value: "NAME", defaultText: "hostname" }),
  "node-address": flagOf(AGENT.nodeAddress, { value: "ADDR" }),
  "data-dir": flagOf(AGENT.dataDir, { value: "DIR", defaultText: `~/${AGENT_DATA_DIR}` }),
  "docker-socket": flagOf(AGENT.dockerSocket, { value: "PATH" }),
  "cluster-cidr": flagOf(AGENT.clusterCidr, {
    value: "CIDR",
    defaultText: "what the server said at the join",
  }),
  "pause-image": flagOf(AGENT.pauseImage, { value: "IMAGE" }),
  "api-port": flagOf(AGENT.apiPort, { value: "PORT" }),
  "log-level": LOG_LEVEL_FLAG,
  "proxy-cluster-ips": flagOf(PROXY.clusterWideListeners),
  "proxy-mode": flagOf(PROXY.mode, { value: "MODE" }),
  "proxy-nft-table": flagOf(PROXY.nftTable, { value: "NAME" }),
  "ingress-http-port": flagOf(PROXY.ingressHttpPort, { value: "PORT" }),
  "ingress-https-port": flagOf(PROXY.ingressHttpsPort, { value: "PORT" }),
  "cluster-domain": flagOf(AGENT.clusterDomain, { value: "DOMAIN" }),
  "cluster-dns": flagOf(AGENT.clusterDns, {
    value: "IP",
    defaultText: "the pod network gateway",
  }),
  "resolv-conf": flagOf(AGENT.resolvConf, { value: "PATH" }),
  "allowed-unsafe-sysctls": flagOf(AGENT.allowedUnsafeSysctls, { value: "NAME" }),
  ...INSTALL_FLAGS,
};

export const PROXY_FLAGS: Record<string, FlagSpec> = {
  "data-dir": {
    type: "string",
    value: "DIR",
    help: `a joined node's data dir: use its credentials (default: ~/${AGENT_DATA_DIR})`,
  },
  server: { type: "string", value: "URL", help: "API server URL (instead of --data-dir)" },
  token: {
    type: "string",
    value: "TOKEN",
    help: "a node's or admin token (instead of --data-dir)",
  },
  "ca-file": { type: "string", value: "PATH", help: "PEM of the cluster CA for --server" },
  "node-name": AGENT_FLAGS["node-name"],
  "node-address": AGENT_FLAGS["node-address"],
  "service-cidr": flagOf(PROXY.serviceCidr, { value: "CIDR" }),
  "proxy-cluster-ips": AGENT_FLAGS["proxy-cluster-ips"],
  "proxy-mode": AGENT_FLAGS["proxy-mode"],
  "proxy-nft-table": AGENT_FLAGS["proxy-nft-table"],
  cleanup: {
    type: "boolean",
    help: "delete the nftables mode's rules and exit (uninstall)",
  },
  "ingress-http-port": AGENT_FLAGS["ingress-http-port"],
  "ingress-https-port": AGENT_FLAGS["ingress-https-port"],
  "log-level": LOG_LEVEL_FLAG,
};

/** `--log-level`'s value, checked. */
export function logLevelFrom(flags: ParsedFlags): LogLevel {
  return parseConfig(z.object({ logLevel: LogLevelSetting }), {
    logLevel: fromFlag(flags, "log-level"),
  }).logLevel;
}

/** The agent's settings from flags; `--server`/`--token` are checked by `agentCommand`. */
export function agentConfigFrom(flags: ParsedFlags): NodeConfig {
  const server = flags.server as string | undefined;
  if (server !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {
      url = undefined;
    }
    if (!url || !["https:", "http:"].includes(url.protocol)) {
      throw new UsageError(
        `invalid value "${server}" for --server: must be a URL such as https://192.168.1.10:6443`,
      );
    }
  }
  const agent = parseConfig(AgentConfig.omit({ server: true, token: true, caData: true }), {
    nodeName: fromFlag(flags, "node-name", { fallback: Deno.hostname().toLowerCase() }),
    nodeAddress: fromFlag(flags, "node-address"),
    dataDir: fromFlag(flags, "data-dir", { fallback: inHome(AGENT_DATA_DIR) }),
    dockerSocket: fromFlag(flags, "docker-socket"),
    clusterCidr: fromFlag(flags, "cluster-cidr"),
    pauseImage: fromFlag(flags, "pause-image"),
    apiPort: fromFlag(flags, "api-port"),
    clusterDomain: fromFlag(flags, "cluster-domain"),
    clusterDns: fromFlag(flags, "cluster-dns"),
    resolvConf: fromFlag(flags, "resolv-conf"),
    allowedUnsafeSysctls: fromFlag(flags, "allowed-unsafe-sysctls"),
  });
  // The node's proxy settings are checked now, not after the join (runNode builds the proxy's
  // config once the credentials are known).
  const proxy = parseConfig(ProxyConfig, {
    clusterWideListeners: fromFlag(flags, "proxy-cluster-ips"),
    mode: fromFlag(flags, "proxy-mode"),
    nftTable: fromFlag(flags, "proxy-nft-table"),
    ingressHttpPort: fromFlag(flags, "ingress-http-port"),
    ingressHttpsPort: fromFlag(flags, "ingress-https-port"),
  });
  return {
    ...agent,
    server,
    token: flags.token as string | undefined,
    clusterWideListeners: proxy.clusterWideListeners,
    proxyMode: proxy.mode,
    proxyNftTable: proxy.nftTable,
    ingressHttpPort: proxy.ingressHttpPort,
    ingressHttpsPort: proxy.ingressHttpsPort,
  };
}
/**
 * `skiff proxy`'s config fields from its flags, checked against ProxyConfig before any credentials
 * are read, so that a bad flag is reported as such; the credentials then add server, token and
 * CA, and the node name and service CIDR where these flags leave them out.
 */
export function proxyConfigFrom(flags: ParsedFlags): ProxyConfigInput {
  const fields = {
    server: fromFlag(flags, "server"),
    nodeName: fromFlag(flags, "node-name"),
    nodeAddress: fromFlag(flags, "node-address"),
    serviceCidr: fromFlag(flags, "service-cidr"),
    clusterWideListeners: fromFlag(flags, "proxy-cluster-ips"),
    mode: fromFlag(flags, "proxy-mode"),
    nftTable: fromFlag(flags, "proxy-nft-table"),
    ingressHttpPort: fromFlag(flags, "ingress-http-port"),
    ingressHttpsPort: fromFlag(flags, "ingress-https-port"),
  };
  parseConfig(ProxyConfig, fields);
  return Object.fromEntries(
    Object.entries(fields).map(([key, input]) => [key, input.value]),
  ) as ProxyConfigInput;
}
