/**
 * `skiff agent --uninstall --purge`: removes what a node left on the machine — every container
 * labelled with the node's name (pods and sandboxes), its Docker pod network, its host-gw routes
 * and firewall chains, and its data dir (credentials, pod volumes, local state).
 */
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { HostGateway } from "../agent/host_gw.ts";
import { podNetworkName } from "../agent/pod_network.ts";
import type { Logger } from "../shared/log.ts";

/** Removes the node's containers, network and data dir; Docker being absent is no error. */
export async function purgeNode(
  options: { nodeName: string; dataDir: string; dockerSocket?: string; logger?: Logger },
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
  await new HostGateway({ nodeName: options.nodeName }).teardown().catch((e) =>
    options.logger?.warn("could not remove the node's routes", { error: e })
  );
  await Deno.remove(options.dataDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  options.logger?.info("removed the data dir", { dataDir: options.dataDir });
}
