/**
 * Plugin `InterPodAffinity`, with kube-scheduler's semantics. Filter: the node's topology domain
 * (the value of each term's `topologyKey` on the node) must hold a pod matching every required
 * affinity term — unless no pod anywhere matches them and the pod matches its own terms (the
 * first pod of a group) — and no pod matching a required anti-affinity term; and no pod already
 * placed may have a required anti-affinity term matching this pod in the node's domain
 * (symmetry). Score: preferred terms of the pod and of the placed pods (plus the placed pods'
 * required affinity terms, weight 1) add or subtract their weight per domain, normalised to 0–100.
 */
import {
  type AffinityTerm,
  type NamespaceLabels,
  type PodAffinityTerms,
  termMatches,
  termNamespaces,
  type TermTarget,
} from "./affinity_term.ts";
import {
  type FilterPlugin,
  type NodeInfo,
  type PlacedPod,
  type ScorePlugin,
  SKIP,
} from "./framework.ts";

const AFFINITY = ["node(s) didn't match pod affinity rules"] as const;
const ANTI_AFFINITY = ["node(s) didn't match pod anti-affinity rules"] as const;
const EXISTING_ANTI_AFFINITY = [
  "node(s) didn't satisfy existing pods anti-affinity rules",
] as const;

/** Kubernetes' default `hardPodAffinityWeight`: a placed pod's required affinity, as a score. */
const HARD_POD_AFFINITY_WEIGHT = 1;

