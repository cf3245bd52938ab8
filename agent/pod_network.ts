/**
 * The node's pod network on Docker: one bridge network per node (`skiff-<node>`) whose subnet is
 * the Node's `spec.podCIDR` and whose gateway is the podCIDR's first address (the node's own
 * address on the bridge, see shared/ipv4_cidr.ts `podGatewayAddress`). Every pod sandbox attaches
 * to it, so each pod has its own address from the node's range. Docker's masquerading is turned
 * off for it: pod-to-pod traffic keeps the pod's address, and traffic leaving the cluster is
 * masqueraded by the node's own rules (host_gw.ts). The node name in the network's name keeps
 * several agents on one engine apart.
 */
import { type Logger, silentLogger } from "../shared/log.ts";
import { podGatewayAddress } from "../shared/ipv4_cidr.ts";
import type { DockerRuntime } from "./docker_runtime.ts";

/** Docker's bridge option that would masquerade everything leaving the bridge. */
const MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";

/** The Docker network name of a node's pod network. */
export function podNetworkName(nodeName: string): string {
  return `skiff-${nodeName}`;
}

/** The pod network of one node, once {@linkcode PodNetwork.ensure} has made it. */
export interface PodNetworkInfo {
  /** Docker network name (`skiff-<node>`): the sandboxes' `NetworkMode`. */
  name: string;
  podCIDR: string;
  /** First address of the podCIDR, held by the node on the bridge. */
  gateway: string;
}

/** Creates and checks a node's Docker bridge network. */
export class PodNetwork {
  readonly name: string;
  readonly #rt: DockerRuntime;
  readonly #log: Logger;

  constructor(rt: DockerRuntime, options: { logger?: Logger } = {}) {
    this.#rt = rt;
    this.name = podNetworkName(rt.nodeName);
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Makes sure the network exists with `podCIDR` as its subnet. A network left with another
   * subnet (the Node was deleted and got a new range) is removed with the sandboxes attached to
   * it; their pods get new sandboxes, as the kubelet does when a pod's sandbox changed.
   */
  async ensure(podCIDR: string): Promise<PodNetworkInfo> {
    const gateway = podGatewayAddress(podCIDR);
    const info = { name: this.name, podCIDR, gateway };
    const existing = await this.#rt.inspectNetwork(this.name);
    if (existing) {
      const config = existing.IPAM.Config?.[0];
      if (
        config?.Subnet === podCIDR && config.Gateway === gateway &&
        existing.Options?.[MASQUERADE_OPTION] === "false"
      ) return info;
      this.#log.warn("pod network has another subnet; recreating it", {
        network: this.name,
        had: config?.Subnet,
        podCIDR,
      });
      for (const id of Object.keys(existing.Containers ?? {})) {
        await this.#rt.removeContainer(id);
      }
      await this.#rt.removeNetwork(existing.Id);
    }
    await this.#rt.createNetwork({
      Name: this.name,
      Driver: "bridge",
      CheckDuplicate: true,
      IPAM: { Driver: "default", Config: [{ Subnet: podCIDR, Gateway: gateway }] },
      Options: { [MASQUERADE_OPTION]: "false" },
    });
    this.#log.info("pod network created", { network: this.name, podCIDR, gateway });
    return info;
  }
}
