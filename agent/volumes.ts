/**
 * A pod's volumes on the node: each pod gets `<data-dir>/pods/<uid>/`, emptyDirs live under it,
 * configMap and secret volumes are written there as files, hostPath volumes point at the host.
 * The directory goes away with the pod. A persistentVolumeClaim volume is the directory of the
 * claim's bound PersistentVolume (hostPath or local), which outlives the pod: local-path volumes
 * live in `<data-dir>/storage/<pv-name>`, created here on first mount. Containers get the result
 * as Docker bind mounts.
 */

import type { KubeObject } from "../shared/api/object.ts";
import type { Container, KeyValueSource, Pod, Volume } from "./pod_types.ts";

/** Reads the objects a pod's volumes refer to (undefined when absent). */
export interface ObjectReader {
  getConfigMap(namespace: string, name: string): Promise<KeyValueSource | undefined>;
  getSecret(namespace: string, name: string): Promise<KeyValueSource | undefined>;
  getPersistentVolumeClaim(namespace: string, name: string): Promise<KubeObject | undefined>;
  getPersistentVolume(name: string): Promise<KubeObject | undefined>;
}

/** Absolute path of a pod's directory. */
export function podDir(dataDir: string, uid: string): string {
  return `${absolute(dataDir)}/pods/${uid}`;
}

/** Makes a path absolute and clean against the working directory (Docker binds need that). */
export function absolute(path: string): string {
  const full = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const parts: string[] = [];
  for (const seg of full.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join("/")}`;
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The files a ConfigMap/Secret volume projects: path inside the volume → bytes. */
function projectedFiles(
  obj: KeyValueSource | undefined,
  opts: { items?: { key: string; path: string }[]; secret: boolean },
): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const all = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(obj?.data ?? {})) {
    all.set(k, opts.secret ? decodeBase64(v) : enc.encode(v));
  }
  for (const [k, v] of Object.entries(obj?.binaryData ?? {})) all.set(k, decodeBase64(v));
  if (!opts.items?.length) return all;
  const picked = new Map<string, Uint8Array>();
  for (const item of opts.items) {
    const data = all.get(item.key);
    if (data === undefined) throw new Error(`couldn't find key ${item.key}`);
    picked.set(item.path, data);
  }
  return picked;
}

