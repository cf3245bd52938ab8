/**
 * A pod's volumes on the node: each pod gets `<data-dir>/pods/<uid>/`, emptyDirs live under it,
 * configMap, secret, downwardAPI and projected volumes are written there by the atomic writer
 * (and rewritten by {@linkcode refreshPodVolumes} while the pod runs), hostPath volumes point
 * at the host; a memory-backed emptyDir is a tmpfs mounted there (agent/memory_volume.ts).
 * The directory goes away with the pod. A persistentVolumeClaim volume is the directory of the
 * claim's bound PersistentVolume (hostPath or local), which outlives the pod: local-path volumes
 * live in `<data-dir>/storage/<pv-name>`, created here on first mount. With the pod's fsGroup the
 * volumes that support it are given to that group (volume_ownership.ts). Containers get the result
 * as Docker bind mounts, with each mount's `mountPropagation`.
 */

import type { KubeObject } from "../shared/api/object.ts";
import { writeAtomic } from "./atomic_writer.ts";
import { isUnreachable } from "./unreachable.ts";
import { expandVars } from "./container_config.ts";
import { memoryVolumeSize, mountMemoryVolume } from "./memory_volume.ts";
import type { Container, Pod, Volume } from "./pod_types.ts";
import { isProjectedKind, type PayloadSources, volumePayload } from "./volume_payload.ts";
import { fsGroupOf, ownPath, setVolumeOwnership } from "./volume_ownership.ts";
import { ensureSharedMount, unmountAll } from "./shared_mount.ts";

/**
 * Reads the objects a pod's volumes refer to (undefined when absent) and asks for its
 * ServiceAccount tokens.
 */
export interface ObjectReader extends PayloadSources {
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
  return (await claimVolume(namespace, claimName, reader)).path;
}

/** {@linkcode claimVolumePath}, and whether the volume is a `local` one (fsGroup applies). */
async function claimVolume(
  namespace: string,
  claimName: string,
  reader: ObjectReader,
): Promise<{ path: string; local: boolean }> {
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
    return { path, local: false };
  }
  if (pv.spec?.local) {
    const path: string = pv.spec.local.path;
    const info = await Deno.stat(path).catch(() => undefined);
    if (!info?.isDirectory) throw new Error(`local volume path "${path}" does not exist`);
    return { path, local: true };
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
  const gid = fsGroupOf(pod);
  if (vol.hostPath) {
    // Never given to the fsGroup: the kubelet leaves the host's files as they are.
    await checkHostPathType(vol.hostPath.path, vol.hostPath.type ?? "");
    return vol.hostPath.path;
  }
  if (vol.persistentVolumeClaim) {
    const claim = vol.persistentVolumeClaim;
    const { path, local } = await claimVolume(ns, claim.claimName, options.reader);
    // As the kubelet's local volume plugin: a writable local volume is given to the fsGroup
    // (hostPath volumes, the provisioned ones included, are not; those are mode 0777).
    if (local && gid !== undefined && !claim.readOnly) {
      await setVolumeOwnership(path, {
        gid,
        readOnly: false,
        changePolicy: pod.spec.securityContext?.fsGroupChangePolicy,
      });
    }
    return path;
  }
  if (isProjectedKind(vol)) {
    const dir = `${base}/${projectedKindDir(vol)}/${vol.name}`;
    try {
      await writeAtomic(dir, await payloadOf(pod, vol, options.reader), { gid });
    } catch (e) {
      // Without its server (a node restarted offline) a volume written before keeps its last
      // content, as a kubelet keeps a mounted volume: a ServiceAccount token cannot be asked for.
      if (!isUnreachable(e) || !await exists(`${dir}/..data`)) throw e;
    }
    return dir;
  }
  // emptyDir (admission refuses the sources the node does not run).
  const dir = `${base}/empty-dir/${vol.name}`;
  await Deno.mkdir(dir, { recursive: true });
  if (vol.emptyDir?.medium === "Memory") {
    const size = memoryVolumeSize(pod, vol.emptyDir.sizeLimit, Deno.systemMemoryInfo().total);
    await mountMemoryVolume(dir, size);
  }
  // Containers may run as any user; an emptyDir is writable by all of them, as in Kubernetes
  // (the setgid bit an fsGroup adds is kept, so it never goes missing for a moment).
  const mode = (await Deno.stat(dir)).mode ?? 0;
  if ((mode & 0o777) !== 0o777) await Deno.chmod(dir, (mode & 0o7000) | 0o777);
  // With an fsGroup it is the group's, setgid: what containers create in it is the group's too.
  if (gid !== undefined) await ownPath(dir, { gid, readOnly: false });
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
  if (propagatesInPodDir(pod)) {
    // As the kubelet's rshared root directory: Docker binds with propagation only from a shared
    // mount.
    const base = `${podDir(options.dataDir, pod.metadata.uid)}/volumes`;
    await Deno.mkdir(base, { recursive: true });
    await ensureSharedMount(base);
  }
  for (const vol of pod.spec.volumes ?? []) {
    try {
      const path = await prepareVolume(pod, vol, options);
      const atomic = isProjectedKind(vol);
      const readOnly = atomic || !!vol.persistentVolumeClaim?.readOnly;
      paths.set(vol.name, { path, readOnly, ...(atomic ? { atomic } : {}) });
    } catch (e) {
      throw new Error(
        `MountVolume.SetUp failed for volume "${vol.name}": ${(e as Error).message}`,
      );
    }
  }
  return paths;
}

