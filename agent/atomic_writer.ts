/**
 * The kubelet's AtomicWriter: writes the files of a ConfigMap, Secret, downwardAPI or projected
 * volume so that a reader in the container never sees a half-updated volume. The files go into
 * a fresh hidden directory `..<timestamp>`; the symlink `..data` points at it and is swapped in
 * one `rename(2)` (the atomic step); each user-visible top-level name is a symlink
 * `name -> ..data/name`, so it follows the swap. The old timestamped directory is then removed.
 * A payload equal to what is on disk (bytes and modes) changes nothing.
 *
 * The volume directory itself is what containers bind-mount, so a swap is seen in running
 * containers at once. A `subPath` mount binds one resolved file and is not updated (as in
 * Kubernetes).
 */

import { ownedMode } from "./volume_ownership.ts";

/** One file of a volume: its bytes and mode. */
export interface PayloadFile {
  data: Uint8Array;
  mode: number;
}

const DATA_DIR = "..data";
const DATA_TMP = "..data_tmp";

/** Checks a payload path as the kubelet does: relative, no `..` element, not hidden at the top. */
export function validatePayloadPath(path: string): void {
  if (!path) throw new Error("invalid path: must not be empty");
  if (path.startsWith("/")) throw new Error(`invalid path ${path}: must be relative`);
  if (path.split("/").includes("..")) {
    throw new Error(`invalid path ${path}: must not contain '..'`);
  }
  if (path.startsWith("..")) throw new Error(`invalid path ${path}: must not start with '..'`);
}

async function readLinkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readLink(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.InvalidData) return undefined;
    // EINVAL (not a symlink) surfaces as a generic error on some platforms.
    return undefined;
  }
}

async function sameAsOnDisk(
  dir: string,
  payload: Map<string, PayloadFile>,
  gid: number | undefined,
): Promise<boolean> {
  const current = await readLinkOrUndefined(`${dir}/${DATA_DIR}`);
  if (!current) return false;
  const base = `${dir}/${current}`;
  let count = 0;
  const walk = async (rel: string): Promise<boolean> => {
    for await (const e of Deno.readDir(rel ? `${base}/${rel}` : base)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        if (!await walk(p)) return false;
        continue;
      }
      count++;
      const want = payload.get(p);
      if (!want) return false;
      const info = await Deno.stat(`${base}/${p}`);
      if (((info.mode ?? 0) & 0o7777) !== want.mode || info.size !== want.data.length) return false;
      if (gid !== undefined && info.gid !== gid) return false;
      const have = await Deno.readFile(`${base}/${p}`);
      for (let i = 0; i < have.length; i++) if (have[i] !== want.data[i]) return false;
    }
    return true;
  };
  try {
    return await walk("") && count === payload.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function timestampName(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_` +
    `${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  return `..${stamp}.${crypto.getRandomValues(new Uint32Array(1))[0]}`;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Makes `dir` hold exactly `payload` (path → file), atomically for readers. Returns whether
 * anything changed. With `gid` (the pod's fsGroup) every file and directory is given to that
 * group before the swap, directories with the setgid bit (volume_ownership.ts); the payload's
 * modes already carry the group read bit.
 */
export async function writeAtomic(
  dir: string,
  payload: Map<string, PayloadFile>,
  options: { gid?: number } = {},
): Promise<boolean> {
  for (const path of payload.keys()) validatePayloadPath(path);
  const gid = options.gid;
  // Containers may run as any user: directories are readable by all (files keep their modes).
  const dirMode = gid === undefined ? 0o755 : ownedMode(0o755, { readOnly: true, dir: true });
  const makeDir = async (path: string) => {
    await Deno.mkdir(path, { recursive: true, mode: 0o755 });
    if (gid !== undefined) await Deno.chown(path, null, gid);
    await Deno.chmod(path, dirMode);
  };
  await makeDir(dir);
  if (await sameAsOnDisk(dir, payload, gid)) return false;

  const previous = await readLinkOrUndefined(`${dir}/${DATA_DIR}`);
  const tsName = timestampName();
  const tsDir = `${dir}/${tsName}`;
  await makeDir(tsDir);
  const made = new Set<string>();
  for (const [path, file] of payload) {
    const full = `${tsDir}/${path}`;
    // Each level of a nested path, so that every directory gets the mode and group (once: files
    // of one directory share its levels).
    const parts = path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join("/");
      if (made.has(sub)) continue;
      made.add(sub);
      await makeDir(`${tsDir}/${sub}`);
    }
    await Deno.writeFile(full, file.data, { mode: file.mode });
    if (gid !== undefined) await Deno.chown(full, null, gid);
    await Deno.chmod(full, file.mode);
  }

  // The atomic step: a new symlink renamed over `..data`.
  await removeIfPresent(`${dir}/${DATA_TMP}`);
  await Deno.symlink(tsName, `${dir}/${DATA_TMP}`);
  await Deno.rename(`${dir}/${DATA_TMP}`, `${dir}/${DATA_DIR}`);

  // User-visible names: one symlink per top-level entry into `..data`.
  const top = new Set([...payload.keys()].map((p) => p.split("/")[0]));
  for (const name of top) {
    const link = `${dir}/${name}`;
    const target = `${DATA_DIR}/${name}`;
    if (await readLinkOrUndefined(link) === target) continue;
    // A regular file or directory here was written before volumes were atomic: replace it.
    await removeIfPresent(link);
    await Deno.symlink(target, link);
  }
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("..") || top.has(e.name)) continue;
    await removeIfPresent(`${dir}/${e.name}`);
  }
  if (previous && previous !== tsName) await removeIfPresent(`${dir}/${previous}`);
  return true;
}
