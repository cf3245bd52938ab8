/**
 * The scheduler's cache: one {@linkcode NodeInfo} per node with the summed requests, host ports
 * and per-owner pod counts of the pods on it, and the pods themselves by namespace (labels and
 * pod affinity terms, for InterPodAffinity and PodTopologySpread), kept up to date incrementally
 * from pod and node events — and from "assumed" pods the scheduler has decided on but whose
 * binding is not yet confirmed by the watch, so concurrent bindings never double-book a node.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { PodAffinityTerms } from "./affinity_term.ts";
import { compilePodAffinity } from "./affinity_term.ts";
import type { HostPort, NodeInfo, PlacedPod, Resources } from "./framework.ts";
import { addUsage, removeUsage } from "./node_ports.ts";
import {
  controllerUid,
  isTerminated,
  nodeAllocatable,
  nodeIsReady,
  nodeTaints,
  podHostPorts,
  podRequests,
} from "./pod_info.ts";

interface PodEntry {
  nodeName: string;
  requests: Resources;
  hostPorts: HostPort[];
  ownerUid?: string;
  placed: PlacedPod;
  /** Decided by this scheduler, not yet seen bound in the watch. */
  assumed: boolean;
}

/** What an assumed pod books on its node (a PodInfo has all of it). */
export interface AssumedPod {
  requests: Resources;
  hostPorts: HostPort[];
  ownerUid?: string;
  namespace?: string;
  labels?: Record<string, string>;
  podAffinity?: PodAffinityTerms;
}

const EMPTY_NODE: KubeObject = { metadata: {} };

function newNodeInfo(name: string): NodeInfo {
  return {
    name,
    node: EMPTY_NODE,
    allocatable: { milliCpu: 0, memory: 0, ephemeralStorage: 0, pods: 0 },
    requested: { milliCpu: 0, memory: 0, ephemeralStorage: 0, pods: 0 },
    usedPorts: new Map(),
    ownerCounts: new Map(),
    pods: new Map(),
    podsWithAffinity: new Map(),
    podsWithRequiredAntiAffinity: new Map(),
    ready: false,
    unschedulable: false,
    taints: [],
    labels: {},
  };
}

/** Incrementally maintained view of nodes and what is placed on them. */
export class SchedulerCache {
  /** Includes entries for nodes not (yet) seen, so pods bound to them are still counted. */
  readonly #infos = new Map<string, NodeInfo>();
  readonly #present = new Set<string>();
  readonly #pods = new Map<string, PodEntry>();
  #list: NodeInfo[] | undefined;

  /** Nodes that exist, in a stable order (rebuilt only when nodes come or go). */
  nodes(): readonly NodeInfo[] {
    if (!this.#list) {
      this.#list = [...this.#present].sort().map((n) => this.#infos.get(n)!);
    }
    return this.#list;
  }

  /** The info of one node, if it exists. */
  node(name: string): NodeInfo | undefined {
    return this.#present.has(name) ? this.#infos.get(name) : undefined;
  }

  /** Number of pods accounted (bound or assumed). */
  get podCount(): number {
    return this.#pods.size;
  }

  /** Adds or refreshes a node from its object. */
  setNode(node: KubeObject): void {
    const name = node.metadata.name!;
    const info = this.#info(name);
    info.node = node;
    info.allocatable = nodeAllocatable(node);
    info.ready = nodeIsReady(node);
    info.unschedulable = node.spec?.unschedulable === true;
    info.taints = nodeTaints(node);
    info.labels = node.metadata.labels ?? {};
    if (!this.#present.has(name)) {
      this.#present.add(name);
      this.#list = undefined;
    }
  }

