/**
 * `skiff agent --install` / `skiff server --install`: writes a systemd unit that runs the same
 * command with the same flags (paths made absolute), enables and starts it, so that a Pi that
 * reboots comes back as a node (or server) without anyone logging in. The join token does not go
 * into the world-readable unit: it sits in a 0600 environment file the unit reads. `--uninstall`
 * stops, disables and removes the unit; `--purge` also removes the node's containers, its pod
 * network and its data dir. `systemctl` is called through an injectable runner, and the unit
 * directory can be moved (`--systemd-dir`), so that all of this is testable without systemd.
 */
import { UsageError } from "../shared/cli_flags.ts";
import type { Logger } from "../shared/log.ts";

/**
 * The V8 flags a node's `skiff agent` runs with (its memory budget: a 1 MiB young generation),
 * as `deno task agent` and the .run file (scripts/dist.sh) set them; benchmarks that measure a
 * node's data path run it the same way.
 */
export const AGENT_V8_FLAGS = "--v8-flags=--max-semi-space-size=1";

/** Install-related flags: accepted by `skiff agent` and `skiff server`, never put in a unit. */
export const INSTALL_FLAGS = {
  install: {
    type: "boolean" as const,
    help: "write and enable a systemd unit running this command with these flags",
  },
  uninstall: { type: "boolean" as const, help: "stop, disable and remove the systemd unit" },
  purge: {
    type: "boolean" as const,
    help: "with --uninstall: also remove the node's containers and its data dir",
  },
  "systemd-dir": {
    type: "string" as const,
    value: "DIR",
    help: "where unit files go (default /etc/systemd/system)",
  },
};

/** Runs `systemctl` with these arguments; resolves its exit code and stderr. */
export type SystemctlRunner = (args: string[]) => Promise<{ code: number; stderr: string }>;

/** The real `systemctl`. */
export const runSystemctl: SystemctlRunner = async (args) => {
  try {
    const out = await new Deno.Command("systemctl", { args, stdout: "null", stderr: "piped" })
      .output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (e) {
    return { code: 127, stderr: `cannot run systemctl: ${(e as Error).message}` };
  }
};

/** How the installed command starts: the program and the arguments before the subcommand. */
export interface Launcher {
  program: string;
  args: string[];
}

/**
 * The launcher of this very process: the self-extracting `.run` file when it started us
 * (it exports SKIFF_RUN_FILE), else this Deno with the entry module (main.ts with its deno.json,
 * or a bundle).
 */
export function currentLauncher(command: "agent" | "server"): Launcher {
  const runFile = Deno.env.get("SKIFF_RUN_FILE");
  if (runFile) return { program: runFile, args: [] };
  const main = new URL(Deno.mainModule);
  if (main.protocol !== "file:") throw new UsageError(`cannot install from ${Deno.mainModule}`);
  const path = decodeURIComponent(main.pathname);
  const args = ["run", "-A", "--unstable-net"];
  const config = path.replace(/[^/]+$/, "deno.json");
  let hasConfig = false;
  try {
    hasConfig = path.endsWith(".ts") && Deno.statSync(config).isFile;
  } catch {
    hasConfig = false;
  }
  args.push(...(hasConfig ? ["--config", config] : ["--no-config"]));
  if (command === "agent") args.push(AGENT_V8_FLAGS);
  args.push(path);
  return { program: Deno.execPath(), args };
}

/** What goes into a unit: the flags minus the install ones, the token moved out. */
export interface UnitCommand {
  /** Arguments after the subcommand, as they go into ExecStart (token as `${SKIFF_TOKEN}`). */
  args: string[];
  /** Environment file contents (the token), if any. */
  env: Record<string, string>;
}

const INSTALL_NAMES = new Set(Object.keys(INSTALL_FLAGS));

function absolutePath(path: string, cwd: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}

/**
 * The unit's arguments from the command line: install flags dropped, `--data-dir` made absolute
 * (and written out when it was the default: systemd's HOME is not the user's), `--token` moved to
 * the environment file, other path flags made absolute.
 */
export function unitCommand(
  args: string[],
  options: { dataDir: string; cwd?: string; pathFlags?: string[] },
): UnitCommand {
  const cwd = options.cwd ?? Deno.cwd();
  const pathFlags = new Set([
    "data-dir",
    "admission-control-config-file",
    "resolv-conf",
    "docker-socket",
    ...(options.pathFlags ?? []),
  ]);
  const out: string[] = [];
  const env: Record<string, string> = {};
  let sawDataDir = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const name = m[1];
    const takesValue = m[2] === undefined && !INSTALL_NAMES.has(name) &&
      i + 1 < args.length && !args[i + 1].startsWith("--");
    if (INSTALL_NAMES.has(name)) {
      if (name === "systemd-dir" && m[2] === undefined) i++;
      continue;
    }
    let value = m[2];
    if (value === undefined && takesValue) value = args[++i];
    if (value === undefined) {
      out.push(`--${name}`);
      continue;
    }
    if (name === "token") {
      env.SKIFF_TOKEN = value;
      out.push("--token", "${SKIFF_TOKEN}");
      continue;
    }
    if (name === "data-dir") sawDataDir = true;
    out.push(`--${name}`, pathFlags.has(name) ? absolutePath(value, cwd) : value);
  }
  if (!sawDataDir) out.push("--data-dir", absolutePath(options.dataDir, cwd));
  return { args: out, env };
}

