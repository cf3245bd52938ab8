/**
 * Builds the metrics.k8s.io/v1beta1 objects `kubectl top` reads — NodeMetrics, PodMetrics and
 * their lists — from usage numbers gathered elsewhere (the agents read them from Docker). The
 * quantities are formatted the way metrics-server does: CPU in nanocores (`123456789n`, or the
 * shorter exact form such as `250m`), memory as a binary-SI quantity of whole KiB (`1818148Ki`).
 */
import type { KubeList } from "../../shared/api/object.ts";
import type { NodeMetrics, PodMetrics } from "../../shared/api/metrics_v1beta1.ts";
import { formatQuantity } from "../../shared/api/quantity.ts";
import { rfc3339 } from "../../shared/time.ts";

/** The API group/version of every object built here. */
export const METRICS_API_VERSION = "metrics.k8s.io/v1beta1";

/** One CPU/memory sample. */
export interface Usage {
  /** CPU use averaged over the window, in nanocores (1 core = 1e9). */
  cpuNanoCores: number;
  /** Memory working set, in bytes. */
  memoryBytes: number;
}

/** Sample metadata shared by nodes and pods. */
export interface SampleInfo {
  /** When the sample was taken (end of the window); defaults to now. */
  timestamp?: Date;
  /** How long the CPU average covers, in seconds; defaults to 10. */
  windowSeconds?: number;
  /** Labels of the node/pod, so label selectors (`kubectl top pods -l`) can be applied. */
  labels?: Record<string, string>;
}

/** Usage of one node. */
export interface NodeUsage extends Usage, SampleInfo {
  name: string;
}

/** Usage of one pod, per container. */
export interface PodUsage extends SampleInfo {
  namespace: string;
  name: string;
  containers: (Usage & { name: string })[];
}

/** CPU as metrics-server prints it: nanocores, or the exact shorter form (`250m`, `2`). */
export function formatCpu(nanoCores: number): string {
  const n = Math.max(0, Math.round(nanoCores));
  if (n === 0) return "0";
  if (n % 1e9 === 0) return String(n / 1e9);
  if (n % 1e6 === 0) return `${n / 1e6}m`;
  if (n % 1e3 === 0) return `${n / 1e3}u`;
  return `${n}n`;
}

/** Memory as metrics-server prints it: whole KiB, in the largest exact binary unit. */
export function formatMemory(bytes: number): string {
  const kib = Math.max(0, Math.round(bytes / 1024));
  return formatQuantity(kib * 1024, { format: "BinarySI" });
}

function usage(u: Usage): { cpu: string; memory: string } {
  return { cpu: formatCpu(u.cpuNanoCores), memory: formatMemory(u.memoryBytes) };
}

/** `window` as a Go duration string (`10s`, `2.5s`). */
function formatWindow(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

function sampleFields(info: SampleInfo, now: Date) {
  return {
    timestamp: rfc3339(info.timestamp ?? now),
    window: formatWindow(info.windowSeconds ?? 10),
  };
}

/** One NodeMetrics (`GET /apis/metrics.k8s.io/v1beta1/nodes/<name>`). */
export function nodeMetrics(item: NodeUsage, options: { now?: Date } = {}): NodeMetrics {
  const now = options.now ?? new Date();
  return {
    kind: "NodeMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: {
      name: item.name,
      creationTimestamp: rfc3339(now),
      ...(item.labels ? { labels: item.labels } : {}),
    },
    ...sampleFields(item, now),
    usage: usage(item),
  };
}

/** One PodMetrics (`GET /apis/metrics.k8s.io/v1beta1/namespaces/<ns>/pods/<name>`). */
export function podMetrics(item: PodUsage, options: { now?: Date } = {}): PodMetrics {
  const now = options.now ?? new Date();
  return {
    kind: "PodMetrics",
    apiVersion: METRICS_API_VERSION,
    metadata: {
      name: item.name,
      namespace: item.namespace,
      creationTimestamp: rfc3339(now),
      ...(item.labels ? { labels: item.labels } : {}),
    },
    ...sampleFields(item, now),
    containers: item.containers.map((c) => ({ name: c.name, usage: usage(c) })),
  };
}

/** NodeMetricsList for `kubectl top nodes`, items sorted by name. */
export function nodeMetricsList(
  items: NodeUsage[],
  options: { now?: Date } = {},
): KubeList<NodeMetrics & { metadata: NonNullable<NodeMetrics["metadata"]> }> {
  const sorted = [...items].sort((a, b) => a.name.localeCompare(b.name));
  return {
    kind: "NodeMetricsList",
    apiVersion: METRICS_API_VERSION,
    metadata: {},
    items: sorted.map((item) => nodeMetrics(item, options)),
  };
}

/** PodMetricsList for `kubectl top pods`, items sorted by namespace and name. */
export function podMetricsList(
  items: PodUsage[],
  options: { now?: Date } = {},
): KubeList<PodMetrics & { metadata: NonNullable<PodMetrics["metadata"]> }> {
  const sorted = [...items].sort((a, b) =>
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)
  );
  return {
    kind: "PodMetricsList",
    apiVersion: METRICS_API_VERSION,
    metadata: {},
    items: sorted.map((item) => podMetrics(item, options)),
  };
}