  /** Removes a node; pods still bound to it stay counted until they go. */
  removeNode(name: string): void {
    if (!this.#present.delete(name)) return;
    this.#list = undefined;
    const info = this.#infos.get(name)!;
    info.node = EMPTY_NODE;
    if (info.requested.pods === 0) this.#infos.delete(name);
  }

  /**
   * Accounts for a pod from the watch: bound and not terminated → on its node; otherwise not
   * counted. Confirms an assumed pod. Returns true when a pod was placed on a node or its labels
   * or deletion changed there — what other pods' affinity and spreading look at.
   */
  updatePod(pod: KubeObject): boolean {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName as string | undefined;
    const old = this.#pods.get(key);
    if (!nodeName || isTerminated(pod)) {
      // An unbound pod may still be assumed (the binding is in flight): keep that.
      if (old && (nodeName || !old.assumed)) this.#remove(key, old);
      return false;
    }
    const labels = pod.metadata.labels ?? {};
    const terminating = !!pod.metadata.deletionTimestamp;
    if (old) {
      if (old.nodeName === nodeName) {
        const wasAssumed = old.assumed;
        old.assumed = false;
        const same = old.placed.terminating === terminating &&
          JSON.stringify(old.placed.labels) === JSON.stringify(labels);
        if (same) return wasAssumed;
        // Labels (or deletion) changed: re-place it so every index sees the new ones.
        this.#remove(key, old);
      } else {
        this.#remove(key, old);
      }
    }
    this.#add(key, {
      nodeName,
      requests: podRequests(pod),
      hostPorts: podHostPorts(pod),
      ownerUid: controllerUid(pod),
      placed: {
        key,
        namespace: pod.metadata.namespace ?? "",
        labels,
        terminating,
        podAffinity: compilePodAffinity(pod),
      },
      assumed: false,
    });
    return true;
  }

  /** Forgets a deleted pod. */
  deletePod(pod: KubeObject): void {
    const key = podKey(pod);
    const old = this.#pods.get(key);
    if (old) this.#remove(key, old);
  }

  /** Books `pod` onto `nodeName` before its binding is confirmed. */
  assume(key: string, nodeName: string, pod: AssumedPod): void {
    const old = this.#pods.get(key);
    if (old) this.#remove(key, old);
    this.#add(key, {
      nodeName,
      requests: pod.requests,
      hostPorts: pod.hostPorts,
      ownerUid: pod.ownerUid,
      placed: {
        key,
        namespace: pod.namespace ?? key.slice(0, key.indexOf("/")),
        labels: pod.labels ?? {},
        terminating: false,
        podAffinity: pod.podAffinity,
      },
      assumed: true,
    });
  }

  /** Undoes {@linkcode assume} after a failed binding. */
  forget(key: string): void {
    const old = this.#pods.get(key);
    if (old?.assumed) this.#remove(key, old);
  }

  /** Whether the pod is booked by an unconfirmed binding. */
  isAssumed(key: string): boolean {
    return this.#pods.get(key)?.assumed === true;
  }

  #info(name: string): NodeInfo {
    let info = this.#infos.get(name);
    if (!info) {
      info = newNodeInfo(name);
      this.#infos.set(name, info);
    }
    return info;
  }

  #add(key: string, e: PodEntry): void {
    this.#pods.set(key, e);
    const info = this.#info(e.nodeName);
    addUsage(info, e.requests, e.hostPorts);
    if (e.ownerUid) info.ownerCounts.set(e.ownerUid, (info.ownerCounts.get(e.ownerUid) ?? 0) + 1);
    const p = e.placed;
    let inNamespace = info.pods.get(p.namespace);
    if (!inNamespace) info.pods.set(p.namespace, inNamespace = new Map());
    inNamespace.set(key, p);
    if (p.podAffinity) {
      info.podsWithAffinity.set(key, p);
      if (p.podAffinity.requiredAntiAffinity.length > 0) {
        info.podsWithRequiredAntiAffinity.set(key, p);
      }
    }
  }

  #remove(key: string, e: PodEntry): void {
    this.#pods.delete(key);
    const info = this.#infos.get(e.nodeName);
    if (!info) return;
    removeUsage(info, e.requests, e.hostPorts);
    if (e.ownerUid) {
      const c = (info.ownerCounts.get(e.ownerUid) ?? 1) - 1;
      if (c <= 0) info.ownerCounts.delete(e.ownerUid);
      else info.ownerCounts.set(e.ownerUid, c);
    }
    const inNamespace = info.pods.get(e.placed.namespace);
    inNamespace?.delete(key);
    if (inNamespace?.size === 0) info.pods.delete(e.placed.namespace);
    info.podsWithAffinity.delete(key);
    info.podsWithRequiredAntiAffinity.delete(key);
    if (!this.#present.has(e.nodeName) && info.requested.pods === 0) {
      this.#infos.delete(e.nodeName);
    }
  }
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
