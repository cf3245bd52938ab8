/**
 * The node lifecycle controller: watches node Leases (renewed by agents in `kube-node-lease`);
 * a node whose lease has not been renewed within the grace period gets `Ready=Unknown` and the
 * `node.kubernetes.io/unreachable` NoSchedule + NoExecute taints (a node reporting Ready=False
 * gets the `not-ready` ones). Its pods are evicted once their toleration of the NoExecute taint
 * runs out (Kubernetes' taint manager), so their controllers re-create them elsewhere. When the
 * lease is renewed again the taints go.
 *
 * Also `defaultTolerations()`, the DefaultTolerationSeconds admission step the API server runs
 * on every new pod.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { LEASES, NODES, PODS } from "../../shared/client/refs.ts";
import { delay } from "../../shared/backoff.ts";
import { runController } from "../../shared/controller.ts";
import { isCode, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder } from "../../shared/events.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import type { Taint, Toleration } from "../scheduler/framework.ts";
import { toleratesTaint } from "../scheduler/taint_toleration.ts";
import type { InformerSet } from "./informer_set.ts";

/** Taint key of a node whose lease expired. */
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
/** Taint key of a node reporting Ready=False. */
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
/** The NoSchedule taint a cordoned (`spec.unschedulable`) node carries, as Kubernetes shows it. */
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
const LEASE_NAMESPACE = "kube-node-lease";
const NODE_INDEX = "nodeName";

/**
 * Adds Kubernetes' default tolerations to a new pod (in place, and returns it): tolerate the
 * `not-ready` and `unreachable` NoExecute taints for `tolerationSeconds` (default 15 s here,
 * 300 s in Kubernetes) unless the pod already tolerates them, so a workload can set its own.
 */
export function defaultTolerations(
  pod: KubeObject,
  options: { tolerationSeconds?: number } = {},
): KubeObject {
  const seconds = options.tolerationSeconds ?? 15;
  const spec = (pod.spec ??= {});
  const tolerations: Toleration[] = (spec.tolerations ??= []);
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const has = tolerations.some((t) =>
      (t.key === key || (!t.key && t.operator === "Exists")) &&
      (!t.effect || t.effect === "NoExecute")
    );
    if (!has) {
      tolerations.push({
        key,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: seconds,
      });
    }
  }
  return pod;
}

/**
 * When a pod must leave a node with these NoExecute taints: `0` now (an untolerated taint),
 * `Infinity` never, else ms since epoch (taint added + the shortest matching tolerationSeconds).
 */
export function evictionTime(taints: readonly Taint[], tolerations: readonly Toleration[]): number {
  let at = Infinity;
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return 0;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : Date.now();
    for (const t of matching) {
      if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
      at = Math.min(at, added + Math.max(0, t.tolerationSeconds) * 1000);
    }
  }
  return at;
}

/** Options of {@linkcode runNodeLifecycleController}. */
export interface NodeLifecycleOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /** Lease age after which a node is Unknown (default 15 000 ms). */
  nodeMonitorGracePeriodMs?: number;
  /** How often every node is checked (default: a third of the grace, at most 5 s). */
  monitorPeriodMs?: number;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** Runs the node lifecycle controller until `signal` aborts. */
