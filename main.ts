/**
 * The one `skiff` command: parses the command line and calls one `run…()` per subcommand.
 * A user's mistake (unknown flag, bad value) prints one plain line and exits with status 2.
 * Each subcommand's code is imported when it runs, so that a node's process never loads the
 * control plane (SQLite, etcd client, protobuf decoder): it keeps the agent's memory small. Only
 * the config schemas are loaded up front: the flags' help and defaults come from them (`flagOf`).
 * The control plane's modules are loaded through `commandModule` (cmd/command_modules.ts), whose
 * specifiers Deno does not read ahead: a literal `import("./server/run.ts")` alone makes Deno
 * load the server's whole source graph in a node process.
 */
import { z } from "zod";
import {
  flagOf,
  FROM_SECONDS,
  fromFlag,
  helpText,
  parseConfig,
  parseFlags,
  SECONDS_FLAG,
  UsageError,
} from "./shared/cli_flags.ts";
import type { FlagSpec, ParsedFlags } from "./shared/cli_flags.ts";
import { ServerConfig } from "./server/config.ts";
import { AgentConfig } from "./agent/config.ts";
import { ProxyConfig, type ProxyConfigInput } from "./proxy/config.ts";
import { HA_SERVER_FLAGS, haConfigFrom } from "./server/ha/flags.ts";
import type { PodSecurityConfiguration } from "./server/admission/pod_security_configuration.ts";
import type { NodeConfig } from "./cmd/node.ts";
import { Logger } from "./shared/log.ts";
import { INSTALL_FLAGS } from "./cmd/systemd_install.ts";
import { commandModule } from "./cmd/command_modules.ts";

/** Data dirs under the home directory when `--data-dir` is not given. */
const SERVER_DATA_DIR = ".skiff";
const AGENT_DATA_DIR = ".skiff-agent";

/** `~/<dir>`, with the real home directory. */
function inHome(dir: string): string {
  return `${Deno.env.get("HOME") ?? "."}/${dir}`;
}

const SERVER = ServerConfig.shape;
const AGENT = AgentConfig.shape;
const PROXY = ProxyConfig.shape;

const SERVER_FLAGS: Record<string, FlagSpec> = {
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
  "log-level": flagOf(SERVER.logLevel, { value: "LEVEL" }),
  ...INSTALL_FLAGS,
};

const AGENT_FLAGS: Record<string, FlagSpec> = {
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
  "log-level": SERVER_FLAGS["log-level"],
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

const UP_FLAGS: Record<string, FlagSpec> = {
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
  "log-level": SERVER_FLAGS["log-level"],
  "admission-control-config-file": SERVER_FLAGS["admission-control-config-file"],
};

const PROXY_FLAGS: Record<string, FlagSpec> = {
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
  "service-cidr": SERVER_FLAGS["service-cidr"],
  "proxy-cluster-ips": AGENT_FLAGS["proxy-cluster-ips"],
  "proxy-mode": AGENT_FLAGS["proxy-mode"],
  "proxy-nft-table": AGENT_FLAGS["proxy-nft-table"],
  cleanup: {
    type: "boolean",
    help: "delete the nftables mode's rules and exit (uninstall)",
  },
  "ingress-http-port": AGENT_FLAGS["ingress-http-port"],
  "ingress-https-port": AGENT_FLAGS["ingress-https-port"],
  "log-level": SERVER_FLAGS["log-level"],
};

const COMMANDS: Record<string, { summary: string; run: (args: string[]) => Promise<number> }> = {
  server: {
    summary: "run the control plane (API server, scheduler, controllers)",
    run: serverCommand,
  },
  agent: { summary: "join this machine to a cluster as a node (agent + proxy)", run: agentCommand },
  proxy: { summary: "run only the service proxy on this machine", run: proxyCommand },
  up: { summary: "a single-node cluster on this machine (server + agent + proxy)", run: upCommand },
  token: {
    summary: "create, list or revoke join and user tokens",
    run: async (args) =>
      (await commandModule("cmd/token.ts")).tokenCommand(args, {
        defaultDataDir: inHome(SERVER_DATA_DIR),
      }),
  },
  version: {
    summary: "print the version",
    run: () => {
      console.log("skiff 0.1.0 (Kubernetes v1.32 API)");
      return Promise.resolve(0);
    },
  },
};

function usage(): string {
  const lines = ["Usage: skiff COMMAND [flags]", "", "Commands:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push("", "Run 'skiff COMMAND --help' for a command's flags.");
  return lines.join("\n");
}

/** Runs until SIGINT or SIGTERM; returns the abort signal. */
function untilTerminated(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => ac.abort());
  }
  return ac.signal;
}

