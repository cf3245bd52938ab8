/**
 * What the agent reports about its node: capacity and allocatable from the host (/proc: CPU
 * cores, memory; 110 pods), the well-known labels, `nodeInfo`, addresses, the agent's API port,
 * the images present, and the Ready / MemoryPressure / DiskPressure / PIDPressure conditions
 * measured from /proc and the data-dir filesystem.
 */

import { LOCAL_PATH_ROOT_ANNOTATION } from "../shared/local_path.ts";
import type { KubeObject } from "../shared/api/object.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import type { Condition as ApiCondition } from "../shared/api/meta.ts";

/** Host measurements the conditions are computed from. */
export interface HostSample {
  cpuCores: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  /** Free / total bytes of the filesystem holding the data dir. */
  diskFreeBytes: number;
  diskTotalBytes: number;
  pidsInUse: number;
  pidMax: number;
}

/** Pressure thresholds (Kubernetes' default eviction thresholds). */
export const THRESHOLDS = {
  memoryAvailableBytes: 100 * 1024 * 1024,
  diskFreeFraction: 0.1,
  pidsFreeFraction: 0.1,
};

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

async function diskUsage(path: string): Promise<{ free: number; total: number }> {
  try {
    const out = await new Deno.Command("df", { args: ["-Pk", path], stderr: "null" }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    const f = line.split(/\s+/);
    const total = Number(f[1]) * 1024;
    const free = Number(f[3]) * 1024;
    if (Number.isFinite(total) && Number.isFinite(free)) return { free, total };
  } catch { /* no df: report no pressure */ }
  return { free: 1, total: 1 };
}

/** Measures the host: /proc for CPU, memory and PIDs, `df` for the data dir's filesystem. */
export async function sampleHost(dataDir: string): Promise<HostSample> {
  const meminfo = await readText("/proc/meminfo");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  const sys = Deno.systemMemoryInfo();
  const cpuinfo = await readText("/proc/cpuinfo");
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || navigator.hardwareConcurrency;
  let pids = 0;
  try {
    for await (const e of Deno.readDir("/proc")) if (/^\d+$/.test(e.name)) pids++;
  } catch { /* not Linux */ }
  const disk = await diskUsage(dataDir);
  return {
    cpuCores: cores,
    memoryTotalBytes: kb("MemTotal") || sys.total,
    memoryAvailableBytes: kb("MemAvailable") || sys.available,
    diskFreeBytes: disk.free,
    diskTotalBytes: disk.total,
    pidsInUse: pids,
    pidMax: Number((await readText("/proc/sys/kernel/pid_max")).trim()) || 32768,
  };
}

/** Kubernetes' architecture name for this process's CPU. */
export function kubeArch(): string {
  const a: string = Deno.build.arch;
  return a === "x86_64" ? "amd64" : a === "aarch64" ? "arm64" : a;
}

/** Options for {@linkcode buildNode}. */
export interface NodeFacts {
  nodeName: string;
  nodeAddress: string;
  apiPort: number;
  /** Extra labels for the node (beyond the well-known ones). */
  labels?: Record<string, string>;
  /** Where local-path volumes live, published as the node's local-path root annotation. */
  localPathRoot?: string;
  /** Extra annotations for the node (the proxy mode, say). */
  annotations?: Record<string, string>;
}

/** The static part of the node's status: nodeInfo, from the host and the Docker engine. */
export async function nodeInfo(rt: DockerRuntime): Promise<Record<string, string>> {
  const version = await rt.version().catch(() => undefined);
  const osRelease = await readText("/etc/os-release");
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? "Linux";
  const machineID = (await readText("/etc/machine-id")).trim();
  return {
    machineID,
    systemUUID: machineID,
    bootID: (await readText("/proc/sys/kernel/random/boot_id")).trim(),
    kernelVersion: Deno.osRelease(),
    osImage: pretty,
    containerRuntimeVersion: `docker://${version?.Version ?? "unknown"}`,
    kubeletVersion: "v1.32.0-skiff",
    kubeProxyVersion: "v1.32.0-skiff",
    operatingSystem: Deno.build.os,
    architecture: kubeArch(),
  };
}

/** The node object the agent registers. */
export function buildNode(facts: NodeFacts, sample: HostSample): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: facts.nodeName,
      labels: {
        "kubernetes.io/arch": kubeArch(),
        "kubernetes.io/os": Deno.build.os,
        "kubernetes.io/hostname": facts.nodeName,
        "beta.kubernetes.io/arch": kubeArch(),
        "beta.kubernetes.io/os": Deno.build.os,
        ...facts.labels,
      },
      ...(facts.localPathRoot || facts.annotations
        ? {
          annotations: {
            ...facts.annotations,
            ...(facts.localPathRoot ? { [LOCAL_PATH_ROOT_ANNOTATION]: facts.localPathRoot } : {}),
          },
        }
        : {}),
    },
    spec: {},
    status: {
      capacity: capacity(sample),
      allocatable: capacity(sample),
      addresses: addresses(facts),
      daemonEndpoints: { kubeletEndpoint: { Port: facts.apiPort } },
    },
  };
}

