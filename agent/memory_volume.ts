/**
 * Memory-backed emptyDirs (`emptyDir.medium: Memory`), as the kubelet makes them: a tmpfs mounted
 * on the host at the volume's directory under the pod's directory, so every container of the pod
 * shares it (a Docker tmpfs mount would be each container's own) and it outlives a container's
 * restart; pages written there are charged to the memory cgroup of the container that writes them.
 * Its size is the kubelet's (KEP-1967, sizable memory-backed volumes): the node's allocatable
 * memory, lowered to the pod's memory limit when every container has one, lowered to the volume's
 * `sizeLimit` when that is smaller.
 *
 * Mounting uses the host's `mount` (the agent runs as root, as the kubelet); the pod's directory
 * is unmounted before it goes by agent/shared_mount.ts's unmountAll.
 */
import { parseQuantity } from "../shared/api/quantity.ts";
import { podTotal } from "../shared/api/pod_resources.ts";
import type { Container, Pod } from "./pod_types.ts";
import { type CommandRunner, hostRunner, mustRun } from "../shared/command_runner.ts";
import { mountsUnder } from "./shared_mount.ts";

/** The tmpfs size for a memory-backed emptyDir of `pod`, in bytes. */
export function memoryVolumeSize(
  pod: Pod,
  sizeLimit: string | number | undefined,
  nodeMemoryBytes: number,
): number {
  let size = nodeMemoryBytes;
  const podLimit = podMemoryLimit(pod);
  if (podLimit !== undefined && podLimit > 0 && podLimit <= size) size = podLimit;
  if (sizeLimit !== undefined) {
    const limit = parseQuantity(sizeLimit);
    if (limit > 0 && limit <= size) size = limit;
  }
  return Math.ceil(size);
}

/**
 * The pod's memory limit as its cgroup gets it (shared/api/pod_resources.ts: app containers and
 * sidecars summed, or more while an init container runs); undefined when a container has no
 * memory limit (the pod is then unbounded).
 */
function podMemoryLimit(pod: Pod): number | undefined {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  if (all.some((c) => c.resources?.limits?.memory === undefined)) return undefined;
  return podTotal(pod.spec, (c: Container) => parseQuantity(c.resources!.limits!.memory!));
}

/** Mounts a tmpfs of `sizeBytes` at `dir` unless something is mounted there already. */
export async function mountMemoryVolume(
  dir: string,
  sizeBytes: number,
  runner: CommandRunner = hostRunner,
): Promise<void> {
  if ((await mountsUnder(dir)).includes(dir)) return;
  await mustRun(runner, "mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", dir]);
}
