/**
 * Pod (anti-)affinity terms compiled once per pod — the namespaces a term looks in, its label
 * selector and topology key — and the rule by which a term matches another pod
 * (kube-scheduler's `AffinityTerm.Matches`). Both the InterPodAffinity plugin (for the pod being
 * scheduled) and the cache (for the pods already placed, whose terms act back on newcomers) use
 * these.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { LabelSelector } from "../../shared/labels.ts";
import { Selector, selectorFromLabelSelector } from "../../shared/labels.ts";

/** One required pod (anti-)affinity term. */
export interface AffinityTerm {
  /** `namespaces`, or the pod's own namespace when neither it nor `namespaceSelector` is set. */
  namespaces: ReadonlySet<string>;
  /** `namespaceSelector`: nothing when unset, everything when `{}`. */
  namespaceSelector: Selector;
  /**
   * `labelSelector` (nothing when unset); kube-apiserver has already merged `matchLabelKeys` and
   * `mismatchLabelKeys` into it when the pod was created (server/registry).
   */
  selector: Selector;
  topologyKey: string;
}

/** One preferred term with its weight (1–100). */
export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** A pod's affinity and anti-affinity, required and preferred. */
export interface PodAffinityTerms {
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  preferredAffinity: WeightedAffinityTerm[];
  preferredAntiAffinity: WeightedAffinityTerm[];
}

/** A pod as a term looks at it. */
export interface TermTarget {
  namespace: string;
  labels: Record<string, string>;
}

/** Labels of a namespace by name (undefined when unknown: no labels). */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

interface RawTerm {
  labelSelector?: LabelSelector | null;
  namespaces?: string[] | null;
  namespaceSelector?: LabelSelector | null;
  topologyKey?: string;
}

interface RawAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: RawTerm[] | null;
  preferredDuringSchedulingIgnoredDuringExecution?:
    | { weight: number; podAffinityTerm: RawTerm }[]
    | null;
}

function selectorOf(ls: LabelSelector | null | undefined): Selector {
  try {
    return selectorFromLabelSelector(ls);
  } catch {
    // Validation refuses bad selectors on create; an old stored one selects nothing.
    return Selector.nothing();
  }
}

function compileTerm(term: RawTerm, pod: TermTarget): AffinityTerm {
  const names = term.namespaces ?? [];
  const namespaceSelector = term.namespaceSelector === undefined || term.namespaceSelector === null
    ? Selector.nothing()
    : selectorOf(term.namespaceSelector);
  return {
    // Neither set: the pod's own namespace (Kubernetes' GetNamespacesFromPodAffinityTerm).
    namespaces: new Set(
      names.length === 0 && namespaceSelector.matchesNothing ? [pod.namespace] : names,
    ),
    namespaceSelector,
    selector: selectorOf(term.labelSelector),
    topologyKey: term.topologyKey ?? "",
  };
}

function compileAffinity(
  a: RawAffinity | undefined,
  pod: TermTarget,
): { required: AffinityTerm[]; preferred: WeightedAffinityTerm[] } {
  return {
    required: (a?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) =>
      compileTerm(t, pod)
    ),
    preferred: (a?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
      // A zero weight contributes nothing (validation refuses it anyway).
      .filter((w) => w.weight !== 0)
      .map((w) => ({ ...compileTerm(w.podAffinityTerm ?? {}, pod), weight: w.weight })),
  };
}

/** Compiles a pod's `spec.affinity.podAffinity`/`podAntiAffinity`; undefined when it has none. */
export function compilePodAffinity(pod: KubeObject): PodAffinityTerms | undefined {
  const affinity = pod.spec?.affinity;
  if (!affinity?.podAffinity && !affinity?.podAntiAffinity) return undefined;
  const target = { namespace: pod.metadata.namespace ?? "", labels: pod.metadata.labels ?? {} };
  const pos = compileAffinity(affinity.podAffinity, target);
  const neg = compileAffinity(affinity.podAntiAffinity, target);
  const out: PodAffinityTerms = {
    requiredAffinity: pos.required,
    requiredAntiAffinity: neg.required,
    preferredAffinity: pos.preferred,
    preferredAntiAffinity: neg.preferred,
  };
  const count = out.requiredAffinity.length + out.requiredAntiAffinity.length +
    out.preferredAffinity.length + out.preferredAntiAffinity.length;
  return count === 0 ? undefined : out;
}

/**
 * Whether `term` matches `pod`: the pod is in one of the term's namespaces (or its namespace's
 * labels match the namespaceSelector) and its labels match the selector.
 */
export function termMatches(
  term: AffinityTerm,
  pod: TermTarget,
  namespaceLabels?: NamespaceLabels,
): boolean {
  if (!term.selector.matches(pod.labels)) return false;
  if (term.namespaces.has(pod.namespace)) return true;
  if (term.namespaceSelector.matchesNothing) return false;
  return term.namespaceSelector.matches(namespaceLabels?.(pod.namespace) ?? {});
}

/**
 * The namespaces whose pods `terms` can match, or undefined when a namespaceSelector makes it
 * any namespace — so that a scan can skip the others.
 */
export function termNamespaces(terms: readonly AffinityTerm[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const t of terms) {
    if (!t.namespaceSelector.matchesNothing) return undefined;
    for (const ns of t.namespaces) out.add(ns);
  }
  return out;
}
