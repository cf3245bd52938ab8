/**
 * Plugin `PodTopologySpread`, with kube-scheduler's semantics for `topologySpreadConstraints`.
 * Filter (`whenUnsatisfiable: DoNotSchedule`): placing the pod in the node's domain must keep
 * `matching pods in the domain + 1 (if the pod matches itself) - global minimum <= maxSkew`, the
 * minimum being 0 while fewer than `minDomains` domains exist. Score (`ScheduleAnyway`): fewer
 * matching pods in the node's domains score higher, weighted by `log(domains + 2)`. Nodes count
 * toward the domains when they carry every constraint's topology key and pass the inclusion
 * policies (`nodeAffinityPolicy` Honor by default: the pod's nodeSelector/required affinity;
 * `nodeTaintsPolicy` Ignore by default, Honor: untolerated NoSchedule/NoExecute taints exclude).
 *
 * kube-scheduler's system-default constraints for pods without their own are played by
 * SelectorSpread (spread.ts), which stands back for a pod that has constraints.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { type LabelSelector, newRequirement, Selector } from "../../shared/labels.ts";
import { selectorFromLabelSelector } from "../../shared/labels.ts";
import {
  type FilterPlugin,
  type NodeInfo,
  type PodInfo,
  type ScorePlugin,
  SKIP,
} from "./framework.ts";
import { matchesNodeConstraints } from "./node_selector.ts";
import { findUntoleratedTaint } from "./taint_toleration.ts";

/** One compiled `topologySpreadConstraints` entry. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  /** `labelSelector` with `matchLabelKeys` merged from the pod's labels (nothing when unset). */
  selector: Selector;
  /** `minDomains`, 1 when unset. */
  minDomains: number;
  nodeAffinityPolicy: "Honor" | "Ignore";
  nodeTaintsPolicy: "Honor" | "Ignore";
}

const NOT_MATCH = "node(s) didn't match pod topology spread constraints";
const MISSING_LABEL = [`${NOT_MATCH} (missing required label)`] as const;
const SKEW = [NOT_MATCH] as const;
const HOSTNAME = "kubernetes.io/hostname";

interface RawConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  labelSelector?: LabelSelector | null;
  minDomains?: number | null;
  nodeAffinityPolicy?: string | null;
  nodeTaintsPolicy?: string | null;
  matchLabelKeys?: string[] | null;
}

/**
 * Compiles a pod's `topologySpreadConstraints`; undefined when it has none. `matchLabelKeys`
 * adds `key=value` for each listed key the pod carries (kube-scheduler 1.32 merges them itself).
 */
export function compileSpreadConstraints(pod: KubeObject): SpreadConstraint[] | undefined {
  const raw = pod.spec?.topologySpreadConstraints as RawConstraint[] | undefined;
  if (!raw || raw.length === 0) return undefined;
  const labels: Record<string, string> = pod.metadata.labels ?? {};
  return raw.map((c) => {
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(c.labelSelector);
      const extra = (c.matchLabelKeys ?? []).filter((k) => Object.hasOwn(labels, k))
        .map((k) => newRequirement(k, "=", [labels[k]]));
      if (extra.length > 0 && !selector.matchesNothing) {
        selector = Selector.of([...selector.requirements, ...extra]);
      }
    } catch {
      // Validation refuses bad selectors on create; an old stored one selects nothing.
      selector = Selector.nothing();
    }
    return {
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      whenUnsatisfiable: c.whenUnsatisfiable === "ScheduleAnyway"
        ? "ScheduleAnyway"
        : "DoNotSchedule",
      selector,
      minDomains: c.minDomains ?? 1,
      nodeAffinityPolicy: c.nodeAffinityPolicy === "Ignore" ? "Ignore" : "Honor",
      nodeTaintsPolicy: c.nodeTaintsPolicy === "Honor" ? "Honor" : "Ignore",
    };
  });
}

const TAINT_EFFECTS = ["NoSchedule", "NoExecute"] as const;

/** One node's answers to the inclusion policies' two questions, each asked once per node. */
interface NodeInclusion {
  affinity?: boolean;
  tolerated?: boolean;
}

/**
 * Whether `node` counts toward the constraint's domains for `pod` (the inclusion policies);
 * `memo` (one per node) keeps the node-affinity and taint answers for the pod's other constraints.
 */
function included(c: SpreadConstraint, pod: PodInfo, node: NodeInfo, memo: NodeInclusion): boolean {
  if (c.nodeAffinityPolicy === "Honor" && !(memo.affinity ??= matchesNodeConstraints(pod, node))) {
    return false;
  }
  if (c.nodeTaintsPolicy === "Honor") {
    memo.tolerated ??= !findUntoleratedTaint(node.taints, pod.tolerations, TAINT_EFFECTS);
    if (!memo.tolerated) return false;
  }
  return true;
}

