/**
 * Preemption, kube-scheduler's DefaultPreemption post-filter for a pod that fits nowhere: on each
 * node where only filters that removing pods can fix failed (resources, host ports), remove every
 * lower-priority pod, check the pod fits, then give back as many of them as still let it fit — the
 * most important first, those whose PodDisruptionBudget would be broken before the others — so
 * the rest are the victims. The node picked is the one whose victims break the fewest budgets,
 * then have the lowest highest priority, the lowest sum of priorities, the fewest pods. Pure
 * functions over the scheduler's snapshot; the scheduler makes the API calls.
 *
 * Simplified for small clusters: every node is examined (no candidate sampling), and the
 * simulation removes pods from the resource and host-port totals only — a filter reading other
 * per-node state sees the node as it is, so preemption never relies on removing pods for it.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { podPriority } from "../../shared/api/scheduling_v1.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import type { FilterPlugin, NodeInfo, PodInfo, Profile } from "./framework.ts";
import { addUsage, copyUsage, removeUsage } from "./node_ports.ts";
import { podHostPorts, podRequests } from "./pod_info.ts";

/** The filters whose failure removing pods from a node can resolve. */
const RESOLVABLE = new Set(["NodeResourcesFit", "NodePorts"]);

/** kube-scheduler's reasons for a node preemption cannot help on. */
export const NO_VICTIMS = "No preemption victims found for incoming pod";
export const NOT_HELPFUL = "Preemption is not helpful for scheduling";

/** One node where preemption makes the pod fit, and the pods to remove for it. */
export interface Candidate {
  node: NodeInfo;
  victims: KubeObject[];
  /** How many victims a PodDisruptionBudget does not allow to go. */
  pdbViolations: number;
}

/** What {@linkcode findCandidate} reads. */
export interface PreemptionInput {
  profile: Profile;
  /** The bound, non-terminated pods of a node. */
  podsOn(nodeName: string): readonly KubeObject[];
  /** Every PodDisruptionBudget (their status says how many disruptions are allowed). */
  pdbs: readonly KubeObject[];
}

/**
 * Why a pod may not preempt now, or undefined when it may (PodEligibleToPreemptOthers): a
 * `Never` pod waits; a pod already nominated to a node where lower-priority pods are still
 * terminating waits for them rather than preempting more.
 */
export function notEligible(
  pod: KubeObject,
  podsOn: (nodeName: string) => readonly KubeObject[],
): string | undefined {
  if (pod.spec?.preemptionPolicy === "Never") return "not eligible due to preemptionPolicy=Never.";
  const nominated = pod.status?.nominatedNodeName as string | undefined;
  if (nominated) {
    const priority = podPriority(pod);
    const terminating = podsOn(nominated).some((p) =>
      p.metadata.deletionTimestamp && podPriority(p) < priority
    );
    if (terminating) return "not eligible due to a terminating pod on the nominated node.";
  }
  return undefined;
}

/**
 * The best node to preempt on and its victims, or the reasons per node count why there is none
 * (kube-scheduler's `0/N nodes are available: …` for its preemption diagnosis).
 */
export function findCandidate(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  input: PreemptionInput,
): { candidate: Candidate } | { candidate?: undefined; reasons: Map<string, number> } {
  const priority = podPriority(pod.pod);
  const reasons = new Map<string, number>();
  const count = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
  let best: Candidate | undefined;
  for (const node of nodes) {
    const failing = failingFilters(pod, node, input.profile.filters);
    if (failing.length === 0 || failing.some((f) => !RESOLVABLE.has(f.name))) {
      count(NOT_HELPFUL);
      continue;
    }
    const candidate = selectVictimsOnNode(pod, node, { ...input, priority });
    if (!candidate) {
      count(NO_VICTIMS);
      continue;
    }
    if (!best || better(candidate, best)) best = candidate;
  }
  return best ? { candidate: best } : { reasons };
}

function failingFilters(
  pod: PodInfo,
  node: NodeInfo,
  filters: readonly FilterPlugin[],
): FilterPlugin[] {
  return filters.filter((f) => f.filter(pod, node) !== null);
}

function fits(pod: PodInfo, node: NodeInfo, filters: readonly FilterPlugin[]): boolean {
  return filters.every((f) => f.filter(pod, node) === null);
}

/**
 * selectVictimsOnNode: the fewest lower-priority pods of `node` whose removal lets `pod` fit, or
 * undefined when removing all of them is not enough.
 */
