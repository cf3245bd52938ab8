/**
 * The kubelet's volume ownership management for a pod's `securityContext.fsGroup`
 * (SetVolumeOwnership): a volume that supports it is given to the group — every file and
 * directory gets group `fsGroup`, group read (and write, unless the volume is read-only) added to
 * its mode, and directories also group search and the setgid bit, so what containers create there
 * belongs to the group too. Which volumes: emptyDir, configMap, secret, downwardAPI and projected
 * (always, and read-only: their files get group read), and `local` PersistentVolumes (honouring
 * `fsGroupChangePolicy`); hostPath volumes, claims bound to hostPath PersistentVolumes included,
 * are never changed, as the kubelet's hostPath plugin does not manage ownership.
 */

import type { Pod } from "./pod_types.ts";

/** Group read and write, added to every file of a writable volume. */
const RW_MASK = 0o660;
/** Group read, added to every file of a read-only volume. */
const RO_MASK = 0o440;
/** Search (execute) for owner and group, added to directories. */
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

/** The pod's fsGroup, if it sets one. */
export function fsGroupOf(pod: Pod): number | undefined {
  return pod.spec.securityContext?.fsGroup ?? undefined;
}

/** The mode a file or directory of an fsGroup-owned volume gets (the kubelet's masks). */
export function ownedMode(mode: number, options: { readOnly: boolean; dir: boolean }): number {
  let mask = options.readOnly ? RO_MASK : RW_MASK;
  if (options.dir) mask |= SETGID | EXEC_MASK;
  return (mode & 0o7777) | mask;
}

/** Gives one file or directory (never a symlink) to `gid` with {@linkcode ownedMode}. */
export async function ownPath(
  path: string,
  options: { gid: number; readOnly: boolean },
): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink) return;
  // Group only: the owner stays who made the file (the kubelet's Lchown(path, -1, gid)).
  if (info.gid !== options.gid) await Deno.chown(path, null, options.gid);
  const mode = ownedMode(info.mode ?? 0, { readOnly: options.readOnly, dir: info.isDirectory });
  if (((info.mode ?? 0) & 0o7777) !== mode) await Deno.chmod(path, mode);
}

/**
 * Gives `root` and everything below it to `gid` (symlinks are not followed or changed).
 * With `OnRootMismatch`, a volume whose root already has the group and the mode bits is left
 * alone, as the kubelet skips the walk; `Always` (the default) walks every time.
 */
export async function setVolumeOwnership(
  root: string,
  options: { gid: number; readOnly: boolean; changePolicy?: string },
): Promise<void> {
  if (options.changePolicy === "OnRootMismatch") {
    const info = await Deno.stat(root);
    const want = ownedMode(0, { readOnly: options.readOnly, dir: info.isDirectory });
    if (info.gid === options.gid && ((info.mode ?? 0) & want) === want) return;
  }
  const walk = async (path: string): Promise<void> => {
    await ownPath(path, options);
    const info = await Deno.lstat(path);
    if (!info.isDirectory) return;
    for await (const e of Deno.readDir(path)) await walk(`${path}/${e.name}`);
  };
  await walk(root);
}
