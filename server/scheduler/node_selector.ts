/**
 * Filter `NodeAffinity`: the node's labels must match the pod's `spec.nodeSelector` and, when
 * present, one of the required node affinity terms
 * (`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, ORed; expressions within
 * a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt, Lt).
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
): { nodeSelector?: Selector; affinityTerms?: Selector[] } {
  const out: { nodeSelector?: Selector; affinityTerms?: Selector[] } = {};
  const ns = pod.spec?.nodeSelector as Record<string, string> | undefined;
  if (ns && Object.keys(ns).length > 0) {
    out.nodeSelector = Selector.of(Object.entries(ns).map(([k, v]) => requirement(k, "=", [v])));
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms as { matchExpressions?: NodeSelectorRequirement[] }[] | undefined;
  if (terms) {
    out.affinityTerms = terms.map((term) => {
      const exprs = term.matchExpressions ?? [];
      // An empty term selects nothing.
      if (exprs.length === 0) return Selector.nothing();
      try {
        return Selector.of(
          exprs.map((e) => requirement(e.key, OPERATORS[e.operator], e.values ?? [])),
        );
      } catch {
        return Selector.nothing();
      }
    });
  }
  return out;
}

function requirement(key: string, op: Operator | undefined, values: string[]): Requirement {
  if (!op) throw new Error(`unknown node selector operator`);
  return newRequirement(key, op, values);
}

/** Rejects nodes whose labels don't satisfy the pod's nodeSelector and required affinity. */
export const nodeSelector: FilterPlugin = {
  name: "NodeAffinity",
  filter(pod, node) {
    if (pod.nodeSelector && !pod.nodeSelector.matches(node.labels)) return MISMATCH;
    if (pod.affinityTerms && !pod.affinityTerms.some((s) => s.matches(node.labels))) {
      return MISMATCH;
    }
    return null;
  },
};