function hasAllKeys(node: NodeInfo, constraints: readonly SpreadConstraint[]): boolean {
  return constraints.every((c) => Object.hasOwn(node.labels, c.topologyKey));
}

/**
 * Pods on `node` in `namespace` that `selector` matches, not counting pods being deleted. An
 * empty selector counts none (kube-scheduler's `countPodsMatchSelector`).
 */
export function countMatching(node: NodeInfo, selector: Selector, namespace: string): number {
  if (selector.empty || selector.matchesNothing) return 0;
  const pods = node.pods.get(namespace);
  if (!pods) return 0;
  let n = 0;
  for (const p of pods.values()) if (!p.terminating && selector.matches(p.labels)) n++;
  return n;
}

/** The spreading plugin: filter and score. Not re-entrant: one decision at a time. */
export function createTopologySpread(weight = 2): FilterPlugin & ScorePlugin {
  // PreFilter state: the DoNotSchedule constraints, matching pods per domain, global minimums.
  let hard: SpreadConstraint[] = [];
  let counts: Map<string, number>[] = [];
  let minimums: number[] = [];
  // PreScore state: raw scores and the nodes without every topology key.
  const scores = new Map<string, number>();
  let scoreMin = 0;
  let scoreMax = 0;
  return {
    name: "PodTopologySpread",
    events: ["Node", "NodeDelete", "AssignedPodAdd", "AssignedPodDelete"],
    weight,
    preFilter(pod, nodes) {
      hard = (pod.spreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === "DoNotSchedule");
      counts = hard.map(() => new Map());
      if (hard.length === 0) return SKIP;
      for (const node of nodes) {
        if (!hasAllKeys(node, hard)) continue;
        const memo: NodeInclusion = {};
        hard.forEach((c, i) => {
          if (!included(c, pod, node, memo)) return;
          const value = node.labels[c.topologyKey];
          const n = countMatching(node, c.selector, pod.namespace);
          counts[i].set(value, (counts[i].get(value) ?? 0) + n);
        });
      }
      minimums = hard.map((c, i) => {
        // Fewer eligible domains than minDomains: the global minimum is taken as 0.
        if (counts[i].size < c.minDomains) return 0;
        return Math.min(...counts[i].values());
      });
      return undefined;
    },
    filter(pod, node) {
      for (let i = 0; i < hard.length; i++) {
        const c = hard[i];
        const value = node.labels[c.topologyKey];
        if (value === undefined) return MISSING_LABEL;
        const self = c.selector.matches(pod.labels) ? 1 : 0;
        if ((counts[i].get(value) ?? 0) + self - minimums[i] > c.maxSkew) return SKEW;
      }
      return null;
    },
    prepare(pod, feasible, all) {
      scores.clear();
      const soft = (pod.spreadConstraints ?? []).filter((c) =>
        c.whenUnsatisfiable === "ScheduleAnyway"
      );
      if (soft.length === 0) return SKIP;
      // Domains among the feasible nodes that have every key; the others score 0.
      const scored = feasible.filter((n) => hasAllKeys(n, soft));
      const domainCounts = soft.map((c) => {
        const m = new Map<string, number>();
        if (c.topologyKey === HOSTNAME) return m;
        for (const n of scored) m.set(n.labels[c.topologyKey], 0);
        return m;
      });
      const weights = soft.map((c, i) =>
        Math.log((c.topologyKey === HOSTNAME ? scored.length : domainCounts[i].size) + 2)
      );
      for (const node of all) {
        if (!hasAllKeys(node, soft)) continue;
        const memo: NodeInclusion = {};
        soft.forEach((c, i) => {
          if (c.topologyKey === HOSTNAME || !included(c, pod, node, memo)) return;
          const value = node.labels[c.topologyKey];
          const current = domainCounts[i].get(value);
          if (current === undefined) return;
          domainCounts[i].set(value, current + countMatching(node, c.selector, pod.namespace));
        });
      }
      scoreMin = Infinity;
      scoreMax = 0;
      for (const node of scored) {
        let sum = 0;
        soft.forEach((c, i) => {
          const count = c.topologyKey === HOSTNAME
            ? countMatching(node, c.selector, pod.namespace)
            : domainCounts[i].get(node.labels[c.topologyKey])!;
          sum += count * weights[i] + (c.maxSkew - 1);
        });
        const s = Math.round(sum);
        scores.set(node.name, s);
        if (s < scoreMin) scoreMin = s;
        if (s > scoreMax) scoreMax = s;
      }
      return undefined;
    },
    score(_pod, node) {
      const s = scores.get(node.name);
      if (s === undefined) return 0;
      if (scoreMax === 0) return 100;
      // kube-scheduler's NormalizeScore: fewest matching pods → 100.
      return Math.floor((100 * (scoreMax + scoreMin - s)) / scoreMax);
    },
  };
}