export function selectVictimsOnNode(
  pod: PodInfo,
  node: NodeInfo,
  input: PreemptionInput & { priority: number },
): Candidate | undefined {
  const lower = input.podsOn(node.name).filter((p) => podPriority(p) < input.priority);
  if (lower.length === 0) return undefined;
  const sim = copyUsage(node);
  for (const p of lower) removePod(sim, p);
  if (!fits(pod, sim, input.profile.filters)) return undefined;
  // Give pods back, most important first; those a budget protects get the first chance.
  lower.sort(moreImportant);
  const violating = new Set(podsViolatingBudgets(lower, input.pdbs));
  const victims: KubeObject[] = [];
  let pdbViolations = 0;
  const reprieve = (p: KubeObject, breaksBudget: boolean) => {
    addPod(sim, p);
    if (fits(pod, sim, input.profile.filters)) return;
    removePod(sim, p);
    victims.push(p);
    if (breaksBudget) pdbViolations++;
  };
  for (const p of lower) if (violating.has(p)) reprieve(p, true);
  for (const p of lower) if (!violating.has(p)) reprieve(p, false);
  return { node, victims, pdbViolations };
}

/** Higher priority first, then the longer-running (earlier start) first (MoreImportantPod). */
export function moreImportant(a: KubeObject, b: KubeObject): number {
  const d = podPriority(b) - podPriority(a);
  if (d !== 0) return d;
  return startTime(a).localeCompare(startTime(b));
}

function startTime(p: KubeObject): string {
  return p.status?.startTime ?? p.metadata.creationTimestamp ?? "";
}

/**
 * The pods of `pods` that would take a budget below what it allows (filterPodsWithPDBViolation):
 * each budget selecting a pod spends one of its `disruptionsAllowed`, in the order given.
 */
export function podsViolatingBudgets(
  pods: readonly KubeObject[],
  pdbs: readonly KubeObject[],
): KubeObject[] {
  const allowed = new Map<KubeObject, number>();
  const selectors = new Map<KubeObject, Selector | undefined>();
  const selectorOf = (pdb: KubeObject) => {
    if (!selectors.has(pdb)) {
      const ls = pdb.spec?.selector;
      // A budget with a missing or empty selector selects nothing, as in kube-scheduler.
      const empty = !ls || (!Object.keys(ls.matchLabels ?? {}).length &&
        !(ls.matchExpressions ?? []).length);
      let s: Selector | undefined;
      try {
        s = empty ? undefined : selectorFromLabelSelector(ls);
      } catch {
        s = undefined;
      }
      selectors.set(pdb, s);
    }
    return selectors.get(pdb);
  };
  const out: KubeObject[] = [];
  for (const p of pods) {
    let breaks = false;
    for (const pdb of pdbs) {
      if (pdb.metadata.namespace !== p.metadata.namespace) continue;
      if (!selectorOf(pdb)?.matches(p.metadata.labels ?? {})) continue;
      // A pod the budget already counts as disrupted costs nothing more.
      if (pdb.status?.disruptedPods?.[p.metadata.name!]) continue;
      const left = (allowed.get(pdb) ?? (pdb.status?.disruptionsAllowed ?? 0)) - 1;
      allowed.set(pdb, left);
      if (left < 0) breaks = true;
    }
    if (breaks) out.push(p);
  }
  return out;
}

/** pickOneNodeForPreemption's order: is `a` a better candidate than `b`? */
function better(a: Candidate, b: Candidate): boolean {
  if (a.pdbViolations !== b.pdbViolations) return a.pdbViolations < b.pdbViolations;
  const highest = (c: Candidate) => Math.max(...c.victims.map(podPriority));
  if (highest(a) !== highest(b)) return highest(a) < highest(b);
  // Offset by 2^31 as kube-scheduler does, so a negative priority still adds to the sum.
  const sum = (c: Candidate) => c.victims.reduce((s, p) => s + podPriority(p) + 2 ** 31, 0);
  if (sum(a) !== sum(b)) return sum(a) < sum(b);
  return a.victims.length < b.victims.length;
}

function removePod(node: NodeInfo, p: KubeObject): void {
  removeUsage(node, podRequests(p), podHostPorts(p));
}

function addPod(node: NodeInfo, p: KubeObject): void {
  addUsage(node, podRequests(p), podHostPorts(p));
}
