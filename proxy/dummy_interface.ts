/**
 * Makes non-loopback ClusterIPs local, as kube-proxy's IPVS mode does with `kube-ipvs0`: a dummy
 * interface (`skiff0`) that holds every ClusterIP as a /32 (/128) so the proxy can bind it. Needs
 * root (CAP_NET_ADMIN); with a loopback service CIDR nothing here is used.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";

/** Name of the dummy interface holding ClusterIPs. */
export const DUMMY_INTERFACE = "skiff0";

async function ip(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
}

/** Adds and removes ClusterIPs on the dummy interface. */
export class DummyInterface {
  readonly name: string;
  readonly #logger: Logger;
  readonly #added = new Set<string>();
  #created = false;

  constructor(options: { name?: string; logger?: Logger } = {}) {
    this.name = options.name ?? DUMMY_INTERFACE;
    this.#logger = options.logger ?? silentLogger;
  }

  /** True when this process may change interfaces (effective uid 0). */
  static privileged(): boolean {
    return Deno.uid() === 0;
  }

  /** Ensures `address` is on the interface (creating the interface first if needed). */
  async add(address: string): Promise<void> {
    if (this.#added.has(address)) return;
    if (!this.#created) {
      const link = await ip(["link", "add", this.name, "type", "dummy"]);
      if (!link.ok && !link.stderr.includes("File exists")) {
        throw new Error(`Cannot create interface ${this.name}: ${link.stderr}`);
      }
      await ip(["link", "set", this.name, "up"]);
      this.#created = true;
    }
    const len = address.includes(":") ? 128 : 32;
    const res = await ip(["addr", "add", `${address}/${len}`, "dev", this.name]);
    if (!res.ok && !res.stderr.includes("File exists")) {
      throw new Error(`Cannot add ${address} to ${this.name}: ${res.stderr}`);
    }
    this.#added.add(address);
    this.#logger.debug("cluster IP added", { address, interface: this.name });
  }

  /** Removes `address` from the interface (no error when it is not there). */
  async remove(address: string): Promise<void> {
    const len = address.includes(":") ? 128 : 32;
    await ip(["addr", "del", `${address}/${len}`, "dev", this.name]);
    this.#added.delete(address);
  }
}
