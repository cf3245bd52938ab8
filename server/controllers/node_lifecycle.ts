/**
 * The node lifecycle controller: watches node Leases (renewed by agents in `kube-node-lease`);
 * a node whose lease has not been renewed within the grace period gets `Ready=Unknown` and the
 * `node.kubernetes.io/unreachable` NoSchedule + NoExecute taints (a node reporting Ready=False
 * gets the `not-ready` ones). Its pods are evicted once their toleration of the NoExecute taint
 * runs out (Kubernetes' taint manager), so their controllers re-create them elsewhere. When the
 * lease is renewed again the taints go. (The default tolerations every pod gets at creation are
 * added by server/admission/default_tolerations.ts.)
 *
 * `NodeLifecycleReconciler.reconcile(name)` runs kube-controller-manager's per-node steps:
 * `monitorNodeHealth` → `doNoExecuteTaintingPass` (with the cordon taint) → the taint
 * manager's `processPodsOnNode`.
 */
import type { Lease } from "../../shared/api/coordination_v1.ts";
import type { Node, Pod, Taint, Toleration } from "../../shared/api/core_v1.ts";
import type { Condition } from "../../shared/api/meta.ts";
import {
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
} from "../../shared/api/well_known_taints.ts";
import { delay } from "../../shared/backoff.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { LEASES, NODES, PODS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isCode, isNotFound } from "../../shared/errors.ts";
import type { Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Lister, NODE_NAME_INDEX, podNodeName } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { rfc3339 } from "../../shared/time.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { toleratesTaint } from "../scheduler/taint_toleration.ts";

export { TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE };

const LEASE_NAMESPACE = "kube-node-lease";

type ReadyStatus = Condition["status"];

/**
 * When a pod must leave a node with these NoExecute taints: `0` now (an untolerated taint),
 * `Infinity` never, else ms since epoch (taint added + the shortest matching tolerationSeconds).
 * A taint without `timeAdded` counts from `now`.
 */
export function evictionTime(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  now: number = Date.now(),
): number {
  let at = Infinity;
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return 0;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    for (const t of matching) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      at = Math.min(at, added + Math.max(0, t.tolerationSeconds) * 1000);
    }
  }
  return at;
}

/**
 * The taints a node should carry for its Ready status and cordon: the unreachable (Unknown) or
 * not-ready (False) pair of NoSchedule + NoExecute, the unschedulable NoSchedule while cordoned;
 * other taints kept as they are. Existing ones keep their `timeAdded`; new ones get `now`.
 */
