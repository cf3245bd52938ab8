/**
 * Plugin `NodeAffinity`. Filter: the node's labels must match the pod's `spec.nodeSelector` and,
 * when present, one of the required node affinity terms
 * (`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, ORed; expressions within
 * a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt, Lt). A term's `matchFields` select
 * on the node's fields; Kubernetes supports only `metadata.name`, which is how DaemonSet pods are
 * pinned to their node. Score: the weights of the preferred terms the node matches.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { newRequirement, type Operator, type Requirement, Selector } from "../../shared/labels.ts";
import { type FilterPlugin, type ScorePlugin, SKIP } from "./framework.ts";

const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"] as const;

const OPERATORS: Record<string, Operator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
  Gt: "gt",
  Lt: "lt",
};

interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/**
 * Compiles a pod's node constraints once: the nodeSelector as a Selector and the required
 * affinity terms as Selectors. A term that cannot be compiled matches nothing, as in Kubernetes.
 */
export function compileNodeConstraints(
  pod: KubeObject,
): { nodeSelector?: Selector; affinityTerms?: NodeAffinityTerm[]; nodeNames?: Set<string> } {
  const out: {
    nodeSelector?: Selector;
    affinityTerms?: NodeAffinityTerm[];
    nodeNames?: Set<string>;
  } = {};
  const ns = pod.spec?.nodeSelector as Record<string, string> | undefined;
  if (ns && Object.keys(ns).length > 0) {
    out.nodeSelector = Selector.of(Object.entries(ns).map(([k, v]) => requirement(k, "=", [v])));
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms as
      | { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[]
      | undefined;
  if (terms) {
    out.nodeNames = nodeNamesOf(terms);
    out.affinityTerms = terms.map(compileTerm);
  }
  return out;
}

type RawTerm = {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
};

/** One node selector term compiled; a term that cannot be compiled matches nothing. */
function compileTerm(term: RawTerm): NodeAffinityTerm {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term selects nothing.
  if (exprs.length === 0 && fields.length === 0) return { labels: Selector.nothing() };
  try {
    const compiled: NodeAffinityTerm = {
      labels: Selector.of(
        exprs.map((e) => requirement(e.key, OPERATORS[e.operator], e.values ?? [])),
      ),
    };
    if (fields.length > 0) {
      if (fields.some((f) => f.key !== "metadata.name")) return { labels: Selector.nothing() };
      compiled.fields = Selector.of(
        fields.map((e) => requirement(e.key, OPERATORS[e.operator], e.values ?? [])),
      );
    }
    return compiled;
  } catch {
    return { labels: Selector.nothing() };
  }
}

/**
 * The pod's `preferredDuringSchedulingIgnoredDuringExecution` node affinity terms, compiled;
 * undefined when none. Terms of weight 0 count for nothing and are dropped.
 */
export function compilePreferredNodeTerms(pod: KubeObject): WeightedNodeAffinityTerm[] | undefined {
  const preferred = pod.spec?.affinity?.nodeAffinity
    ?.preferredDuringSchedulingIgnoredDuringExecution as
      | { weight: number; preference?: RawTerm }[]
      | undefined;
  const out = (preferred ?? []).filter((p) => p.weight !== 0)
    .map((p) => ({ ...compileTerm(p.preference ?? {}), weight: p.weight }));
  return out.length === 0 ? undefined : out;
}

/**
 * Kubernetes' NodeAffinity PreFilter: when every term names nodes with `metadata.name In`, only
 * those nodes can fit (a DaemonSet pod names exactly one), so the scheduler need not look at the
 * others. Undefined when some term does not restrict names.
 */
function nodeNamesOf(
  terms: { matchFields?: NodeSelectorRequirement[] }[],
): Set<string> | undefined {
  if (terms.length === 0) return undefined;
  const names = new Set<string>();
  for (const term of terms) {
    const byName = (term.matchFields ?? []).filter((f) =>
      f.key === "metadata.name" && f.operator === "In"
    );
    if (byName.length === 0) return undefined;
    // Requirements within a term are ANDed: the names all of them allow.
    let allowed = new Set(byName[0].values ?? []);
    for (const f of byName.slice(1)) {
      allowed = new Set([...allowed].filter((n) => f.values?.includes(n)));
    }
    for (const n of allowed) names.add(n);
  }
  return names;
}

/** One compiled required node affinity term: label requirements and `metadata.name` fields. */
export interface NodeAffinityTerm {
  labels: Selector;
  /** Over `{ "metadata.name": node name }`; absent when the term has no matchFields. */
  fields?: Selector;
}

/** One compiled preferred node affinity term and its weight (1–100). */
export interface WeightedNodeAffinityTerm extends NodeAffinityTerm {
  weight: number;
}

/** A node as the affinity rules see it. */
export interface NodeIdentity {
  name: string;
  labels: Record<string, string>;
}

function termMatches(term: NodeAffinityTerm, node: NodeIdentity): boolean {
  return term.labels.matches(node.labels) &&
    (!term.fields || term.fields.matches({ "metadata.name": node.name }));
}

function requirement(key: string, op: Operator | undefined, values: string[]): Requirement {
  if (!op) throw new Error(`unknown node selector operator`);
  return newRequirement(key, op, values);
}

/**
 * Whether `node` satisfies compiled constraints (Kubernetes' `GetRequiredNodeAffinity(pod).Match`),
 * used by the DaemonSet controller to decide where a daemon pod belongs.
 */
export function matchesNodeConstraints(
  c: { nodeSelector?: Selector; affinityTerms?: NodeAffinityTerm[] },
  node: NodeIdentity,
): boolean {
  if (c.nodeSelector && !c.nodeSelector.matches(node.labels)) return false;
  return !c.affinityTerms || c.affinityTerms.some((t) => termMatches(t, node));
}

/** Rejects nodes whose labels don't satisfy the pod's nodeSelector and required affinity. */
export const nodeSelector: FilterPlugin = {
  name: "NodeAffinity",
  events: ["Node"],
  filter(pod, node) {
    return matchesNodeConstraints(pod, node) ? null : MISMATCH;
  },
};

/**
 * Score `NodeAffinity`: the sum of the weights of the preferred terms the node matches,
 * normalised as kube-scheduler's DefaultNormalizeScore (`100 * score / max` over the feasible
 * nodes; all 0 when no node matches any term). Not re-entrant: one decision at a time.
 */
export function createNodeAffinityScore(weight = 2): ScorePlugin {
  const raw = new Map<string, number>();
  let max = 0;
  return {
    name: "NodeAffinity",
    weight,
    prepare(pod, feasible) {
      raw.clear();
      max = 0;
      if (!pod.preferredNodeTerms) return SKIP;
      for (const node of feasible) {
        let sum = 0;
        for (const t of pod.preferredNodeTerms) if (termMatches(t, node)) sum += t.weight;
        raw.set(node.name, sum);
        if (sum > max) max = sum;
      }
      return max === 0 ? SKIP : undefined;
    },
    score(_pod, node) {
      return Math.floor((100 * (raw.get(node.name) ?? 0)) / max);
    },
  };
}
