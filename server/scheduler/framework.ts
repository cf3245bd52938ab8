/**
 * The scheduler framework: named filter and score plugins, and `schedule()`, which runs them over
 * a snapshot of nodes to pick one node for a pod or explain, in kubectl's words, why none fits.
 *
 * Per pod, everything the plugins need (requests, ports, compiled affinity) is computed once into
 * a {@linkcode PodInfo}; per node, a {@linkcode NodeInfo} carries the totals the cache keeps
 * incrementally, so one decision never rescans the cluster's pods.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { Selector } from "../../shared/labels.ts";
import type { PodVolumes } from "./volume_binding.ts";
import type { NodeAffinityTerm, WeightedNodeAffinityTerm } from "./node_selector.ts";
import type { PodAffinityTerms } from "./affinity_term.ts";
import type { SpreadConstraint } from "./topology_spread.ts";

/** Resource amounts in scheduler units: milli-CPU, bytes of memory, pod count. */
export interface Resources {
  milliCpu: number;
  memory: number;
  /** Bytes of local ephemeral storage (`ephemeral-storage`). */
  ephemeralStorage: number;
  pods: number;
}

/** A host port in use, as `protocol/hostIP/port` (hostIP `0.0.0.0` when unset). */
export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

/** Everything the plugins read about the pod being scheduled, computed once per attempt. */
export interface PodInfo {
  pod: KubeObject;
  /** `namespace/name`. */
  key: string;
  requests: Resources;
  hostPorts: HostPort[];
  /** uid of the controlling owner, the spreading group; undefined when none. */
  ownerUid?: string;
  /** `spec.nodeSelector` and required node affinity, compiled; undefined when unconstrained. */
  nodeSelector?: Selector;
  /** Required node affinity terms (ORed); undefined when absent. */
  affinityTerms?: NodeAffinityTerm[];
  /** The only nodes the required affinity allows by `metadata.name`, if it names them. */
  nodeNames?: Set<string>;
  tolerations: Toleration[];
  /** The pod's PersistentVolumeClaims as the VolumeBinding PreFilter found them; none when unset. */
  volumes?: PodVolumes;
  /** The pod's namespace and labels, as other pods' affinity terms and spread selectors see it. */
  namespace: string;
  labels: Record<string, string>;
  /** Preferred node affinity terms (NodeAffinity score); undefined when none. */
  preferredNodeTerms?: WeightedNodeAffinityTerm[];
  /** Pod affinity and anti-affinity, compiled; undefined when the pod has none. */
  podAffinity?: PodAffinityTerms;
  /** `topologySpreadConstraints`, compiled; undefined when the pod has none. */
  spreadConstraints?: SpreadConstraint[];
  /**
   * The labels of a namespace (for `namespaceSelector`); the scheduler sets it from its
   * informer. Without it every namespace counts as unlabelled.
   */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
}

/** A pod placed on a node, as pod affinity and topology spreading see it. */
export interface PlacedPod {
  key: string;
  namespace: string;
  labels: Record<string, string>;
  /** Being deleted (topology spreading does not count it, as kube-scheduler). */
  terminating: boolean;
  /** Its own pod (anti-)affinity terms (for symmetry); undefined when none. */
  podAffinity?: PodAffinityTerms;
}

/** Pod tolerations and node taints are the API types (core/v1), declared once in shared/api. */
import type { Taint, Toleration } from "../../shared/api/core_v1.ts";
export type { Taint, Toleration };

/** One node as the plugins see it: the object plus what the cache sums up about its pods. */
export interface NodeInfo {
  name: string;
  node: KubeObject;
  allocatable: Resources;
  /** Sum of the requests of non-terminated pods assigned (or assumed) to the node. */
  requested: Resources;
  /** Host ports in use, keyed `protocol/port` → host IPs. */
  usedPorts: Map<string, string[]>;
  /** Number of pods on the node per controlling owner uid (for spreading). */
  ownerCounts: Map<string, number>;
  /** The node's pods by namespace, then `namespace/name`. */
  pods: Map<string, Map<string, PlacedPod>>;
  /** The node's pods that have pod (anti-)affinity terms, by key. */
  podsWithAffinity: Map<string, PlacedPod>;
  /** The node's pods that have required pod anti-affinity terms, by key. */
  podsWithRequiredAntiAffinity: Map<string, PlacedPod>;
  /** Derived from the node object when it changes. */
  ready: boolean;
  unschedulable: boolean;
  taints: Taint[];
  labels: Record<string, string>;
}