/**
 * Rewrites the ConfigMap, Secret, downwardAPI and projected volumes of a running pod from their
 * sources (a no-op for files that did not change; tokens are renewed when due). A volume whose
 * source fails keeps its files, as the kubelet's do; the failures are returned as messages.
 */
export async function refreshPodVolumes(
  pod: Pod,
  options: { dataDir: string; reader: ObjectReader },
): Promise<{ changed: string[]; errors: string[] }> {
  const changed: string[] = [];
  const errors: string[] = [];
  const base = `${podDir(options.dataDir, pod.metadata.uid)}/volumes`;
  for (const vol of pod.spec.volumes ?? []) {
    if (!isProjectedKind(vol)) continue;
    try {
      const dir = `${base}/${projectedKindDir(vol)}/${vol.name}`;
      const payload = await payloadOf(pod, vol, options.reader);
      if (await writeAtomic(dir, payload, { gid: fsGroupOf(pod) })) changed.push(vol.name);
    } catch (e) {
      errors.push(`MountVolume.SetUp failed for volume "${vol.name}": ${(e as Error).message}`);
    }
  }
  return { changed, errors };
}

function projectedKindDir(vol: Volume): string {
  return vol.configMap
    ? "configmap"
    : vol.secret
    ? "secret"
    : vol.downwardAPI
    ? "downward-api"
    : "projected";
}

async function payloadOf(pod: Pod, vol: Volume, reader: ObjectReader) {
  // Volumes may only name metadata fields (admission): the node facts are never read.
  const facts = { nodeName: pod.spec.nodeName ?? "", hostIP: "", podIP: "" };
  return (await volumePayload(pod, vol, { sources: reader, facts }))!;
}

/** A volume prepared on the host. */
export interface HostVolume {
  path: string;
  /** configMap, secret, downwardAPI and projected volumes are always read-only, claims when they say so. */
  readOnly: boolean;
  /** Written by the atomic writer: user-visible names are symlinks into `..data`. */
  atomic?: boolean;
}

/**
 * The host file a `subPath` of an atomically written volume names: its symlink resolved into
 * the current `..data` directory (so the bind is the file itself, as the kubelet binds it),
 * refused when it leads outside the volume.
 */
function resolvedSubPath(host: HostVolume, subPath: string): string {
  const root = Deno.realPathSync(host.path);
  const target = Deno.realPathSync(`${host.path}/${subPath}`);
  if (target !== root && !target.startsWith(`${root}/`)) {
    throw new Error(`subPath "${subPath}" leads outside its volume`);
  }
  return target;
}

