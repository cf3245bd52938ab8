/**
 * The one `skiff` command: parses the command line and calls one `run…()` per subcommand.
 * A user's mistake (unknown flag, bad value) prints one plain line and exits with status 2.
 * Each subcommand's code is imported when it runs, so that a node's process never loads the
 * control plane (SQLite, etcd client, protobuf decoder): it keeps the agent's memory small. Only
 * the node's flags and config schemas (cmd/node_flags.ts) are loaded up front; the server's
 * (cmd/server_flags.ts) are loaded by the commands that run a control plane. The control plane's
 * modules are loaded through `commandModule` (cmd/command_modules.ts), whose
 * specifiers Deno does not read ahead: a literal `import("./server/run.ts")` alone makes Deno
 * load the server's whole source graph in a node process.
 */
import { helpText, parseFlags, UsageError } from "./shared/cli_flags.ts";
import type { FlagSpec, ParsedFlags } from "./shared/cli_flags.ts";
import {
  AGENT_DATA_DIR,
  AGENT_FLAGS,
  agentConfigFrom,
  inHome,
  logLevelFrom,
  PROXY_FLAGS,
  proxyConfigFrom,
} from "./cmd/node_flags.ts";
import { Logger } from "./shared/log.ts";
import { commandModule } from "./cmd/command_modules.ts";

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
    run: async (args) => {
      const { SERVER_DATA_DIR } = await commandModule("cmd/server_flags.ts");
      return (await commandModule("cmd/token.ts")).tokenCommand(args, {
        defaultDataDir: inHome(SERVER_DATA_DIR),
      });
    },
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
  const { UP_FLAGS, podSecurityFrom, serverConfigFrom } = await commandModule(
    "cmd/server_flags.ts",
  );
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

async function serverCommand(args: string[]): Promise<number> {
  const { SERVER_FLAGS, podSecurityFrom, serverConfigFrom } = await commandModule(
    "cmd/server_flags.ts",
  );
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

export { main };
