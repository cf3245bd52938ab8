/**
 * Local ephemeral storage limits, enforced as the kubelet's eviction manager enforces them
 * (localStorageEviction): a pod is evicted when a disk-backed emptyDir holds more than its
 * `sizeLimit`, when its containers and emptyDirs together use more than the sum of its
 * containers' `ephemeral-storage` limits, or when one container (its writable layer and its log)
 * uses more than its own limit — checked in that order, with the kubelet's messages. Memory-backed
 * emptyDirs are tmpfs mounts of their size (agent/memory_volume.ts) and count as memory, not here.
 *
 * Usage is measured like `du`: allocated blocks of the files under a directory, each inode once.
 * Only pods that set such a limit are measured at all.
 */
import { formatQuantity, parseQuantity } from "../shared/api/quantity.ts";
import { podTotal } from "../shared/api/pod_resources.ts";
import type { Container, Pod } from "./pod_types.ts";

/** What a pod's local storage may hold. */
export interface StorageLimits {
  /** Disk-backed emptyDirs with a sizeLimit, by volume name. */
  emptyDirs: { name: string; bytes: number; text: string }[];
  /** Containers (app and init) with an `ephemeral-storage` limit. */
  containers: { name: string; bytes: number; text: string }[];
  /** The pod's total: set only when a container has a limit, as the kubelet's PodLimits. */
  pod?: { bytes: number; text: string };
}

/** What a pod's local storage holds, in bytes. */
export interface StorageUsage {
  /** Disk-backed emptyDirs, by volume name. */
  emptyDirs: Map<string, number>;
  /** Each container's writable layer plus its log, by container name. */
  containers: Map<string, number>;
}

const LIMIT = "ephemeral-storage";

/** The limits to enforce on `pod`, or undefined when it sets none (nothing to measure). */
export function storageLimitsOf(pod: Pod): StorageLimits | undefined {
  const emptyDirs: StorageLimits["emptyDirs"] = [];
  for (const v of pod.spec.volumes ?? []) {
    const limit = v.emptyDir?.sizeLimit;
    if (limit === undefined || v.emptyDir!.medium === "Memory") continue;
    const bytes = parseQuantity(limit);
    if (bytes > 0) emptyDirs.push({ name: v.name, bytes, text: String(limit) });
  }
  const containers: StorageLimits["containers"] = [];
  const limitOf = (c: Container) => c.resources?.limits?.[LIMIT];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const limit = limitOf(c);
    if (limit !== undefined) {
      containers.push({ name: c.name, bytes: parseQuantity(limit), text: String(limit) });
    }
  }
  if (emptyDirs.length === 0 && containers.length === 0) return undefined;
  return { emptyDirs, containers, pod: podLimit(pod, limitOf) };
}

/**
 * The pod's limit as Kubernetes' PodLimits sums it (shared/api/pod_resources.ts: app containers
 * and sidecars added up, or more while an init container runs); undefined when no container has
 * one.
 */
function podLimit(
  pod: Pod,
  limitOf: (c: Container) => string | number | undefined,
): StorageLimits["pod"] {
  const given = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].map(limitOf)
    .filter((l) => l !== undefined);
  if (given.length === 0) return undefined;
  const bytes = podTotal(pod.spec, (c: Container) => {
    const l = limitOf(c);
    return l === undefined ? 0 : parseQuantity(l);
  });
  // One container's limit reads as it was written; a sum as Kubernetes prints quantities.
  const only = given.filter((l) => parseQuantity(l) === bytes);
  const binary = given.some((l) => /i$/.test(String(l)));
  const text = given.length === 1 && only.length === 1
    ? String(only[0])
    : formatQuantity(bytes, { format: binary ? "BinarySI" : "DecimalSI" });
  return { bytes, text };
}

/**
 * The kubelet's eviction message when `usage` breaks `limits`, or undefined when it does not:
 * emptyDirs first, then the pod's total, then each container.
 */
export function storageVerdict(limits: StorageLimits, usage: StorageUsage): string | undefined {
  for (const e of limits.emptyDirs) {
    if ((usage.emptyDirs.get(e.name) ?? 0) > e.bytes) {
      return `Usage of EmptyDir volume ${JSON.stringify(e.name)} exceeds the limit ${
        JSON.stringify(e.text)
      }. `;
    }
  }
  if (limits.pod) {
    let total = 0;
    for (const b of usage.containers.values()) total += b;
    for (const b of usage.emptyDirs.values()) total += b;
    if (total > limits.pod.bytes) {
      return `Pod ephemeral local storage usage exceeds the total limit of containers ${limits.pod.text}. `;
    }
  }
  for (const c of limits.containers) {
    if ((usage.containers.get(c.name) ?? 0) > c.bytes) {
      return `Container ${c.name} exceeded its local ephemeral storage limit ${
        JSON.stringify(c.text)
      }. `;
    }
  }
  return undefined;
}

/**
 * Bytes allocated to the files under `path` (as `du`: 512-byte blocks, each inode once, not
 * crossing into other mounts); 0 when it does not exist.
 */
export async function diskUsage(path: string): Promise<number> {
  let root: Deno.FileInfo;
  try {
    root = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
  const seen = new Set<number>();
  let total = 0;
  const count = (info: Deno.FileInfo) => {
    if (info.ino !== null && info.nlink !== null && info.nlink > 1) {
      if (seen.has(info.ino)) return;
      seen.add(info.ino);
    }
    total += (info.blocks ?? Math.ceil(info.size / 512)) * 512;
  };
  count(root);
  if (!root.isDirectory) return total;
  const dirs = [path];
  while (dirs.length) {
    const dir = dirs.pop()!;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // removed while walking
      throw e;
    }
    for (const e of entries) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(`${dir}/${e.name}`);
      } catch {
        continue;
      }
      if (info.dev !== root.dev) continue;
      count(info);
      if (info.isDirectory) dirs.push(`${dir}/${e.name}`);
    }
  }
  return total;
}