export function desiredTaints(
  taints: readonly Taint[],
  o: { ready: ReadyStatus; cordoned: boolean; now: string },
): Taint[] {
  const wantKey = o.ready === "Unknown"
    ? TAINT_UNREACHABLE
    : o.ready === "False"
    ? TAINT_NOT_READY
    : undefined;
  const next = taints.filter((t) =>
    t.key === TAINT_UNSCHEDULABLE
      ? o.cordoned && t.effect === "NoSchedule"
      : (t.key !== TAINT_UNREACHABLE && t.key !== TAINT_NOT_READY) ||
        (t.key === wantKey && (t.effect === "NoSchedule" || t.effect === "NoExecute"))
  );
  const has = (key: string, effect: Taint["effect"]) =>
    next.some((t) => t.key === key && t.effect === effect);
  if (wantKey) {
    for (const effect of ["NoSchedule", "NoExecute"] as const) {
      if (!has(wantKey, effect)) next.push({ key: wantKey, effect, timeAdded: o.now });
    }
  }
  // kubectl cordon sets spec.unschedulable; the taint makes it visible in describe/taints.
  if (o.cordoned && !has(TAINT_UNSCHEDULABLE, "NoSchedule")) {
    next.push({ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule", timeAdded: o.now });
  }
  return next;
}

/** What {@linkcode NodeLifecycleReconciler} reads and writes with. */
export interface NodeLifecycleReconcilerOptions {
  listers: { nodes: Lister<Node>; pods: Lister<Pod> };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Lease age after which a node is Unknown (default 15 000 ms). */
  nodeMonitorGracePeriodMs?: number;
  /** Re-queues a node after `ms` (the next toleration to run out). */
  enqueueAfter?: (name: string, ms: number) => void;
  logger?: Logger;
}

/** Marks nodes with stale leases Unknown, taints them, and evicts pods whose toleration ran out. */
export class NodeLifecycleReconciler {
  readonly #nodes: Lister<Node>;
  readonly #pods: Lister<Pod>;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #grace: number;
  readonly #enqueueAfter: (name: string, ms: number) => void;
  readonly #logger: Logger;
  /** When we last saw each node's lease renewed, by our clock (never trust the agent's clock). */
  readonly #observed = new Map<string, { renewTime?: string; at: number }>();
  readonly #startedAt: number;

  constructor(o: NodeLifecycleReconcilerOptions) {
    this.#nodes = o.listers.nodes;
    this.#pods = o.listers.pods;
    this.#client = o.client;
    this.#recorder = o.recorder;
    this.#clock = o.clock ?? realClock;
    this.#grace = o.nodeMonitorGracePeriodMs ?? 15_000;
    this.#enqueueAfter = o.enqueueAfter ?? (() => {});
    this.#logger = o.logger ?? silentLogger;
    this.#startedAt = this.#clock.now();
    this.#pods.addIndexer(NODE_NAME_INDEX, podNodeName);
  }

  /**
   * Notes a lease renewal; returns the node to reconcile at once (one seen before: an
   * unreachable node comes back now, not at the next tick).
   */
  observeLease(lease: Lease): string | undefined {
    if (lease.metadata.namespace !== LEASE_NAMESPACE) return undefined;
    const name = lease.metadata.name!;
    const renew = lease.spec?.renewTime;
    const prev = this.#observed.get(name);
    if (prev && prev.renewTime === renew) return undefined;
    this.#observed.set(name, { renewTime: renew, at: this.#clock.now() });
    return prev ? name : undefined;
  }

  /** Forgets a deleted node's lease. */
  forgetNode(name: string): void {
    this.#observed.delete(name);
  }

  /** `name` is a node's name. */
  async reconcile(name: string): Promise<void> {
    const node = this.#nodes.get(name);
    if (!node) return;
    const ready = await this.monitorNodeHealth(node);
    const taints = await this.doNoExecuteTaintingPass(node, ready);
    await this.processPodsOnNode(name, taints);
  }

  /**
   * monitorNodeHealth: a lease older than the grace period makes the node Ready=Unknown; a
   * renewed lease after our own Unknown makes it Ready again. Returns the Ready status now.
   */
  async monitorNodeHealth(node: Node): Promise<ReadyStatus> {
    const name = node.metadata.name!;
    // Nodes without a lease yet get the grace period from our start (as after a restart).
    const lastSeen = this.#observed.get(name)?.at ?? this.#startedAt;
    const leaseFresh = this.#clock.now() - lastSeen <= this.#grace;
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    const status = ready?.status ?? "Unknown";
    if (!leaseFresh && status !== "Unknown") {
      this.#logger.info("node lease expired, marking Unknown", { node: name });
      await this.setReady(
        node,
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
      );
      return "Unknown";
    }
    if (leaseFresh && status === "Unknown" && ready?.reason === "NodeStatusUnknown") {
      // Our own Unknown: the agent renews its lease again, so the node is back.
      await this.setReady(node, "True", "KubeletReady", "kubelet is posting ready status");
      return "True";
    }
    return status;
  }

  /** Replaces the Ready condition and records the node's new state as an event. */
  async setReady(
    node: Node,
    status: "Unknown" | "True",
    reason: string,
    message: string,
  ): Promise<void> {
    const name = node.metadata.name!;
    const conditions = node.status?.conditions ?? [];
    const prev = conditions.find((c) => c.type === "Ready");
    const now = rfc3339(this.#clock.now());
    const cond: Condition = {
      type: "Ready",
      status,
      reason,
      message,
      lastHeartbeatTime: status === "True" ? now : prev?.lastHeartbeatTime,
      lastTransitionTime: now,
    };
    await this.#client.patch(NODES, name, {
      status: {
        conditions: [...conditions.filter((c) => c.type !== "Ready"), {
          ...cond,
          lastHeartbeatTime: cond.lastHeartbeatTime ?? null,
        }],
      },
    }, { type: "merge", subresource: "status" });
    const state = status === "True" ? "NodeReady" : "NodeNotReady";
    this.#recorder.record(
      { ...node, kind: "Node", apiVersion: "v1" },
      "Normal",
      state,
      `Node ${name} status is now: ${state}`,
    );
  }

  /** doNoExecuteTaintingPass: writes {@linkcode desiredTaints} when they differ; returns them. */
  async doNoExecuteTaintingPass(node: Node, ready: ReadyStatus): Promise<Taint[]> {
    const taints = node.spec?.taints ?? [];
    const next = desiredTaints(taints, {
      ready,
      cordoned: node.spec?.unschedulable === true,
      now: rfc3339(this.#clock.now()),
    });
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return taints;
    await this.#client.patch(NODES, node.metadata.name!, { spec: { taints: next } }, {
      type: "merge",
    });
    this.#logger.info("node taints updated", {
      node: node.metadata.name,
      taints: next.map((t) => t.key),
    });
    return next;
  }

  /**
   * The taint manager's processPodsOnNode: evicts the node's pods whose toleration of a
   * NoExecute taint ran out, and re-queues the node for the next one to run out.
   */
  async processPodsOnNode(name: string, taints: Taint[]): Promise<void> {
    const noExecute = taints.filter((t) => t.effect === "NoExecute");
    if (noExecute.length === 0) return;
    const now = this.#clock.now();
    let nextDue = Infinity;
    for (const pod of this.#pods.byIndex(NODE_NAME_INDEX, name)) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const at = evictionTime(noExecute, pod.spec.tolerations ?? [], now);
      if (at === Infinity) continue;
      if (at > now) nextDue = Math.min(nextDue, at);
      else await this.evictPod(pod);
    }
    if (nextDue !== Infinity) this.#enqueueAfter(name, Math.max(10, nextDue - now));
  }

  /** Deletes a pod (uid precondition) and records TaintManagerEviction. */
  async evictPod(pod: Pod): Promise<void> {
    this.#recorder.record(
      { ...pod, kind: "Pod", apiVersion: "v1" },
      "Normal",
      "TaintManagerEviction",
      `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
    );
    try {
      await this.#client.delete(PODS, pod.metadata.name!, {
        namespace: pod.metadata.namespace,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (err) {
      // Gone already, or replaced by a new pod of the same name (uid precondition): done.
      if (!isNotFound(err) && !isCode(err, 409)) throw err;
    }
  }
}

/** Options of {@linkcode runNodeLifecycleController}. */
export interface NodeLifecycleOptions {
  informers: InformerSet;
  recorder: Recorder;
  logger?: Logger;
  /** Lease age after which a node is Unknown (default 15 000 ms). */
  nodeMonitorGracePeriodMs?: number;
  /** How often every node is checked (default: a third of the grace, at most 5 s). */
  monitorPeriodMs?: number;
}

/** Runs the node lifecycle controller until `signal` aborts. */
export async function runNodeLifecycleController(
  options: NodeLifecycleOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("node-lifecycle");
  const grace = options.nodeMonitorGracePeriodMs ?? 15_000;
  const period = options.monitorPeriodMs ?? Math.max(100, Math.min(5000, Math.floor(grace / 3)));
  const nodes = informers.get<Node>(NODES);
  const leases = informers.get<Lease>(LEASES);
  const pods = informers.get<Pod>(PODS);
  const queue = new WorkQueue();
  const reconciler = new NodeLifecycleReconciler({
    listers: { nodes, pods },
    client: informers.client,
    recorder: options.recorder,
    nodeMonitorGracePeriodMs: grace,
    enqueueAfter: (name, ms) => queue.addAfter(name, ms),
    logger,
  });
  const leaseSeen = (l: Lease) => {
    const name = reconciler.observeLease(l);
    if (name) queue.add(name);
  };
  leases.addEventHandler({ onAdd: leaseSeen, onUpdate: (_o, l) => leaseSeen(l) });
  nodes.addEventHandler({
    onAdd: (n) => queue.add(n.metadata.name!),
    onUpdate: (_o, n) => queue.add(n.metadata.name!),
    onDelete: (n) => reconciler.forgetNode(n.metadata.name!),
  });
  pods.addEventHandler({
    onAdd: (p) => p.spec.nodeName && queue.add(p.spec.nodeName),
    onUpdate: (o, p) => {
      if (p.spec.nodeName && o.spec.nodeName !== p.spec.nodeName) queue.add(p.spec.nodeName);
    },
  });
  // monitorNodeHealth runs every period for every node: a lease that stops changing sends no
  // event.
  const tick = async () => {
    while (await delay(period, signal)) {
      for (const key of nodes.keys()) queue.add(key);
    }
  };
  await Promise.all([
    tick(),
    runController({
      name: "node-lifecycle",
      queue,
      reconcile: (name) => reconciler.reconcile(name),
      informers: [nodes, leases, pods],
      logger,
    }, signal),
  ]);
}
