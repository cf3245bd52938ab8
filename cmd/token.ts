/**
 * `skiff token create|list|revoke`: manages the bearer tokens in `<data-dir>/tokens.json` from the
 * server machine's shell. A running server notices the changes within a second (TokenStore
 * reloads the file), so a created token works at once and a revoked one stops working; nodes that
 * already joined keep their own credentials when the join token they used is revoked.
 */
import { formatJoinToken } from "../shared/join_token.ts";
import { helpText, parseFlags, UsageError } from "../shared/cli_flags.ts";
import type { FlagSpec } from "../shared/cli_flags.ts";
import { sha256Hex } from "../shared/crypto_util.ts";
import { type Role, TokenStore, USER_ROLES } from "../server/auth/token_store.ts";

const DATA_DIR_FLAG: FlagSpec = {
  type: "string",
  value: "DIR",
  help: "the server's data dir (default ~/.skiff)",
};

const CREATE_FLAGS: Record<string, FlagSpec> = {
  "data-dir": DATA_DIR_FLAG,
  role: { type: "string", value: "ROLE", help: "join (default), view, edit or admin" },
  ttl: {
    type: "string",
    value: "DURATION",
    help: "lifetime such as 30m, 24h, 7d; 0 = never (default 24h for join, never for others)",
  },
  description: { type: "string", value: "TEXT", help: "shown by 'skiff token list'" },
};
const LIST_FLAGS: Record<string, FlagSpec> = { "data-dir": DATA_DIR_FLAG };
const REVOKE_FLAGS: Record<string, FlagSpec> = { "data-dir": DATA_DIR_FLAG };

const USAGE = [
  "Usage: skiff token SUBCOMMAND [flags]",
  "",
  "Manages the cluster's bearer tokens (run on the server machine).",
  "",
  "Subcommands:",
  "  create     make a join token (for 'skiff agent --token') or a user token with a role",
  "  list       show every token: id, role, node, expiry",
  "  revoke ID  delete a token; a revoked join token can no longer join nodes",
  "",
  "Run 'skiff token SUBCOMMAND --help' for its flags.",
].join("\n");

/** Where the command writes: stdout lines and stderr lines. */
export interface TokenCommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Runs `skiff token ARGS`; returns the exit status. Throws UsageError (exit 2) for a bad command
 * line.
 */
export async function tokenCommand(
  args: string[],
  options: { defaultDataDir: string; io?: TokenCommandIo },
): Promise<number> {
  const io = options.io ?? { out: (l) => console.log(l), err: (l) => console.error(l) };
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(USAGE);
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case "create": {
      const flags = parseFlags(rest, CREATE_FLAGS);
      if (flags.help) {
        io.out(
          helpText(
            "skiff token create [flags]",
            "Creates a token and prints it once.",
            CREATE_FLAGS,
          ),
        );
        return 0;
      }
      noArguments(flags._);
      const role = (flags.role as string | undefined) ?? "join";
      if (!(USER_ROLES as readonly string[]).includes(role)) {
        throw new UsageError(
          `invalid value "${role}" for --role: must be join, view, edit or admin`,
        );
      }
      const ttlText = flags.ttl as string | undefined;
      const ttlSeconds = ttlText === undefined
        ? (role === "join" ? 86_400 : 0)
        : parseDuration(ttlText, "--ttl");
      const dataDir = (flags["data-dir"] as string | undefined) ?? options.defaultDataDir;
      return await create(dataDir, {
        role: role as Role,
        ttlSeconds,
        description: flags.description as string | undefined,
      }, io);
    }
    case "list": {
      const flags = parseFlags(rest, LIST_FLAGS);
      if (flags.help) {
        io.out(
          helpText(
            "skiff token list [flags]",
            "Lists every token (never the secrets).",
            LIST_FLAGS,
          ),
        );
        return 0;
      }
      noArguments(flags._);
      const dataDir = (flags["data-dir"] as string | undefined) ?? options.defaultDataDir;
      return await list(dataDir, io);
    }
    case "revoke": {
      const flags = parseFlags(rest, REVOKE_FLAGS);
      if (flags.help) {
        io.out(
          helpText(
            "skiff token revoke ID [flags]",
            "Deletes the token with this id.",
            REVOKE_FLAGS,
          ),
        );
        return 0;
      }
      if (flags._.length !== 1) {
        throw new UsageError(
          flags._.length ? `unexpected argument: ${flags._[1]}` : "missing token ID",
        );
      }
      const dataDir = (flags["data-dir"] as string | undefined) ?? options.defaultDataDir;
      const store = await openStore(dataDir);
      if (!await store.revoke(flags._[0])) {
        io.err(`skiff token revoke: no token with id "${flags._[0]}" (see 'skiff token list')`);
        return 1;
      }
      io.out(`token ${flags._[0]} revoked`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${sub}" (create, list or revoke)`);
  }
}

/** Parses `90s`, `30m`, `24h`, `7d`, `1h30m` or `0` into seconds. */
export function parseDuration(text: string, flag: string): number {
  if (text === "0") return 0;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
  if (!/^(\d+[smhd])+$/.test(text)) {
    throw new UsageError(
      `invalid value "${text}" for ${flag}: must be a duration such as 30m, 24h or 7d`,
    );
  }
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * units[m[2]];
  if (total <= 0) {
    throw new UsageError(
      `invalid value "${text}" for ${flag}: must be longer than 0s (or 0 = never)`,
    );
  }
  return total;
}

function noArguments(args: string[]): void {
  if (args.length) throw new UsageError(`unexpected argument: ${args[0]}`);
}

async function openStore(dataDir: string): Promise<TokenStore> {
  try {
    await Deno.stat(`${dataDir}/tokens.json`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      `no tokens in ${dataDir} (run 'skiff server --data-dir ${dataDir}' once first)`,
    );
  }
  return await TokenStore.open(`${dataDir}/tokens.json`);
}

async function create(
  dataDir: string,
  options: { role: Role; ttlSeconds: number; description?: string },
  io: TokenCommandIo,
): Promise<number> {
  const store = await openStore(dataDir);
  let caHash: string | undefined;
  if (options.role === "join") {
    // The CA hash makes agents trust the server on first contact (see shared/join_token.ts).
    caHash = await sha256Hex(await Deno.readTextFile(`${dataDir}/tls/ca.crt`));
  }
  const { token, record } = await store.create(options.role, {
    ttlSeconds: options.ttlSeconds,
    description: options.description ?? `${options.role} token created by skiff token create`,
  });
  io.out(caHash ? formatJoinToken(caHash, token) : token);
  const expiry = record.expiresAt ? `expires ${record.expiresAt}` : "never expires";
  io.err(`token ${record.id} (${record.role}, ${expiry}); it is shown only this once`);
  return 0;
}

async function list(dataDir: string, io: TokenCommandIo): Promise<number> {
  const store = await openStore(dataDir);
  const rows = [["ID", "ROLE", "NODE", "EXPIRES", "DESCRIPTION"]];
  const now = Date.now();
  for (const r of store.list()) {
    const expires = !r.expiresAt
      ? "never"
      : Date.parse(r.expiresAt) < now
      ? `${r.expiresAt} (expired)`
      : r.expiresAt;
    rows.push([r.id, r.role, r.nodeName ?? "-", expires, r.description ?? ""]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) {
    io.out(
      row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("   ")
        .trimEnd(),
    );
  }
  return 0;
}
