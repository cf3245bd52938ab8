/**
 * The pod sandbox: one infra ("pause") container per pod that owns the pod's network namespace,
 * attached to the node's pod network (pod_network.ts), so the pod has its own address from the
 * node's podCIDR. App containers join it (`NetworkMode: container:<id>`), so they share
 * localhost. As in Kubernetes, a container port is published on the node only when it declares a
 * `hostPort` (on its `hostIP`, default the node address); those become `status.portMappings`.
 * `hostNetwork: true` pods use the node's network namespace and address instead; `hostIPC` and
 * `hostPID` put the sandbox (and the pod's containers, container_config.ts) in the node's IPC and
 * PID namespaces.
 */

import type { Docker } from "./docker_runtime.ts";
import { podLabels } from "./container_config.ts";
import { podKernelHostname } from "./pod_dns.ts";
import {
  dockerContainerName,
  INFRA_CONTAINER_NAME,
  LABEL_CONTAINER_NAME,
  LABEL_KIND,
  LABEL_RESTART_COUNT,
} from "./labels.ts";
import type { Pod, PortMapping } from "./pod_types.ts";
import { sandboxSysctls } from "./sysctls.ts";

/** Options for {@linkcode sandboxCreateOptions}. */
export interface SandboxOptions {
  pauseImage: string;
  /** The address hostPorts are published on when no hostIP is given (the node's InternalIP). */
  nodeAddress: string;
  /** The Docker network of the node's pods (pod_network.ts). */
  network: string;
  /** How many sandboxes this pod had before (part of the Docker name). */
  attempt: number;
  /** The cluster domain, for the FQDN of `setHostnameAsFQDN` (default cluster.local). */
  clusterDomain?: string;
}

function dockerProtocol(p?: string): string {
  return (p ?? "TCP").toLowerCase();
}

/** Docker create options for the pod's infra container. */
export function sandboxCreateOptions(
  pod: Pod,
  options: SandboxOptions,
): Docker.ContainerCreateOptions {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  if (!pod.spec.hostNetwork) {
    for (const c of pod.spec.containers) {
      for (const p of c.ports ?? []) {
        if (!p.hostPort) continue;
        const key = `${p.containerPort}/${dockerProtocol(p.protocol)}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({
          HostIp: p.hostIP || options.nodeAddress,
          HostPort: String(p.hostPort),
        });
      }
    }
  }
  // The kubelet's hostname: spec.hostname or the pod name cut to a DNS label; the FQDN with
  // setHostnameAsFQDN.
  const hostname = podKernelHostname(pod, options.clusterDomain ?? "cluster.local");
  return {
    name: dockerContainerName(pod.metadata, INFRA_CONTAINER_NAME, options.attempt),
    Image: options.pauseImage,
    Hostname: pod.spec.hostNetwork ? undefined : hostname,
    ExposedPorts: exposed,
    Labels: {
      ...podLabels(pod),
      [LABEL_KIND]: "sandbox",
      [LABEL_CONTAINER_NAME]: INFRA_CONTAINER_NAME,
      [LABEL_RESTART_COUNT]: String(options.attempt),
    },
    HostConfig: {
      NetworkMode: pod.spec.hostNetwork ? "host" : options.network,
      PortBindings: bindings,
      // The pod's IPC namespace, joined by its containers; the node's with hostIPC. With hostPID
      // the pause process lives in the node's PID namespace too, as the kubelet's sandbox does.
      IpcMode: pod.spec.hostIPC ? "host" : "shareable",
      PidMode: pod.spec.hostPID ? "host" : undefined,
      RestartPolicy: { Name: "no" },
      // The pause process needs almost nothing; keep it from looking like a real workload.
      Memory: 32 * 1024 * 1024,
      // Namespaced sysctls belong to the namespaces the sandbox owns (pod_sync admits them).
      Sysctls: sandboxSysctls(pod),
    },
  };
}

/** The pod's IP: the infra container's address on the pod network (node address on host network). */
export function sandboxIP(
  info: Docker.ContainerInspectInfo,
  nodeAddress: string,
): string | undefined {
  if (info.HostConfig.NetworkMode === "host") return nodeAddress;
  const ns = info.NetworkSettings;
  if (ns.IPAddress) return ns.IPAddress;
  for (const n of Object.values(ns.Networks ?? {})) if (n.IPAddress) return n.IPAddress;
  return undefined;
}

/**
 * The container ports published on the node (those with a hostPort; every declared port of a
 * hostNetwork pod), read back from the running infra container.
 */
export function portMappings(
  pod: Pod,
  info: Docker.ContainerInspectInfo,
  nodeAddress: string,
): PortMapping[] {
  const out: PortMapping[] = [];
  const published = (info.NetworkSettings.Ports ?? {}) as Record<
    string,
    { HostIp: string; HostPort: string }[] | null
  >;
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? "TCP";
      let hostIP = nodeAddress;
      let hostPort = p.containerPort;
      if (!pod.spec.hostNetwork) {
        if (!p.hostPort) continue;
        const bound = published[`${p.containerPort}/${dockerProtocol(p.protocol)}`]?.[0];
        if (!bound) continue;
        hostIP = bound.HostIp || nodeAddress;
        hostPort = Number(bound.HostPort);
      }
      const m: PortMapping = {
        containerName: c.name,
        containerPort: p.containerPort,
        protocol,
        hostIP,
        hostPort,
      };
      if (p.name) m.name = p.name;
      out.push(m);
    }
  }
  return out;
}
