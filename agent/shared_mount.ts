/**
 * Shared mounts for `mountPropagation`: Docker binds a source with rshared/rslave propagation only
 * when the source lies on a shared mount. The kubelet makes its root directory an rshared mount
 * for that; the agent does the same for one pod's volume directory when one of its containers asks
 * for propagation on a volume kept there (emptyDir, configMap, …), and undoes it when the pod's
 * directory is removed (with whatever else is mounted there: memory-backed emptyDirs,
 * agent/memory_volume.ts). Mounts are made with util-linux `mount`, as the kubelet's mounter does.
 */

import { type CommandRunner, hostRunner, mustRun } from "../shared/command_runner.ts";

/** A mount point from /proc/self/mountinfo. */
interface MountPoint {
  path: string;
  /** In a peer group (`shared:N`): mounts under it propagate. */
  shared: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount points of this mount namespace. */
async function mountPoints(): Promise<MountPoint[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  return text.split("\n").filter((l) => l).map((line) => {
    const fields = line.split(" ");
    const optional = fields.slice(6, fields.indexOf("-"));
    return { path: unescape(fields[4]), shared: optional.some((o) => o.startsWith("shared:")) };
  });
}

/**
 * Makes `path` (a directory) a shared mount point: bound onto itself unless it is already a mount
 * point, then made rshared (a no-op when it is shared already).
 */
export async function ensureSharedMount(
  path: string,
  runner: CommandRunner = hostRunner,
): Promise<void> {
  const mounts = (await mountPoints()).filter((m) => m.path === path);
  if (mounts.length > 0 && mounts[mounts.length - 1].shared) return;
  if (mounts.length === 0) await mustRun(runner, "mount", ["--bind", path, path]);
  await mustRun(runner, "mount", ["--make-rshared", path]);
}

/** Mount points at or below `path` (absolute, clean), deepest first. */
export async function mountsUnder(path: string): Promise<string[]> {
  return (await mountPoints()).map((m) => m.path)
    .filter((p) => p === path || p.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Unmounts every mount at or below `path` (lazily, as a container may still hold one), so the
 * directory can be removed; nothing when there is none.
 */
export async function unmountAll(path: string, runner: CommandRunner = hostRunner): Promise<void> {
  // Deepest first; a path mounted twice appears twice and is unmounted twice.
  for (const p of await mountsUnder(path)) await mustRun(runner, "umount", ["-l", p]);
}
