/**
 * Memory-backed emptyDirs (`emptyDir.medium: Memory`), as the kubelet makes them: a tmpfs mounted
 * on the host at the volume's directory under the pod's directory, so every container of the pod
 * shares it (a Docker tmpfs mount would be each container's own) and it outlives a container's
 * restart; pages written there are charged to the memory cgroup of the container that writes them.
 * Its size is the kubelet's (KEP-1967, sizable memory-backed volumes): the node's allocatable
 * memory, lowered to the pod's memory limit when every container has one, lowered to the volume's
 * `sizeLimit` when that is smaller. The mount goes before the pod's directory is removed.
 *
 * Mounting uses the host's `mount`/`umount` commands (the agent runs as root, as the kubelet);
 * whether a path is a mount point is read from /proc/self/mountinfo.
 */
import { parseQuantity } from "../shared/api/quantity.ts";
import { podTotal } from "../shared/api/pod_resources.ts";
import type { Container, Pod } from "./pod_types.ts";

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

/** Mount points at or below `path` (absolute, clean), deepest first. */
export async function mountsUnder(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile("/proc/self/mountinfo");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    // Field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
    const at = line.split(" ")[4];
    if (!at) continue;
    const point = at.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (point === path || point.startsWith(`${path}/`)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Mounts a tmpfs of `sizeBytes` at `dir` unless something is mounted there already. */
export async function mountMemoryVolume(dir: string, sizeBytes: number): Promise<void> {
  if ((await mountsUnder(dir)).includes(dir)) return;
  await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", dir]);
}

/** Unmounts every mount at or below `path` (a pod's directory before it is removed). */
export async function unmountUnder(path: string): Promise<void> {
  for (const point of await mountsUnder(path)) await run("umount", [point]);
}

async function run(cmd: string, args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`${cmd} ${args.join(" ")}: ${(e as Error).message}`);
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim() || `exit code ${out.code}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}`);
  }
}
