/**
 * Running a system command (`ip`, `iptables`, `nft`, `sysctl`, `conntrack`) through an injectable
 * function, so the agent's network code and the proxy's nftables mode can be pointed at a network
 * namespace in tests (`ip netns exec <ns> <command>`).
 */

/** Result of one command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command and returns its outcome without throwing; `stdin`, when given, is written to
 * the command's standard input (`nft -f -`).
 */
export type CommandRunner = (
  command: string,
  args: string[],
  stdin?: string,
) => Promise<CommandResult>;

/** Runs commands on this host. */
export const hostRunner: CommandRunner = async (command, args, stdin) => {
  try {
    const child = new Deno.Command(command, {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    return { code: 127, stdout: "", stderr: `${command}: ${(e as Error).message}` };
  }
};

/**
 * Runs a command that must succeed: its standard output, or an Error naming the command line and
 * what it printed on failure.
 */
export async function mustRun(
  run: CommandRunner,
  command: string,
  args: string[],
  stdin?: string,
): Promise<string> {
  const r = await run(command, args, stdin);
  if (r.code !== 0) {
    const said = (r.stderr || r.stdout).trim();
    throw new Error(`${[command, ...args].join(" ")} failed: ${said || `exit ${r.code}`}`);
  }
  return r.stdout;
}

/** A runner that runs every command inside network namespace `ns` (tests, benchmarks). */
export function netnsRunner(ns: string): CommandRunner {
  return (command, args, stdin) => hostRunner("ip", ["netns", "exec", ns, command, ...args], stdin);
}