/** One ExecStart word, quoted for systemd (`$` and `%` escaped; `${SKIFF_TOKEN}` kept). */
export function quoteUnitWord(word: string): string {
  if (word === "${SKIFF_TOKEN}") return word;
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%$+=:,./-]+$/.test(escaped) && escaped !== "") return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The unit's name for a subcommand. */
export function unitName(command: "agent" | "server"): string {
  return `skiff-${command}.service`;
}

/** The text of the systemd unit. */
export function unitFile(options: {
  command: "agent" | "server";
  launcher: Launcher;
  args: string[];
  envFile?: string;
}): string {
  const { command, launcher } = options;
  const exec = [launcher.program, ...launcher.args, command, ...options.args].map(quoteUnitWord);
  const lines = [
    "# Written by `skiff " + command + " --install`; `skiff " + command +
    " --uninstall` removes it.",
    "[Unit]",
    command === "agent"
      ? "Description=Skiff node agent (pods, service proxy, node-local DNS)"
      : "Description=Skiff server (Kubernetes API, scheduler, controllers)",
    "Wants=network-online.target",
    ...(command === "agent"
      ? ["After=network-online.target docker.service", "Wants=docker.service"]
      : ["After=network-online.target"]),
    "",
    "[Service]",
    "Type=simple",
    ...(options.envFile ? [`EnvironmentFile=-${options.envFile}`] : []),
    `ExecStart=${exec.join(" ")}`,
    "Restart=always",
    "RestartSec=5s",
    // Containers live in Docker's cgroup, not ours: stopping the agent leaves them running, as
    // stopping the kubelet does; a restarted agent adopts them.
    "KillMode=mixed",
    "TimeoutStopSec=60s",
    "LimitNOFILE=1048576",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}

/** Options of {@linkcode installUnit} and {@linkcode uninstallUnit}. */
export interface InstallOptions {
  command: "agent" | "server";
  /** Directory of unit files (default /etc/systemd/system). */
  systemdDir?: string;
  runner?: SystemctlRunner;
  logger?: Logger;
}

async function systemctl(runner: SystemctlRunner, args: string[], tolerate = false): Promise<void> {
  const r = await runner(args);
  if (r.code !== 0 && !tolerate) {
    throw new Error(`systemctl ${args.join(" ")} failed (${r.code}): ${r.stderr || "no output"}`);
  }
}

/** Writes the unit (and its 0600 environment file), reloads systemd, enables and starts it. */
export async function installUnit(
  options: InstallOptions & { launcher: Launcher; unit: UnitCommand },
): Promise<string> {
  const dir = options.systemdDir ?? "/etc/systemd/system";
  const runner = options.runner ?? runSystemctl;
  const name = unitName(options.command);
  await Deno.mkdir(dir, { recursive: true });
  const envFile = `${dir}/skiff-${options.command}.env`;
  const hasEnv = Object.keys(options.unit.env).length > 0;
  if (hasEnv) {
    const text = Object.entries(options.unit.env).map(([k, v]) => `${k}=${v}\n`).join("");
    await Deno.writeTextFile(envFile, text, { mode: 0o600 });
    await Deno.chmod(envFile, 0o600);
  } else {
    await Deno.remove(envFile).catch(() => {});
  }
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(
    path,
    unitFile({
      command: options.command,
      launcher: options.launcher,
      args: options.unit.args,
      envFile: hasEnv ? envFile : undefined,
    }),
    { mode: 0o644 },
  );
  await systemctl(runner, ["daemon-reload"]);
  await systemctl(runner, ["enable", "--now", name]);
  options.logger?.info("installed and started the systemd unit", { unit: path });
  return path;
}

/** Stops, disables and removes the unit and its environment file; reloads systemd. */
export async function uninstallUnit(options: InstallOptions): Promise<void> {
  const dir = options.systemdDir ?? "/etc/systemd/system";
  const runner = options.runner ?? runSystemctl;
  const name = unitName(options.command);
  // Not installed, or systemd not running: removing the files is still the job.
  await systemctl(runner, ["disable", "--now", name], true);
  for (const f of [`${dir}/${name}`, `${dir}/skiff-${options.command}.env`]) {
    await Deno.remove(f).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  await systemctl(runner, ["daemon-reload"], true);
  options.logger?.info("removed the systemd unit", { unit: `${dir}/${name}` });
}
