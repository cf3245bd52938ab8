/**
 * `skiff agent --uninstall --purge`: removes what a node left on the machine — every container
 * labelled with the node's name (pods and sandboxes), its Docker pod network, its host-gw routes
 * and firewall chains (NetworkPolicy ones too), the nftables proxy mode's table, and its data dir (credentials, pod
 * volumes, local state).
 */
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { HostGateway } from "../agent/host_gw.ts";
import { NetworkPolicyFirewall } from "../agent/network_policy_firewall.ts";
import { podNetworkName } from "../agent/pod_network.ts";
import { DEFAULT_NFT_TABLE } from "../proxy/config.ts";
import { NftablesProxy } from "../proxy/nft_proxy.ts";
import type { CommandRunner } from "../shared/command_runner.ts";
import type { Logger } from "../shared/log.ts";

/**
 * Removes the node's containers, network, rules and data dir; Docker or nft being absent is no
 * error (there is then nothing of theirs to remove).
 */
export async function purgeNode(
  options: {
    nodeName: string;
    dataDir: string;
    dockerSocket?: string;
    /** `--proxy-nft-table`: the nftables proxy mode's table (default `skiff`). */
    nftTable?: string;
    /** Runs `ip`, `iptables`, `nft` (default: on this host; tests give a namespace's runner). */
    run?: CommandRunner;
    logger?: Logger;
  },
): Promise<void> {
  const rt = new DockerRuntime({ nodeName: options.nodeName, socketPath: options.dockerSocket });
  try {
    const containers = await rt.listContainers();
    for (const c of containers) await rt.removeContainer(c.Id);
    await rt.removeNetwork(podNetworkName(options.nodeName));
    options.logger?.info("removed the node's containers", { count: containers.length });
  } catch (e) {
    options.logger?.warn("could not remove the node's containers", { error: e });
  }
  await new HostGateway({ nodeName: options.nodeName, run: options.run }).teardown().catch((e) =>
    options.logger?.warn("could not remove the node's routes", { error: e })
  );
  await new NetworkPolicyFirewall({ nodeName: options.nodeName, run: options.run }).teardown();
  await removeNftTable(options.nftTable ?? DEFAULT_NFT_TABLE, options.run, options.logger);
  await Deno.remove(options.dataDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  options.logger?.info("removed the data dir", { dataDir: options.dataDir });
}

/** Deletes the nftables proxy mode's table (what `skiff proxy --cleanup` does) when it exists. */
async function removeNftTable(
  table: string,
  run: CommandRunner | undefined,
  logger: Logger | undefined,
): Promise<void> {
  try {
    const nft = new NftablesProxy(table, { run, logger });
    if (!await nft.exists()) return;
    if (await nft.remove()) logger?.info("removed the nftables rules", { table: `inet ${table}` });
  } catch (e) {
    logger?.warn("could not remove the nftables rules", { table: `inet ${table}`, error: e });
  }
}
