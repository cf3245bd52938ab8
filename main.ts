/**
 * The one `skiff` command: parses the command line and calls one `run…()` per subcommand.
 * A user's mistake (unknown flag, bad value) prints one plain line and exits with status 2.
 */
import { helpText, parseFlags, UsageError } from "./shared/cli_flags.ts";
import type { FlagSpec, ParsedFlags } from "./shared/cli_flags.ts";
import { ServerConfig } from "./server/config.ts";
import { runServer } from "./server/run.ts";

const SERVER_FLAGS: Record<string, FlagSpec> = {
  "data-dir": {
    type: "string",
    value: "DIR",
    help: "state, credentials and kubeconfig (default ~/.skiff)",
  },
  listen: {
    type: "string",
    value: "ADDR:PORT",
    help: "address to serve the API on (default 0.0.0.0:6443)",
  },
  "node-address": { type: "string", value: "ADDR", help: "address this node advertises" },
  "service-cidr": {
    type: "string",
    value: "CIDR",
    help: "range of Service cluster IPs (default 10.43.0.0/16)",
  },
  "node-monitor-grace-period": {
    type: "number",
    value: "SECONDS",
    help: "lease age before a node is NotReady (default 15)",
  },
  "pod-eviction-timeout": {
    type: "number",
    value: "SECONDS",
    help: "default toleration of unreachable nodes (default 15)",
  },
  "no-controllers": { type: "boolean", help: "serve the API only (no scheduler or controllers)" },
  "log-level": { type: "string", value: "LEVEL", help: "debug, info, warn or error" },
};

const COMMANDS: Record<string, { summary: string; run: (args: string[]) => Promise<number> }> = {
  server: {
    summary: "run the control plane (API server, scheduler, controllers)",
    run: serverCommand,
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

function defaultDataDir(): string {
  return `${Deno.env.get("HOME") ?? "."}/.skiff`;
}

/** Runs until SIGINT or SIGTERM; returns the abort signal. */
function untilTerminated(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => ac.abort());
  }
  return ac.signal;
}

function parseConfig<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | {
      success: false;
      error: { issues: { path: PropertyKey[]; message: string }[] };
    };
  },
  raw: unknown,
): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new UsageError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
}

function serverConfigFrom(flags: ParsedFlags): ServerConfig {
  const level = flags["log-level"];
  if (level !== undefined && !["debug", "info", "warn", "error"].includes(level as string)) {
    throw new UsageError(
      `invalid value "${level}" for --log-level: must be debug, info, warn or error`,
    );
  }
  return parseConfig(ServerConfig, {
    dataDir: flags["data-dir"] ?? defaultDataDir(),
    listen: flags.listen,
    nodeAddress: flags["node-address"],
    serviceCidr: flags["service-cidr"],
    controllers: !flags["no-controllers"],
    nodeMonitorGracePeriodMs: flags["node-monitor-grace-period"] !== undefined
      ? Number(flags["node-monitor-grace-period"]) * 1000
      : undefined,
    podEvictionTimeoutSeconds: flags["pod-eviction-timeout"],
    logLevel: level,
  });
}

async function serverCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, SERVER_FLAGS);
  if (flags.help) {
    console.log(helpText("skiff server [flags]", "Runs the Skiff control plane.", SERVER_FLAGS));
    return 0;
  }
  if (flags._.length) throw new UsageError(`unexpected argument: ${flags._[0]}`);
  const config = serverConfigFrom(flags);
  const signal = untilTerminated();
  const server = await runServer(config, signal);
  console.log(
    `skiff server: API at ${server.url}; kubeconfig ${server.kubeconfigPath}; join token in ${config.dataDir}/token`,
  );
  await server.finished;
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

export { main, SERVER_FLAGS, serverConfigFrom };
