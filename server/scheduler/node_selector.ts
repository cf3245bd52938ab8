/**
 * Filter `NodeAffinity`: the node's labels must match the pod's `spec.nodeSelector` and, when
 * present, one of the required node affinity terms
 * (`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, ORed; expressions within
 * a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt, Lt). A term's `matchFields` select
 * on the node's fields; Kubernetes supports only `metadata.name`, which is how DaemonSet pods are
 * pinned to their node.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { newRequirement, type Operator, type Requirement, Selector } from "../../shared/labels.ts";
import type { FilterPlugin } from "./framework.ts";

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
    out.affinityTerms = terms.map((term) => {
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
    });
  }
  return out;
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
  filter(pod, node) {
    return matchesNodeConstraints(pod, node) ? null : MISMATCH;
  },
};
