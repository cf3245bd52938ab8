/**
 * `skiff proxy`: the service proxy alone, for a machine that should forward a cluster's Services
 * without running pods. It takes a joined node's credentials from that node's data dir, or an
 * explicit server URL and token (whose CA comes from `--ca-file`, or from a K10 token's hash).
 */
import { loadCredentials } from "../agent/credentials.ts";
import { fetchTrustedCa } from "../agent/trust.ts";
import { runProxy } from "../proxy/run.ts";
import { DEFAULT_NFT_TABLE, ProxyConfig, type ProxyConfigInput } from "../proxy/config.ts";
import { NftablesProxy } from "../proxy/nft_proxy.ts";
import type { Logger } from "../shared/log.ts";
import { parseJoinToken } from "../shared/join_token.ts";

/** Options of {@linkcode runProxyCommand}; `dataDir`, or `config.server` + `token`, is needed. */
export interface ProxyCommandOptions {
  /** The config from flags, already checked against ProxyConfig (main.ts). */
  config: Omit<ProxyConfigInput, "token" | "caData">;
  dataDir?: string;
  /** `--token`: a node's or admin token, or a join token (K10…). */
  token?: string;
  caFile?: string;
  /** `--cleanup`: delete the nftables table and exit (uninstall). */
  cleanup?: boolean;
}

/** Resolves credentials and runs the proxy until `signal` aborts. */
export async function runProxyCommand(
  options: ProxyCommandOptions,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const flagged = options.config;
  if (options.cleanup) {
    const table = flagged.nftTable ?? DEFAULT_NFT_TABLE;
    const nft = new NftablesProxy(table, { logger });
    const had = await nft.exists();
    if (had && !await nft.remove()) throw new Error(`cannot delete table inet ${table}`);
    logger.info(had ? "nftables rules removed" : "no nftables rules to remove", {
      table: `inet ${table}`,
    });
    return;
  }
  let server = flagged.server;
  let token = options.token;
  let caData = options.caFile ? await Deno.readTextFile(options.caFile) : undefined;
  let serviceCidr = flagged.serviceCidr;
  let nodeName = flagged.nodeName;
  if (options.dataDir && (!server || !token)) {
    const creds = await loadCredentials(options.dataDir);
    if (!creds) {
      throw new Error(`no node credentials in ${options.dataDir}: join with skiff agent first`);
    }
    server ??= creds.server;
    token ??= creds.token;
    caData ??= creds.caPem;
    serviceCidr ??= creds.serviceCidr;
    nodeName ??= creds.nodeName;
  }
  if (!server || !token) {
    throw new Error("give --data-dir of a joined node, or --server and --token");
  }
  if (!caData && parseJoinToken(token)) caData = await fetchTrustedCa(server, token);
  const config = ProxyConfig.parse({
    ...flagged,
    server,
    token: parseJoinToken(token)?.secret ?? token,
    caData,
    nodeName,
    serviceCidr,
  });
  await runProxy(config, signal, { logger, removeStaleTable: true });
}