/**
 * Docker's bind propagation for a volumeMount's `mountPropagation`, as the CRI maps it: None is
 * Docker's default (rprivate), HostToContainer rslave (mounts made later on the host under the
 * source show up in the container), Bidirectional rshared (and the container's mounts show on
 * the host; validation allows it only in privileged containers). Docker requires the source to
 * be on a shared mount for rshared, shared or slave for rslave, and refuses the container
 * otherwise (CreateContainerError), as containerd does under the kubelet.
 */
export function bindPropagation(mode: string | undefined): string | undefined {
  switch (mode ?? "None") {
    case "None":
      return undefined;
    case "HostToContainer":
      return "rslave";
    case "Bidirectional":
      return "rshared";
  }
  // Validation admits only the three; never run a mount with a propagation nobody asked for.
  throw new Error(`unsupported mountPropagation "${mode}"`);
}

/**
 * A `subPathExpr` with the container's variables expanded; like the kubelet, an expansion that is
 * absolute or climbs out of the volume fails the container (CreateContainerConfigError).
 */
function expandedSubPath(
  expr: string,
  env: Pick<Map<string, string>, "has" | "get">,
  volume: string,
): string {
  const path = expandVars(expr, env);
  if (path.startsWith("/") || path.split("/").includes("..")) {
    throw new Error(
      `failed to prepare subPath for volumeMount "${volume}": subPathExpr "${expr}" expands to ` +
        `${JSON.stringify(path)}, which must be a relative path without '..'`,
    );
  }
  return path;
}

/**
 * Docker `Binds` for a container's volumeMounts (`host:container[:ro][,propagation]`); `env` (the
 * container's resolved environment) expands a `subPathExpr`'s `$(VAR)`s, as the kubelet does.
 */
export function volumeBinds(
  container: Container,
  volumes: Map<string, HostVolume>,
  env: Pick<Map<string, string>, "has" | "get"> = new Map(),
): string[] {
  const binds: string[] = [];
  for (const m of container.volumeMounts ?? []) {
    const host = volumes.get(m.name);
    if (host === undefined) {
      throw new Error(`volume "${m.name}" of container "${container.name}" is not defined`);
    }
    const subPath = m.subPathExpr ? expandedSubPath(m.subPathExpr, env, m.name) : m.subPath;
    const source = !subPath
      ? host.path
      : host.atomic
      ? resolvedSubPath(host, subPath)
      : `${host.path}/${subPath}`;
    const options = [
      ...(m.readOnly || host.readOnly ? ["ro"] : []),
      ...[bindPropagation(m.mountPropagation)].filter((o) => o !== undefined),
    ];
    binds.push(`${source}:${m.mountPath}${options.length ? `:${options.join(",")}` : ""}`);
  }
  return binds;
}

/**
 * True when a container of the pod mounts a volume kept in the pod's directory (not a hostPath
 * or a claim) with a `mountPropagation` other than None.
 */
function propagatesInPodDir(pod: Pod): boolean {
  const inPodDir = new Set(
    (pod.spec.volumes ?? []).filter((v) => !v.hostPath && !v.persistentVolumeClaim).map((v) =>
      v.name
    ),
  );
  return [...pod.spec.containers, ...pod.spec.initContainers ?? []].some((c) =>
    (c.volumeMounts ?? []).some((m) =>
      inPodDir.has(m.name) && (m.mountPropagation ?? "None") !== "None"
    )
  );
}

/** Removes a pod's directory (volumes included, and the shared mount they may be); absent is fine. */
export async function removePodDir(dataDir: string, uid: string): Promise<void> {
  // Memory-backed emptyDirs and a shared volume directory are mounts: unmounted first.
  await unmountAll(podDir(dataDir, uid));
  try {
    await Deno.remove(podDir(dataDir, uid), { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
