/**
 * Turns a Pod object into the scheduler's {@linkcode PodInfo} (requests in scheduler units, host
 * ports, owner, compiled node constraints, pod affinity and spread constraints, tolerations), and a
 * Node object's allocatable amounts and readiness into plain numbers and flags.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { quantityMillis, quantityValue } from "../../shared/api/quantity.ts";
import type { HostPort, PodInfo, Resources, Taint } from "./framework.ts";
import { compilePodAffinity } from "./affinity_term.ts";
import { compileNodeConstraints, compilePreferredNodeTerms } from "./node_selector.ts";
import { compileSpreadConstraints } from "./topology_spread.ts";
import { podTotal } from "../../shared/api/pod_resources.ts";

const EPHEMERAL_STORAGE = "ephemeral-storage";

interface Container {
  restartPolicy?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string> };
  ports?: { hostPort?: number; hostIP?: string; protocol?: string; containerPort: number }[];
}

function amount(list: Record<string, string | number> | undefined, name: string, milli: boolean) {
  const q = list?.[name];
  if (q === undefined) return 0;
  try {
    return milli ? quantityMillis(q) : quantityValue(q);
  } catch {
    // Validation rejects bad quantities on create; never let one stop the scheduler.
    return 0;
  }
}

function containerRequests(c: Container): Omit<Resources, "pods"> {
  // Requests default to limits when only limits are given (as the API server defaults them).
  const req = c.resources?.requests;
  const lim = c.resources?.limits;
  const bytes = (name: string) =>
    req?.[name] !== undefined ? amount(req, name, false) : amount(lim, name, false);
  return {
    milliCpu: req?.cpu !== undefined ? amount(req, "cpu", true) : amount(lim, "cpu", true),
    memory: bytes("memory"),
    ephemeralStorage: bytes(EPHEMERAL_STORAGE),
  };
}

/**
 * A pod's effective requests: the sum over its containers and sidecars, at least what the largest
 * init container needs beside the sidecars started before it (shared/api/pod_resources.ts), plus
 * `spec.overhead`; one pod.
 */
export function podRequests(pod: KubeObject): Resources {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  // Each container's quantities parsed once, then totalled per resource.
  const parsed = new Map<Container, Omit<Resources, "pods">>();
  const of = (c: Container) => {
    let r = parsed.get(c);
    if (!r) parsed.set(c, r = containerRequests(c));
    return r;
  };
  let milliCpu = podTotal(spec, (c) => of(c).milliCpu);
  let memory = podTotal(spec, (c) => of(c).memory);
  let ephemeralStorage = podTotal(spec, (c) => of(c).ephemeralStorage);
  const overhead = pod.spec?.overhead as Record<string, string> | undefined;
  if (overhead) {
    milliCpu += amount(overhead, "cpu", true);
    memory += amount(overhead, "memory", false);
    ephemeralStorage += amount(overhead, EPHEMERAL_STORAGE, false);
  }
  return { milliCpu, memory, ephemeralStorage, pods: 1 };
}

/** The host ports a pod declares (`ports[].hostPort` > 0) of all its containers. */
export function podHostPorts(pod: KubeObject): HostPort[] {
  const out: HostPort[] = [];
  for (const c of (pod.spec?.containers ?? []) as Container[]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({
        protocol: p.protocol ?? "TCP",
        hostIP: p.hostIP || "0.0.0.0",
        port: p.hostPort,
      });
    }
  }
  return out;
}

/** uid of the pod's controlling owner reference, if any. */
export function controllerUid(obj: KubeObject): string | undefined {
  for (const ref of obj.metadata.ownerReferences ?? []) if (ref.controller) return ref.uid;
  return undefined;
}

/** Builds the per-attempt view of a pod. */
export function podInfo(pod: KubeObject): PodInfo {
  const constraints = compileNodeConstraints(pod);
  return {
    pod,
    key: `${pod.metadata.namespace}/${pod.metadata.name}`,
    requests: podRequests(pod),
    hostPorts: podHostPorts(pod),
    ownerUid: controllerUid(pod),
    nodeSelector: constraints.nodeSelector,
    affinityTerms: constraints.affinityTerms,
    nodeNames: constraints.nodeNames,
    tolerations: pod.spec?.tolerations ?? [],
    namespace: pod.metadata.namespace ?? "",
    labels: pod.metadata.labels ?? {},
    preferredNodeTerms: compilePreferredNodeTerms(pod),
    podAffinity: compilePodAffinity(pod),
    spreadConstraints: compileSpreadConstraints(pod),
  };
}

/** Whether a pod has finished and no longer holds resources (phase Succeeded or Failed). */
export function isTerminated(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** A node's allocatable (falling back to capacity); pods default to 110 as the kubelet does. */
export function nodeAllocatable(node: KubeObject): Resources {
  const a = (node.status?.allocatable ?? node.status?.capacity ?? {}) as Record<string, string>;
  const pods = a.pods !== undefined ? amount(a, "pods", false) : 110;
  return {
    milliCpu: amount(a, "cpu", true),
    memory: amount(a, "memory", false),
    ephemeralStorage: amount(a, EPHEMERAL_STORAGE, false),
    pods,
  };
}

/** Whether the node's Ready condition is True. */
export function nodeIsReady(node: KubeObject): boolean {
  const conds = (node.status?.conditions ?? []) as { type: string; status: string }[];
  return conds.some((c) => c.type === "Ready" && c.status === "True");
}

/** The node's taints (empty when none). */
export function nodeTaints(node: KubeObject): Taint[] {
  return (node.spec?.taints ?? []) as Taint[];
}