/** `topologyKey` and value as one map key. */
function pair(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

/** Every pod on `node` in the namespaces (undefined: all) a set of terms can match. */
function* podsIn(node: NodeInfo, namespaces: Set<string> | undefined): Iterable<PlacedPod> {
  if (namespaces) {
    for (const ns of namespaces) {
      const pods = node.pods.get(ns);
      if (pods) yield* pods.values();
    }
    return;
  }
  for (const pods of node.pods.values()) yield* pods.values();
}

function add(counts: Map<string, number>, node: NodeInfo, key: string, by: number): void {
  const value = node.labels[key];
  if (value === undefined) return;
  const k = pair(key, value);
  counts.set(k, (counts.get(k) ?? 0) + by);
}

/** The pod-affinity plugin: filter and score. Not re-entrant: one decision at a time. */
export function createInterPodAffinity(weight = 2): FilterPlugin & ScorePlugin {
  // PreFilter state.
  let existingAnti = new Map<string, number>();
  let affinityCounts = new Map<string, number>();
  let antiCounts = new Map<string, number>();
  let matchesOwnTerms = false;
  // PreScore state.
  const topologyScore = new Map<string, Map<string, number>>();
  const scores = new Map<string, number>();
  let scoreMin = 0;
  let scoreMax = 0;

  const scoreTerm = (
    term: AffinityTerm,
    target: TermTarget,
    node: NodeInfo,
    by: number,
    ns?: NamespaceLabels,
  ) => {
    if (!termMatches(term, target, ns)) return;
    const value = node.labels[term.topologyKey];
    if (value === undefined) return;
    let values = topologyScore.get(term.topologyKey);
    if (!values) topologyScore.set(term.topologyKey, values = new Map());
    values.set(value, (values.get(value) ?? 0) + by);
  };

  return {
    name: "InterPodAffinity",
    events: ["Node", "AssignedPodAdd", "AssignedPodDelete", "NamespaceLabels"],
    weight,
    preFilter(pod, nodes) {
      existingAnti = new Map();
      affinityCounts = new Map();
      antiCounts = new Map();
      matchesOwnTerms = false;
      const ns = pod.namespaceLabels;
      // Symmetry: placed pods whose required anti-affinity matches this pod.
      for (const node of nodes) {
        // Most nodes have none: skip them without making an iterator (this runs for every pod).
        if (node.podsWithRequiredAntiAffinity.size === 0) continue;
        for (const placed of node.podsWithRequiredAntiAffinity.values()) {
          for (const t of placed.podAffinity!.requiredAntiAffinity) {
            if (termMatches(t, pod, ns)) add(existingAnti, node, t.topologyKey, 1);
          }
        }
      }
      const terms = pod.podAffinity;
      const affinity = terms?.requiredAffinity ?? [];
      const anti = terms?.requiredAntiAffinity ?? [];
      if (affinity.length === 0 && anti.length === 0) {
        return existingAnti.size === 0 ? SKIP : undefined;
      }
      matchesOwnTerms = affinity.every((t) => termMatches(t, pod, ns));
      const namespaces = termNamespaces([...affinity, ...anti]);
      for (const node of nodes) {
        for (const placed of podsIn(node, namespaces)) {
          // A placed pod counts for affinity only when it matches every affinity term.
          if (affinity.length > 0 && affinity.every((t) => termMatches(t, placed, ns))) {
            for (const t of affinity) add(affinityCounts, node, t.topologyKey, 1);
          }
          for (const t of anti) {
            if (termMatches(t, placed, ns)) add(antiCounts, node, t.topologyKey, 1);
          }
        }
      }
      return undefined;
    },
    filter(pod, node) {
      const terms = pod.podAffinity;
      if (terms && terms.requiredAffinity.length > 0 && !satisfiesAffinity(terms, node)) {
        return AFFINITY;
      }
      if (terms) {
        for (const t of terms.requiredAntiAffinity) {
          const value = node.labels[t.topologyKey];
          if (value !== undefined && (antiCounts.get(pair(t.topologyKey, value)) ?? 0) > 0) {
            return ANTI_AFFINITY;
          }
        }
      }
      if (existingAnti.size > 0) {
        for (const [key, value] of Object.entries(node.labels)) {
          if ((existingAnti.get(pair(key, value)) ?? 0) > 0) return EXISTING_ANTI_AFFINITY;
        }
      }
      return null;
    },
    prepare(pod, feasible, all) {
      topologyScore.clear();
      scores.clear();
      scoreMin = 0;
      scoreMax = 0;
      const ns = pod.namespaceLabels;
      const own = pod.podAffinity;
      const preferred = own
        ? [
          ...own.preferredAffinity.map((t) => ({ t, by: t.weight })),
          ...own.preferredAntiAffinity.map((t) => ({ t, by: -t.weight })),
        ]
        : [];
      const namespaces = termNamespaces(preferred.map((p) => p.t));
      let any = false;
      for (const node of all) {
        if (preferred.length > 0) {
          for (const placed of podsIn(node, namespaces)) {
            for (const { t, by } of preferred) scoreTerm(t, placed, node, by, ns);
          }
        }
        if (node.podsWithAffinity.size === 0) continue;
        for (const placed of node.podsWithAffinity.values()) {
          any = true;
          const theirs = placed.podAffinity!;
          for (const t of theirs.requiredAffinity) {
            scoreTerm(t, pod, node, HARD_POD_AFFINITY_WEIGHT, ns);
          }
          for (const t of theirs.preferredAffinity) scoreTerm(t, pod, node, t.weight, ns);
          for (const t of theirs.preferredAntiAffinity) scoreTerm(t, pod, node, -t.weight, ns);
        }
      }
      if (preferred.length === 0 && !any) return SKIP;
      scoreMin = Infinity;
      scoreMax = -Infinity;
      for (const node of feasible) {
        let s = 0;
        for (const [key, values] of topologyScore) {
          const value = node.labels[key];
          if (value !== undefined) s += values.get(value) ?? 0;
        }
        scores.set(node.name, s);
        if (s > scoreMax) scoreMax = s;
        if (s < scoreMin) scoreMin = s;
      }
      // Every node alike: all would score 0.
      return scoreMax > scoreMin ? undefined : SKIP;
    },
    score(_pod, node) {
      const diff = scoreMax - scoreMin;
      return Math.floor((100 * ((scores.get(node.name) ?? 0) - scoreMin)) / diff);
    },
  };

  /**
   * Every affinity term's domain on the node holds a matching pod; a node without a term's
   * topology key never fits. The first pod of a group (nothing matches anywhere, and the pod
   * matches its own terms) may go to any node that has the keys.
   */
  function satisfiesAffinity(terms: PodAffinityTerms, node: NodeInfo): boolean {
    let podsExist = true;
    for (const t of terms.requiredAffinity) {
      const value = node.labels[t.topologyKey];
      if (value === undefined) return false;
      if ((affinityCounts.get(pair(t.topologyKey, value)) ?? 0) <= 0) podsExist = false;
    }
    return podsExist || (affinityCounts.size === 0 && matchesOwnTerms);
  }
}