/** What a PreFilter or PreScore step returns when its plugin has nothing to do for the pod. */
export const SKIP = "Skip";

/**
 * A change in the cluster that may let a waiting pod in (kube-scheduler's ClusterEvent, coarser):
 * a node added or changed in what scheduling reads, a node removed, a pod placed on a node or
 * relabelled there, a placed pod deleted or finished, a change to claims, volumes or storage
 * classes, a namespace relabelled.
 */
export type ClusterEvent =
  | "Node"
  | "NodeDelete"
  | "AssignedPodAdd"
  | "AssignedPodDelete"
  | "Storage"
  | "NamespaceLabels";

/** A filter step: `null` when the node fits, else the reasons it does not. */
export interface FilterPlugin {
  readonly name: string;
  /**
   * The events that may make a pod this filter rejected fit (kube-scheduler's EventsToRegister
   * and queueing hints): a pod that waits only because of such filters is retried on these alone.
   * Unset: any event.
   */
  readonly events?: readonly ClusterEvent[];
  /**
   * Optional per-pod preparation over every node of the cluster before any node is filtered
   * (kube-scheduler's PreFilter, e.g. counting matching pods per topology domain). Returning
   * {@linkcode SKIP} says the filter passes every node for this pod, so it is not called.
   */
  preFilter?(pod: PodInfo, nodes: readonly NodeInfo[]): typeof SKIP | void;
  filter(pod: PodInfo, node: NodeInfo): readonly string[] | null;
}

/** A score step: 0–100 per node, higher is better; multiplied by `weight`. */
export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /**
   * Optional per-pod preparation over the feasible nodes (e.g. max counts for normalising);
   * `all` is every node of the cluster, for counts that look beyond the feasible ones.
   * Returning {@linkcode SKIP} says every node scores alike for this pod: it is not called.
   */
  prepare?(
    pod: PodInfo,
    feasible: readonly NodeInfo[],
    all: readonly NodeInfo[],
  ): typeof SKIP | void;
  score(pod: PodInfo, node: NodeInfo): number;
}

/** The plugin lists one scheduler runs, in order. */
export interface Profile {
  filters: readonly FilterPlugin[];
  scores: readonly ScorePlugin[];
}

/** The outcome of one scheduling attempt. */
export type ScheduleResult =
  | { node: NodeInfo }
  | {
    node?: undefined;
    reasons: Map<string, number>;
    message: string;
    numNodes: number;
    /** The filters that rejected a node (kube-scheduler's UnschedulablePlugins). */
    plugins: Set<string>;
  };

/** Options of {@linkcode schedule}. */
export interface ScheduleOptions {
  /**
   * Stop filtering once this many feasible nodes are found (Kubernetes'
   * percentageOfNodesToScore); the scan starts where the previous one stopped so load rotates.
   */
  feasibleNodesToFind?: number;
  /** Where to start scanning; {@linkcode schedule} returns where it stopped in `nextStart`. */
  start?: number;
  /** Source of randomness for breaking ties; defaults to Math.random. */
  random?: () => number;
}

/**
 * Kubernetes' adaptive default for how many feasible nodes to find before scoring: all of them
 * below 100 nodes, else a percentage falling from 50% (at least 5%, at least 100 nodes).
 */
export function numFeasibleNodesToFind(numNodes: number): number {
  if (numNodes < 100) return numNodes;
  const percentage = Math.max(5, 50 - Math.floor(numNodes / 125));
  return Math.max(100, Math.floor((numNodes * percentage) / 100));
}

/**
 * Picks a node for `pod` among `nodes`: every filter must pass, then the weighted score sum is
 * highest (ties broken at random). When nothing fits, returns the reason histogram and the
 * FailedScheduling message.
 */
export function schedule(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  options: ScheduleOptions & { profile: Profile },
): ScheduleResult & { nextStart: number } {
  const { filters, scores } = options.profile;
  // Plugins whose PreFilter skips this pod are left out of its filtering (kube-scheduler's Skip).
  const active = filters.filter((f) => f.preFilter?.(pod, nodes) !== SKIP);
  const profile = active.length === filters.length ? options.profile : { filters: active, scores };
  return scheduleAmong(pod, nodes, { ...options, profile, all: nodes });
}