export async function runNodeLifecycleController(
  options: NodeLifecycleOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers, recorder } = options;
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("node-lifecycle");
  const grace = options.nodeMonitorGracePeriodMs ?? 15_000;
  const period = options.monitorPeriodMs ?? Math.max(100, Math.min(5000, Math.floor(grace / 3)));
  const nodes = informers.get(NODES);
  const leases = informers.get(LEASES);
  const pods = informers.get(PODS);
  try {
    pods.addIndexer(NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  } catch { /* another controller added it */ }
  const queue = new WorkQueue();
  // When we last saw each node's lease renewed, by our clock (never trust the agent's clock).
  const observed = new Map<string, { renewTime?: string; at: number }>();
  const started = Date.now();

  const leaseSeen = (l: KubeObject) => {
    if (l.metadata.namespace !== LEASE_NAMESPACE) return;
    const name = l.metadata.name!;
    const renew = l.spec?.renewTime as string | undefined;
    const prev = observed.get(name);
    if (!prev || prev.renewTime !== renew) {
      observed.set(name, { renewTime: renew, at: Date.now() });
      // A node that was unreachable comes back now, not at the next tick.
      if (prev) queue.add(name);
    }
  };
  leases.addEventHandler({ onAdd: leaseSeen, onUpdate: (_o, l) => leaseSeen(l) });
  nodes.addEventHandler({
    onAdd: (n) => queue.add(n.metadata.name!),
    onUpdate: (_o, n) => queue.add(n.metadata.name!),
    onDelete: (n) => observed.delete(n.metadata.name!),
  });
  pods.addEventHandler({
    onAdd: (p) => p.spec?.nodeName && queue.add(p.spec.nodeName),
    onUpdate: (o, p) => {
      if (p.spec?.nodeName && o.spec?.nodeName !== p.spec.nodeName) queue.add(p.spec.nodeName);
    },
  });

  const tick = async () => {
    while (!signal.aborted) {
      await delay(period, signal);
      if (signal.aborted) return;
      for (const key of nodes.keys()) queue.add(key);
    }
  };

  const reconcile = async (name: string) => {
    const node = nodes.get(name);
    if (!node) return;
    const seen = observed.get(name);
    // Nodes without a lease yet get the grace period from our start (as after a restart).
    const lastSeen = seen?.at ?? started;
    const leaseFresh = Date.now() - lastSeen <= grace;
    const conditions = (node.status?.conditions ?? []) as Record<string, unknown>[];
    const ready = conditions.find((c) => c.type === "Ready");
    let readyStatus = (ready?.status as string | undefined) ?? "Unknown";

    /** Replaces the Ready condition and records the node's new state as an event. */
    const setReady = async (status: "Unknown" | "True", reason: string, message: string) => {
      const cond = {
        type: "Ready",
        status,
        reason,
        message,
        lastHeartbeatTime: status === "True" ? now() : ready?.lastHeartbeatTime ?? null,
        lastTransitionTime: now(),
      };
      await client.patch(NODES, name, {
        status: { conditions: [...conditions.filter((c) => c.type !== "Ready"), cond] },
      }, { type: "merge", subresource: "status" });
      const state = status === "True" ? "NodeReady" : "NodeNotReady";
      recorder.record(
        { ...node, kind: "Node", apiVersion: "v1" },
        "Normal",
        state,
        `Node ${name} status is now: ${state}`,
      );
      readyStatus = status;
    };
    if (!leaseFresh && readyStatus !== "Unknown") {
      logger.info("node lease expired, marking Unknown", { node: name });
      await setReady("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.");
    } else if (leaseFresh && readyStatus === "Unknown" && ready?.reason === "NodeStatusUnknown") {
      // Our own Unknown: the agent renews its lease again, so the node is back.
      await setReady("True", "KubeletReady", "kubelet is posting ready status");
    }

    // The taints that match the Ready state; each added once, with its time.
    const wantKey = readyStatus === "Unknown"
      ? TAINT_UNREACHABLE
      : readyStatus === "False"
      ? TAINT_NOT_READY
      : undefined;
    const taints = (node.spec?.taints ?? []) as Taint[];
    const cordoned = node.spec?.unschedulable === true;
    const kept = taints.filter((t) =>
      t.key === TAINT_UNSCHEDULABLE
        ? cordoned && t.effect === "NoSchedule"
        : (t.key !== TAINT_UNREACHABLE && t.key !== TAINT_NOT_READY) ||
          (t.key === wantKey && (t.effect === "NoSchedule" || t.effect === "NoExecute"))
    );
    const next = [...kept];
    if (wantKey) {
      for (const effect of ["NoSchedule", "NoExecute"]) {
        if (!kept.some((t) => t.key === wantKey && t.effect === effect)) {
          next.push({ key: wantKey, effect, timeAdded: now() });
        }
      }
    }
    // kubectl cordon sets spec.unschedulable; the taint makes it visible in describe/taints.
    if (cordoned && !kept.some((t) => t.key === TAINT_UNSCHEDULABLE)) {
      next.push({ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule", timeAdded: now() });
    }
    let current = taints;
    if (next.length !== taints.length || next.some((t, i) => t !== taints[i])) {
      await client.patch(NODES, name, { spec: { taints: next } }, { type: "merge" });
      current = next;
      logger.info("node taints updated", { node: name, taints: next.map((t) => t.key) });
    }

    // Taint manager: evict pods whose toleration of a NoExecute taint ran out.
    const noExecute = current.filter((t) => t.effect === "NoExecute");
    if (noExecute.length === 0) return;
    let nextDue = Infinity;
    for (const pod of pods.byIndex(NODE_INDEX, name)) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const at = evictionTime(noExecute, pod.spec?.tolerations ?? []);
      if (at === Infinity) continue;
      if (at > Date.now()) {
        nextDue = Math.min(nextDue, at);
        continue;
      }
      recorder.record(
        { ...pod, kind: "Pod", apiVersion: "v1" },
        "Normal",
        "TaintManagerEviction",
        `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      );
      try {
        await client.delete(PODS, pod.metadata.name!, {
          namespace: pod.metadata.namespace,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (err) {
        // Gone already, or replaced by a new pod of the same name (uid precondition): done.
        if (!isNotFound(err) && !isCode(err, 409)) throw err;
      }
    }
    if (nextDue !== Infinity) queue.addAfter(name, Math.max(10, nextDue - Date.now()));
  };

  await Promise.all([
    tick(),
    runController(
      { name: "node-lifecycle", queue, reconcile, informers: [nodes, leases, pods], logger },
      signal,
    ),
  ]);
}
