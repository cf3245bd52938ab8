/**
 * Which way the node forwards Service traffic (`--proxy-mode`): `nftables` (the kernel DNATs
 * each connection to an endpoint, nft_proxy.ts) or `userspace` (sockets in this process,
 * listener_set.ts). `auto`, the default, picks nftables where it can work — running as root, the
 * `nft` command present, the kernel accepting every expression the table uses, and a service CIDR
 * outside 127/8 (loopback ClusterIPs are a host-only development setup that only sockets serve)
 * — and userspace otherwise, saying why in one log line. nftables mode without `conntrack(8)`
 * works but warns: UDP flows could not be moved off a removed endpoint (nft_proxy.ts).
 */

import { type CommandRunner, hostRunner } from "../shared/command_runner.ts";
import type { Logger } from "../shared/log.ts";
import { isLoopbackCidr } from "./ip_address.ts";
import { NftablesProxy } from "./nft_proxy.ts";
import type { ProxyMode, RequestedProxyMode } from "./config.ts";

/** Node annotation naming the proxy mode the node runs. */
export const PROXY_MODE_ANNOTATION = "skiff.io/proxy-mode";

/** Options of {@linkcode resolveProxyMode}. */
export interface ResolveProxyModeOptions {
  serviceCidr: string;
  /** Runs `nft` (tests: in a namespace). */
  run?: CommandRunner;
  logger: Logger;
  /** Effective uid (default `Deno.uid()`). */
  uid?: number | null;
}

/**
 * Resolves `auto` and checks an explicit `nftables` (which fails loudly rather than falling
 * back: the operator asked for it).
 */
export async function resolveProxyMode(
  requested: RequestedProxyMode,
  options: ResolveProxyModeOptions,
): Promise<ProxyMode> {
  const log = options.logger;
  if (requested === "userspace") {
    log.info("proxy mode userspace (--proxy-mode userspace)");
    return "userspace";
  }
  const uid = options.uid === undefined ? Deno.uid() : options.uid;
  let why: string | undefined;
  if (uid !== 0) why = "not running as root";
  else if (isLoopbackCidr(options.serviceCidr)) {
    why = `service CIDR ${options.serviceCidr} is loopback (host-only ClusterIPs need sockets)`;
  } else {
    const support = await NftablesProxy.supported(options.run);
    if (!support.ok) why = support.reason;
  }
  if (requested === "nftables") {
    if (why) throw new Error(`Cannot use --proxy-mode nftables: ${why}`);
    log.info("proxy mode nftables (--proxy-mode nftables)");
  } else if (why) {
    log.info("proxy mode userspace: nftables not usable here", { reason: why });
    return "userspace";
  } else {
    log.info("proxy mode nftables: the kernel and nft accept Skiff's ruleset");
  }
  await warnWithoutConntrack(options);
  return "nftables";
}

/**
 * The kernel keeps a UDP flow on the endpoint it was DNATed to for as long as packets keep it
 * alive; only deleting its conntrack entry moves it, and that takes `conntrack(8)`.
 */
async function warnWithoutConntrack(options: ResolveProxyModeOptions): Promise<void> {
  const r = await (options.run ?? hostRunner)("conntrack", ["--version"]);
  if (r.code === 0) return;
  options.logger.warn(
    "conntrack(8) is missing: a UDP client keeps sending to a removed endpoint until its flow " +
      "idles out; install conntrack (Debian: apt-get install conntrack)",
    { error: r.stderr.trim().split("\n")[0] },
  );
}