function capacity(s: HostSample): Record<string, string> {
  return {
    cpu: String(s.cpuCores),
    memory: `${Math.floor(s.memoryTotalBytes / 1024)}Ki`,
    pods: "110",
    "ephemeral-storage": `${Math.floor(s.diskTotalBytes / 1024)}Ki`,
  };
}

function addresses(f: NodeFacts): { type: string; address: string }[] {
  return [
    { type: "InternalIP", address: f.nodeAddress },
    { type: "Hostname", address: f.nodeName },
  ];
}

/** A node condition with the reason and message the agent always sets. */
type Condition = ApiCondition & { reason: string; message: string };

/**
 * The four node conditions for a host sample (without times). `runtimeError` (the Docker engine
 * not answering) makes the node NotReady, as the kubelet reports a down container runtime;
 * so does `networkError` (no pod network yet), as the kubelet reports NetworkReady=false.
 */
export function nodeConditions(
  s: HostSample,
  runtimeError?: string,
  networkError?: string,
): Condition[] {
  const memPressure = s.memoryAvailableBytes < THRESHOLDS.memoryAvailableBytes;
  const diskPressure = s.diskTotalBytes > 0 &&
    s.diskFreeBytes / s.diskTotalBytes < THRESHOLDS.diskFreeFraction;
  const pidPressure = s.pidMax > 0 &&
    (s.pidMax - s.pidsInUse) / s.pidMax < THRESHOLDS.pidsFreeFraction;
  return [
    {
      type: "MemoryPressure",
      status: memPressure ? "True" : "False",
      reason: memPressure ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
      message: memPressure
        ? "kubelet has insufficient memory available"
        : "kubelet has sufficient memory available",
    },
    {
      type: "DiskPressure",
      status: diskPressure ? "True" : "False",
      reason: diskPressure ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
      message: diskPressure ? "kubelet has disk pressure" : "kubelet has no disk pressure",
    },
    {
      type: "PIDPressure",
      status: pidPressure ? "True" : "False",
      reason: pidPressure ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
      message: pidPressure
        ? "kubelet has insufficient PID available"
        : "kubelet has sufficient PID available",
    },
    runtimeError
      ? {
        type: "Ready",
        status: "False",
        reason: "KubeletNotReady",
        message: `container runtime is down: ${runtimeError}`,
      }
      : networkError
      ? {
        type: "Ready",
        status: "False",
        reason: "KubeletNotReady",
        message:
          `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:${networkError}`,
      }
      : {
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
      },
  ];
}

/**
 * The node's full status for a patch: conditions with heartbeat `now` and transition times kept
 * from `previous` when the status didn't change.
 */
export function nodeStatus(
  facts: NodeFacts,
  ctx: {
    sample: HostSample;
    info: Record<string, string>;
    images: { names: string[]; sizeBytes: number }[];
    previous?: ApiCondition[];
    now: string;
    /** Set when the Docker engine does not answer. */
    runtimeError?: string;
    /** Set while the node has no pod network (no podCIDR yet). */
    networkError?: string;
  },
): Record<string, unknown> {
  const conditions = nodeConditions(ctx.sample, ctx.runtimeError, ctx.networkError).map((c) => {
    const old = ctx.previous?.find((p) => p.type === c.type);
    return {
      ...c,
      lastHeartbeatTime: ctx.now,
      lastTransitionTime: old && old.status === c.status && old.lastTransitionTime
        ? old.lastTransitionTime
        : ctx.now,
    };
  });
  return {
    capacity: capacity(ctx.sample),
    allocatable: capacity(ctx.sample),
    conditions,
    addresses: addresses(facts),
    daemonEndpoints: { kubeletEndpoint: { Port: facts.apiPort } },
    nodeInfo: ctx.info,
    images: ctx.images,
  };
}

/** The node's images for `status.images` (largest first, at most 50, as the kubelet does). */
export async function nodeImages(
  rt: DockerRuntime,
): Promise<{ names: string[]; sizeBytes: number }[]> {
  const list = await rt.listImages();
  return list
    .map((i) => ({
      names: [...(i.RepoDigests ?? []), ...(i.RepoTags ?? [])].filter((n) => !n.includes("<none>")),
      sizeBytes: i.Size,
    }))
    .filter((i) => i.names.length > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, 50);
}
