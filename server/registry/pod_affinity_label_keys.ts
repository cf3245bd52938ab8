/**
 * What kube-apiserver does with `matchLabelKeys` and `mismatchLabelKeys` of a new pod's affinity
 * terms: each key the pod carries becomes an expression of the term's `labelSelector` —
 * `key In [value]` for matchLabelKeys, `key NotIn [value]` for mismatchLabelKeys — so that, say,
 * anti-affinity with `matchLabelKeys: [pod-template-hash]` only repels pods of the same revision.
 * The scheduler then reads the selector alone. Terms without a selector match nothing and stay so.
 */
import type { KubeObject } from "../../shared/api/object.ts";

interface Term {
  labelSelector?: {
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  } | null;
  matchLabelKeys?: string[] | null;
  mismatchLabelKeys?: string[] | null;
}

interface Affinity {
  requiredDuringSchedulingIgnoredDuringExecution?: Term[] | null;
  preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm?: Term }[] | null;
}

function applyToTerm(term: Term, labels: Record<string, string>): void {
  const selector = term.labelSelector;
  if (!selector) return;
  const keys = [
    ...(term.matchLabelKeys ?? []).map((key) => ({ key, operator: "In" })),
    ...(term.mismatchLabelKeys ?? []).map((key) => ({ key, operator: "NotIn" })),
  ];
  for (const { key, operator } of keys) {
    if (!Object.hasOwn(labels, key)) continue;
    selector.matchExpressions = [
      ...(selector.matchExpressions ?? []),
      { key, operator, values: [labels[key]] },
    ];
  }
}

/** Merges the pod's label values for its affinity terms' label keys into their selectors. */
export function applyMatchLabelKeys(pod: KubeObject): void {
  const labels: Record<string, string> = pod.metadata.labels ?? {};
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    const affinity = pod.spec?.affinity?.[kind] as Affinity | undefined;
    if (!affinity) continue;
    for (const t of affinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      applyToTerm(t, labels);
    }
    for (const w of affinity.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (w.podAffinityTerm) applyToTerm(w.podAffinityTerm, labels);
    }
  }
}
