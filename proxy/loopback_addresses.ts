/**
 * Makes non-loopback ClusterIPs local so the proxy can bind them: each one is added to `lo` as a
 * /32 (/128), as kube-proxy's IPVS mode does with its `kube-ipvs0` dummy interface but without
 * needing the `dummy` kernel module (many kernels, Raspberry Pi's minimal ones and containers'
 * among them, lack it). Pods reach these addresses through their gateway (the node's bridge
 * address): the node is the destination, so the packet is delivered to the proxy's socket.
 * Needs root (CAP_NET_ADMIN); with a loopback service CIDR nothing here is used.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";

/** The interface holding ClusterIPs. */
export const CLUSTER_IP_INTERFACE = "lo";

async function ip(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (e) {
    return { ok: false, stderr: (e as Error).message };
  }
}

/** Adds and removes ClusterIPs on `lo`. */
export class LoopbackAddresses {
  readonly #logger: Logger;
  readonly #added = new Set<string>();

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  /** True when this process may change interfaces (effective uid 0). */
  static privileged(): boolean {
    return Deno.uid() === 0;
  }

  /** The addresses this object added and has not removed. */
  get addresses(): string[] {
    return [...this.#added];
  }

  /** Ensures `address` is on `lo` (already there is fine). */
  async add(address: string): Promise<void> {
    if (this.#added.has(address)) return;
    const len = address.includes(":") ? 128 : 32;
    const res = await ip(["addr", "add", `${address}/${len}`, "dev", CLUSTER_IP_INTERFACE]);
    if (!res.ok && !res.stderr.includes("File exists")) {
      throw new Error(`Cannot add ${address} to ${CLUSTER_IP_INTERFACE}: ${res.stderr}`);
    }
    this.#added.add(address);
    this.#logger.debug("cluster IP added", { address, interface: CLUSTER_IP_INTERFACE });
  }

  /** Removes `address` from `lo` (no error when it is not there). */
  async remove(address: string): Promise<void> {
    const len = address.includes(":") ? 128 : 32;
    await ip(["addr", "del", `${address}/${len}`, "dev", CLUSTER_IP_INTERFACE]);
    this.#added.delete(address);
  }
}