async function writeFiles(dir: string, files: Map<string, Uint8Array>, mode: number) {
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [path, data] of files) {
    if (path.split("/").includes("..")) throw new Error(`invalid path ${path}`);
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    const tmp = `${full}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeFile(tmp, data, { mode });
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, full);
  }
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * The kubelet's hostPath `type` check: `DirectoryOrCreate`/`FileOrCreate` create what is missing,
 * and every type then requires the path to be what it names (`""` checks nothing).
 */
export async function checkHostPathType(path: string, type: string): Promise<void> {
  const failed = (what: string) => new Error(`hostPath type check failed: ${path} is not ${what}`);
  if (type === "") return;
  const info = await statOrUndefined(path);
  if (!info && type === "DirectoryOrCreate") {
    await Deno.mkdir(path, { recursive: true, mode: 0o755 });
    return;
  }
  if (!info && type === "FileOrCreate") {
    await Deno.writeFile(path, new Uint8Array(), { append: true, create: true, mode: 0o644 });
    return;
  }
  switch (type) {
    case "DirectoryOrCreate":
    case "Directory":
      if (!info?.isDirectory) throw failed("a directory");
      return;
    case "FileOrCreate":
    case "File":
      if (!info?.isFile) throw failed("a file");
      return;
    case "Socket":
      if (!info?.isSocket) throw failed("a socket file");
      return;
    case "CharDevice":
      if (!info?.isCharDevice) throw failed("a character device");
      return;
    case "BlockDevice":
      if (!info?.isBlockDevice) throw failed("a block device");
      return;
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
}

/**
 * The host directory of a claim's volume, as the kubelet resolves it: the claim must be bound,
 * its volume must name it back (by uid), and only hostPath and local volumes exist on a node.
 */
export async function claimVolumePath(
  namespace: string,
  claimName: string,
  reader: ObjectReader,
): Promise<string> {
  const pvc = await reader.getPersistentVolumeClaim(namespace, claimName);
  if (!pvc) throw new Error(`persistentvolumeclaim "${claimName}" not found`);
  const volumeName: string = pvc.spec?.volumeName ?? "";
  if (pvc.status?.phase !== "Bound" || !volumeName) {
    throw new Error(
      `PVC ${namespace}/${claimName} has non-bound phase ("${pvc.status?.phase ?? ""}") ` +
        `or empty pvc.Spec.VolumeName ("${volumeName}")`,
    );
  }
  const pv = await reader.getPersistentVolume(volumeName);
  if (!pv) throw new Error(`persistentvolume "${volumeName}" not found`);
  if (pv.spec?.claimRef?.uid !== pvc.metadata.uid) {
    throw new Error(`persistentvolume "${volumeName}" is not bound to claim "${claimName}"`);
  }
  if (pv.spec?.hostPath) {
    const path: string = pv.spec.hostPath.path;
    await checkHostPathType(path, pv.spec.hostPath.type ?? "");
    // Provisioned directories are writable by any container user, as local-path-provisioner's.
    if (pv.spec.hostPath.type === "DirectoryOrCreate") await Deno.chmod(path, 0o777);
    return path;
  }
  if (pv.spec?.local) {
    const path: string = pv.spec.local.path;
    const info = await Deno.stat(path).catch(() => undefined);
    if (!info?.isDirectory) throw new Error(`local volume path "${path}" does not exist`);
    return path;
  }
  throw new Error(`persistentvolume "${volumeName}" has no hostPath or local source`);
}

async function prepareVolume(
  pod: Pod,
  vol: Volume,
  options: { dataDir: string; reader: ObjectReader },
): Promise<string> {
  const base = `${podDir(options.dataDir, pod.metadata.uid)}/volumes`;
  const ns = pod.metadata.namespace;
  if (vol.hostPath) {
    await checkHostPathType(vol.hostPath.path, vol.hostPath.type ?? "");
    return vol.hostPath.path;
  }
  if (vol.persistentVolumeClaim) {
    return await claimVolumePath(ns, vol.persistentVolumeClaim.claimName, options.reader);
  }
  if (vol.configMap) {
    const cm = await options.reader.getConfigMap(ns, vol.configMap.name);
    if (!cm && !vol.configMap.optional) {
      throw new Error(`configmap "${vol.configMap.name}" not found`);
    }
    const dir = `${base}/configmap/${vol.name}`;
    await writeFiles(
      dir,
      projectedFiles(cm, { items: vol.configMap.items, secret: false }),
      vol.configMap.defaultMode ?? 0o644,
    );
    return dir;
  }
  if (vol.secret) {
    const s = await options.reader.getSecret(ns, vol.secret.secretName);
    if (!s && !vol.secret.optional) throw new Error(`secret "${vol.secret.secretName}" not found`);
    const dir = `${base}/secret/${vol.name}`;
    await writeFiles(
      dir,
      projectedFiles(s, { items: vol.secret.items, secret: true }),
      vol.secret.defaultMode ?? 0o644,
    );
    return dir;
  }
  // emptyDir, and any source we don't support, become an empty per-pod directory.
  const dir = `${base}/empty-dir/${vol.name}`;
  await Deno.mkdir(dir, { recursive: true });
  // Containers may run as any user; an emptyDir is writable by all of them, as in Kubernetes.
  await Deno.chmod(dir, 0o777);
  return dir;
}

/**
 * Creates every volume of the pod on disk (idempotent; configMap and secret contents are
 * refreshed) and returns volume name → where it is on the host.
 */
export async function preparePodVolumes(
  pod: Pod,
  options: { dataDir: string; reader: ObjectReader },
): Promise<Map<string, HostVolume>> {
  const paths = new Map<string, HostVolume>();
  for (const vol of pod.spec.volumes ?? []) {
    try {
      const path = await prepareVolume(pod, vol, options);
      const readOnly = !!(vol.configMap || vol.secret || vol.persistentVolumeClaim?.readOnly);
      paths.set(vol.name, { path, readOnly });
    } catch (e) {
      throw new Error(
        `MountVolume.SetUp failed for volume "${vol.name}": ${(e as Error).message}`,
      );
    }
  }
  return paths;
}

/** A volume prepared on the host. */
export interface HostVolume {
  path: string;
  /** configMap and secret volumes are always mounted read-only, claims when they say so. */
  readOnly: boolean;
}

/** Docker `Binds` for a container's volumeMounts (`host:container[:ro]`). */
export function volumeBinds(container: Container, volumes: Map<string, HostVolume>): string[] {
  const binds: string[] = [];
  for (const m of container.volumeMounts ?? []) {
    const host = volumes.get(m.name);
    if (host === undefined) {
      throw new Error(`volume "${m.name}" of container "${container.name}" is not defined`);
    }
    const source = m.subPath ? `${host.path}/${m.subPath}` : host.path;
    binds.push(`${source}:${m.mountPath}${m.readOnly || host.readOnly ? ":ro" : ""}`);
  }
  return binds;
}

/** Removes a pod's directory (volumes included); absent is fine. */
export async function removePodDir(dataDir: string, uid: string): Promise<void> {
  try {
    await Deno.remove(podDir(dataDir, uid), { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