/**
 * Parses a subcommand's flags; with `--help` prints its help and returns undefined. A positional
 * argument is a usage error (no subcommand takes one).
 */
function commandFlags(
  args: string[],
  spec: Record<string, FlagSpec>,
  usage: string,
  description: string,
): ParsedFlags | undefined {
  const flags = parseFlags(args, spec);
  if (flags.help) {
    console.log(helpText(usage, description, spec));
    return undefined;
  }
  if (flags._.length) throw new UsageError(`unexpected argument: ${flags._[0]}`);
  return flags;
}

function logLevelFrom(flags: ParsedFlags): ServerConfig["logLevel"] {
  return parseConfig(z.object({ logLevel: SERVER.logLevel }), {
    logLevel: fromFlag(flags, "log-level"),
  }).logLevel;
}

/** The agent's settings from flags; `--server`/`--token` are checked by `agentCommand`. */
function agentConfigFrom(flags: ParsedFlags): NodeConfig {
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
function proxyConfigFrom(flags: ParsedFlags): ProxyConfigInput {
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

async function agentCommand(args: string[]): Promise<number> {
  const flags = commandFlags(
    args,
    AGENT_FLAGS,
    "skiff agent --server URL --token TOKEN [flags]",
    "Joins this machine to a Skiff cluster: runs its pods in Docker and proxies its services.",
  );
  if (!flags) return 0;
  const config = agentConfigFrom(flags);
  if (flags.uninstall) return await uninstall("agent", flags, config);
  // Once joined, the node's own credentials (in its data dir) replace --server and --token.
  const { loadCredentials } = await import("./agent/credentials.ts");
  if (!await loadCredentials(config.dataDir)) {
    for (const name of ["server", "token"]) {
      if (flags[name] === undefined) throw new UsageError(`missing required flag: --${name}`);
    }
  }
  const logger = new Logger({ level: logLevelFrom(flags), component: "skiff" });
  if (flags.install) return await install("agent", args, flags, config.dataDir);
  const signal = untilTerminated();
  (await import("./shared/malloc_trim.ts")).startMallocTrimmer(signal, { logger });
  const { runNode } = await import("./cmd/node.ts");
  await runNode(config, signal, { logger });
  return 0;
}

async function proxyCommand(args: string[]): Promise<number> {
  const flags = commandFlags(
    args,
    PROXY_FLAGS,
    "skiff proxy [--data-dir DIR | --server URL --token TOKEN] [flags]",
    "Forwards the cluster's Services on this machine (the proxy that skiff agent also runs).",
  );
  if (!flags) return 0;
  if ((flags.server === undefined) !== (flags.token === undefined)) {
    throw new UsageError("--server and --token go together");
  }
  const config = proxyConfigFrom(flags);
  const logger = new Logger({ level: logLevelFrom(flags), component: "skiff" });
  const signal = untilTerminated();
  (await import("./shared/malloc_trim.ts")).startMallocTrimmer(signal, { logger });
  const { runProxyCommand } = await commandModule("cmd/proxy.ts");
  await runProxyCommand(
    {
      config,
      dataDir: (flags["data-dir"] as string | undefined) ??
        (flags.server ? undefined : inHome(AGENT_DATA_DIR)),
      token: flags.token as string | undefined,
      caFile: flags["ca-file"] as string | undefined,
      cleanup: flags.cleanup as boolean | undefined,
    },
    signal,
    logger,
  );
  return 0;
}

async function upCommand(args: string[]): Promise<number> {
  const flags = commandFlags(
    args,
    UP_FLAGS,
    "skiff up [flags]",
    "Runs a whole single-node cluster on this machine: control plane, agent and proxy.",
  );
  if (!flags) return 0;
  const server = serverConfigFrom(flags, await podSecurityFrom(flags));
  const { server: _s, token: _t, caData: _c, ...agent } = agentConfigFrom(
    { ...flags, "data-dir": `${server.dataDir}/agent` },
  );
  const { runUp } = await commandModule("cmd/up.ts");
  await runUp({ server, agent }, untilTerminated());
  return 0;
}

function serverConfigFrom(
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
async function podSecurityFrom(flags: ParsedFlags): Promise<PodSecurityConfiguration | undefined> {
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

async function serverCommand(args: string[]): Promise<number> {
  const flags = commandFlags(
    args,
    SERVER_FLAGS,
    "skiff server [flags]",
    "Runs the Skiff control plane.",
  );
  if (!flags) return 0;
  const config = serverConfigFrom(flags, await podSecurityFrom(flags));
  if (flags.uninstall) {
    return await uninstall("server", flags, {
      dataDir: config.dataDir,
      nodeName: flags["with-agent"] ? Deno.hostname().toLowerCase() : undefined,
    });
  }
  if (flags.install) return await install("server", args, flags, config.dataDir);
  const signal = untilTerminated();
  if (flags["with-agent"]) {
    const { server: _s, token: _t, caData: _c, ...agent } = agentConfigFrom(
      { ...flags, "data-dir": `${config.dataDir}/agent` },
    );
    const { runUp } = await commandModule("cmd/up.ts");
    await runUp({ server: config, agent }, signal);
    return 0;
  }
  if (config.leave) {
    const { leaveManagedEtcd } = await commandModule("server/ha/managed_server.ts");
    await leaveManagedEtcd(config, config.serverName ?? Deno.hostname().toLowerCase());
    console.log(`skiff server: left the cluster; removed ${config.dataDir}/etcd`);
    return 0;
  }
  const { runServer } = await commandModule("server/run.ts");
  const server = await runServer(config, signal);
  console.log(
    `skiff server: API at ${server.url}; kubeconfig ${server.kubeconfigPath}; join token in ${config.dataDir}/token`,
  );
  await server.finished;
  return 0;
}

/** `--install`: writes and enables the systemd unit running this command with these flags. */
async function install(
  command: "agent" | "server",
  args: string[],
  flags: ParsedFlags,
  dataDir: string,
): Promise<number> {
  if (flags.purge) throw new UsageError("--purge goes with --uninstall");
  const { currentLauncher, installUnit, unitCommand } = await import("./cmd/systemd_install.ts");
  const path = await installUnit({
    command,
    launcher: currentLauncher(command),
    unit: unitCommand(args, { dataDir }),
    systemdDir: flags["systemd-dir"] as string | undefined,
  });
  console.log(`skiff ${command}: installed ${path}; it starts now and at every boot`);
  return 0;
}

/** `--uninstall [--purge]`: removes the unit; with --purge the node's containers and data too. */
async function uninstall(
  command: "agent" | "server",
  flags: ParsedFlags,
  node: { dataDir: string; nodeName?: string; dockerSocket?: string; proxyNftTable?: string },
): Promise<number> {
  if (flags.install) throw new UsageError("--install and --uninstall exclude each other");
  const { uninstallUnit, unitName } = await import("./cmd/systemd_install.ts");
  await uninstallUnit({ command, systemdDir: flags["systemd-dir"] as string | undefined });
  console.log(`skiff ${command}: removed ${unitName(command)}`);
  if (flags.purge) {
    const { purgeNode } = await commandModule("cmd/purge.ts");
    if (node.nodeName) {
      await purgeNode({ ...node, nodeName: node.nodeName, nftTable: node.proxyNftTable });
    } else {
      await Deno.remove(node.dataDir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    console.log(`skiff ${command}: purged ${node.dataDir}`);
  }
  return 0;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(usage());
    return command ? 0 : 2;
  }
  const c = COMMANDS[command];
  if (!c) {
    console.error(`skiff: unknown command "${command}" (run 'skiff --help')`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`skiff ${command}: ${e.message}`);
      return 2;
    }
    console.error(`skiff ${command}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

export {
  AGENT_FLAGS,
  agentConfigFrom,
  main,
  PROXY_FLAGS,
  proxyConfigFrom,
  SERVER_FLAGS,
  serverConfigFrom,
};