/** {@linkcode schedule} after PreFilter: `nodes` may be a subset of `all`. */
function scheduleAmong(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  options: ScheduleOptions & { profile: Profile; all: readonly NodeInfo[] },
): ScheduleResult & { nextStart: number } {
  const { profile, all } = options;
  if (pod.nodeNames) return scheduleOnNamed(pod, nodes, options);
  const n = nodes.length;
  const want = Math.min(n, options.feasibleNodesToFind ?? n);
  const start = n === 0 ? 0 : (options.start ?? 0) % n;
  const feasible: NodeInfo[] = [];
  let failed: Map<string, number> | undefined;
  const plugins = new Set<string>();
  let i = 0;
  for (; i < n && feasible.length < want; i++) {
    const node = nodes[(start + i) % n];
    let ok = true;
    for (const f of profile.filters) {
      const reasons = f.filter(pod, node);
      if (reasons !== null) {
        failed ??= new Map();
        for (const r of reasons) failed.set(r, (failed.get(r) ?? 0) + 1);
        plugins.add(f.name);
        ok = false;
        break;
      }
    }
    if (ok) feasible.push(node);
  }
  const nextStart = n === 0 ? 0 : (start + i) % n;
  if (feasible.length === 0) {
    const reasons = failed ?? new Map<string, number>();
    return { reasons, message: fitErrorMessage(n, reasons), numNodes: n, plugins, nextStart };
  }
  if (feasible.length === 1 || profile.scores.length === 0) {
    return { node: feasible[0], nextStart };
  }
  const scores = profile.scores.filter((s) => s.prepare?.(pod, feasible, all) !== SKIP);
  const random = options.random ?? Math.random;
  let best = -1;
  let chosen = feasible[0];
  let ties = 0;
  for (const node of feasible) {
    let total = 0;
    for (const s of scores) total += s.weight * s.score(pod, node);
    if (total > best) {
      best = total;
      chosen = node;
      ties = 1;
    } else if (total === best) {
      // Reservoir sampling: each tied node ends up chosen with equal probability.
      ties++;
      if (random() * ties < 1) chosen = node;
    }
  }
  return { node: chosen, nextStart };
}

/**
 * {@linkcode schedule} for a pod whose affinity names its nodes (Kubernetes' PreFilterResult):
 * only those are filtered and scored; every other node counts as an affinity mismatch.
 */
function scheduleOnNamed(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  options: ScheduleOptions & { profile: Profile; all: readonly NodeInfo[] },
): ScheduleResult & { nextStart: number } {
  const named = nodes.filter((node) => pod.nodeNames!.has(node.name));
  const r = scheduleAmong({ ...pod, nodeNames: undefined }, named, {
    ...options,
    feasibleNodesToFind: named.length,
    start: 0,
  });
  const nextStart = options.start ?? 0;
  if (r.node) return { node: r.node, nextStart };
  const reasons = new Map(r.reasons);
  const plugins = new Set(r.plugins);
  const others = nodes.length - named.length;
  if (others > 0) {
    reasons.set(AFFINITY_MISMATCH, (reasons.get(AFFINITY_MISMATCH) ?? 0) + others);
    plugins.add(NODE_AFFINITY);
  }
  return {
    reasons,
    message: fitErrorMessage(nodes.length, reasons),
    numNodes: nodes.length,
    plugins,
    nextStart,
  };
}

const AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";
/** The filter that names a pod's nodes (node_selector.ts). */
const NODE_AFFINITY = "NodeAffinity";

/**
 * The message of a scheduling failure, as kube-scheduler writes it: `0/3 nodes are available:
 * 1 Insufficient memory, 2 node(s) had untolerated taint {k: v}.` — "count reason" strings
 * sorted as strings.
 */
export function fitErrorMessage(numNodes: number, reasons: Map<string, number>): string {
  const parts: string[] = [];
  for (const [reason, count] of reasons) parts.push(`${count} ${reason}`);
  parts.sort();
  // kube-scheduler's ErrNoNodesAvailable.
  if (numNodes === 0) return "no nodes available to schedule pods";
  const head = `0/${numNodes} nodes are available`;
  return parts.length === 0 ? `${head}.` : `${head}: ${parts.join(", ")}.`;
}
