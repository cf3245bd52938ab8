/**
 * The pods nominated to a node by preemption (`status.nominatedNodeName`) and not bound yet,
 * kube-scheduler's PodNominator: while a preemptor waits for its victims to go, the room they
 * free is held for it — any pod of lower or equal priority is scheduled as if the nominated pods
 * of higher or equal priority were already on the node, so it cannot take their place.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { podPriority } from "../../shared/api/scheduling_v1.ts";
import type { HostPort, NodeInfo, Resources } from "./framework.ts";
import { addUsage, copyUsage } from "./node_ports.ts";
import { podHostPorts, podRequests } from "./pod_info.ts";

interface Nominated {
  nodeName: string;
  priority: number;
  requests: Resources;
  hostPorts: HostPort[];
}

/** Nominated pods by `namespace/name`. */
export class Nominator {
  readonly #byKey = new Map<string, Nominated>();

  /**
   * Tracks a pod from the watch: a bound or deleted pod is nominated nowhere; an unbound one with
   * a nominatedNodeName (e.g. from before a restart) is nominated there. A pod without one keeps
   * what this scheduler decided: its own status write may not have come back yet.
   */
  update(key: string, pod: KubeObject): void {
    if (pod.spec?.nodeName || pod.metadata.deletionTimestamp) {
      this.#byKey.delete(key);
      return;
    }
    const nodeName = pod.status?.nominatedNodeName as string | undefined;
    if (nodeName && this.#byKey.get(key)?.nodeName !== nodeName) {
      this.nominate(key, pod, nodeName);
    }
  }

  /** Nominates `pod` to `nodeName` (at once, before its status write comes back). */
  nominate(key: string, pod: KubeObject, nodeName: string): void {
    this.#byKey.set(key, {
      nodeName,
      priority: podPriority(pod),
      requests: podRequests(pod),
      hostPorts: podHostPorts(pod),
    });
  }

  /** Forgets a pod (deleted, bound, or its nomination cleared). */
  delete(key: string): void {
    this.#byKey.delete(key);
  }

  /** The node a pod is nominated to, if any. */
  nodeOf(key: string): string | undefined {
    return this.#byKey.get(key)?.nodeName;
  }

  /** Keys of the pods nominated to `nodeName` with a priority below `priority`. */
  lowerOn(nodeName: string, priority: number): string[] {
    const out: string[] = [];
    for (const [key, n] of this.#byKey) {
      if (n.nodeName === nodeName && n.priority < priority) out.push(key);
    }
    return out;
  }

  /**
   * `nodes` as a pod of `priority` (key `key`) must see them: a node with other nominated pods of
   * higher or equal priority is replaced by a copy with their requests and host ports added.
   */
  view(nodes: readonly NodeInfo[], key: string, priority: number): readonly NodeInfo[] {
    if (this.#byKey.size === 0) return nodes;
    const held = new Map<string, Nominated[]>();
    for (const [k, n] of this.#byKey) {
      if (k === key || n.priority < priority) continue;
      const list = held.get(n.nodeName);
      if (list) list.push(n);
      else held.set(n.nodeName, [n]);
    }
    if (held.size === 0) return nodes;
    return nodes.map((node) => {
      const list = held.get(node.name);
      if (!list) return node;
      const withNominated = copyUsage(node);
      for (const n of list) addUsage(withNominated, n.requests, n.hostPorts);
      return withNominated;
    });
  }
}
