/**
 * The disruption controller (kube-controller-manager's, policy/v1): keeps each
 * PodDisruptionBudget's status — expectedPods, desiredHealthy, currentHealthy and
 * disruptionsAllowed — from the pods its selector selects and, for percentages and
 * maxUnavailable, the scale of their controllers (a Deployment's for its ReplicaSets, a
 * ReplicaSet's, a ReplicationController's). Evictions (server/api/eviction.ts) spend the
 * allowance and list the pod in `disruptedPods`; this controller drops those entries once the pod
 * is being deleted, or after 2 minutes if it never is. A budget whose pods' scale cannot be found
 * allows no disruption (`CalculateExpectedPodCountFailed`), as in Kubernetes.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import {
  DEPLOYMENTS,
  PODDISRUPTIONBUDGETS,
  PODS,
  REPLICASETS,
  REPLICATION_CONTROLLERS,
} from "../../shared/client/refs.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import { runController } from "../../shared/controller.ts";
import { rfc3339 } from "../../shared/time.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { controllerRef, isPodReady, keyOf } from "./controller_utils.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** How long an evicted pod may take to start terminating before it counts again. */
export const DELETION_TIMEOUT_MS = 2 * 60_000;

/** What {@linkcode DisruptionReconciler} works on. */
export interface DisruptionReconcilerOptions {
  listers: {
    pdbs: Lister<KubeObject>;
    pods: Lister<KubeObject>;
    replicaSets: Lister<KubeObject>;
    deployments: Lister<KubeObject>;
    replicationControllers: Lister<KubeObject>;
  };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
}

const PDB_TYPE = { apiVersion: "policy/v1", kind: "PodDisruptionBudget" };

/** `value` (an int or `"N%"`) of `total`, percentages rounded up (Kubernetes' GetScaledValue). */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${value}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** The disruption controller's reconciler; see the module comment. */
export class DisruptionReconciler {
  readonly #l: DisruptionReconcilerOptions["listers"];
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #selectors = new WeakMap<KubeObject, Selector | null>();

  constructor(options: DisruptionReconcilerOptions) {
    this.#l = options.listers;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#clock = options.clock ?? realClock;
  }

  /** Budgets a pod event concerns: those in its namespace whose selector selects it. */
  pdbKeysForPod(pod: KubeObject): string[] {
    return this.#l.pdbs.byIndex("namespace", pod.metadata.namespace ?? "")
      .filter((pdb) => this.#selectorOf(pdb)?.matches(pod.metadata.labels))
      .map(keyOf);
  }

  /** Budgets in a namespace (a controller's scale changed). */
  pdbKeysInNamespace(namespace: string): string[] {
    return this.#l.pdbs.byIndex("namespace", namespace).map(keyOf);
  }

  /** trySync: recomputes the budget's status; returns when a disruptedPods entry expires. */
  async reconcile(key: string): Promise<number | undefined> {
    const pdb = this.#l.pdbs.get(key);
    if (!pdb) return undefined;
    const now = this.#clock.now();
    const pods = this.getPodsForPdb(pdb);
    let expected: { expectedCount: number; desiredHealthy: number };
    try {
      expected = this.getExpectedPodCount(pdb, pods);
    } catch (err) {
      this.#recorder.record(
        { ...pdb, ...PDB_TYPE },
        "Warning",
        "CalculateExpectedPodCountFailed",
        `Failed to calculate the number of expected pods: ${(err as Error).message}`,
      );
      await this.#writeStatus(pdb, {
        ...pdb.status,
        disruptionsAllowed: 0,
        observedGeneration: pdb.metadata.generation,
        conditions: [this.#condition(pdb, false, "SyncFailed", (err as Error).message, now)],
      });
      return undefined;
    }
    const { disrupted, recheckMs } = this.buildDisruptedPodMap(pdb, pods, now);
    const currentHealthy = this.countHealthyPods(pods, disrupted, now);
    let allowed = currentHealthy - expected.desiredHealthy;
    if (expected.expectedCount <= 0 || allowed <= 0) allowed = 0;
    const status: Obj = {
      ...pdb.status,
      observedGeneration: pdb.metadata.generation,
      disruptionsAllowed: allowed,
      currentHealthy,
      desiredHealthy: expected.desiredHealthy,
      expectedPods: expected.expectedCount,
      conditions: [
        allowed > 0
          ? this.#condition(pdb, true, "SufficientPods", "", now)
          : this.#condition(pdb, false, "InsufficientPods", "", now),
      ],
    };
    if (Object.keys(disrupted).length > 0) status.disruptedPods = disrupted;
    else delete status.disruptedPods;
    if (JSON.stringify(status) !== JSON.stringify(pdb.status ?? {})) {
      await this.#writeStatus(pdb, status);
    }
    return recheckMs;
  }

  /** The pods of the budget's namespace its selector selects (an empty selector selects none). */
  getPodsForPdb(pdb: KubeObject): KubeObject[] {
    const selector = this.#selectorOf(pdb);
    if (!selector || selector.empty) return [];
    return this.#l.pods.byIndex("namespace", pdb.metadata.namespace ?? "")
      .filter((p) => selector.matches(p.metadata.labels));
  }

  /**
   * expectedCount and desiredHealthy: an integer minAvailable counts the selected pods; a
   * percentage, or maxUnavailable, is taken of the pods' controllers' scale.
   */
  getExpectedPodCount(
    pdb: KubeObject,
    pods: KubeObject[],
  ): { expectedCount: number; desiredHealthy: number } {
    const spec = pdb.spec ?? {};
    if (spec.maxUnavailable !== undefined) {
      const expectedCount = this.getExpectedScale(pods);
      const maxUnavailable = scaledValue(spec.maxUnavailable, expectedCount);
      return { expectedCount, desiredHealthy: Math.max(0, expectedCount - maxUnavailable) };
    }
    if (spec.minAvailable !== undefined) {
      if (typeof spec.minAvailable === "number") {
        return { expectedCount: pods.length, desiredHealthy: spec.minAvailable };
      }
      const expectedCount = this.getExpectedScale(pods);
      return { expectedCount, desiredHealthy: scaledValue(spec.minAvailable, expectedCount) };
    }
    return { expectedCount: pods.length, desiredHealthy: 0 };
  }

  /** The summed scale of the pods' controllers; throws for a pod without a scalable one. */
  getExpectedScale(pods: KubeObject[]): number {
    const scales = new Map<string, number>();
    for (const pod of pods) {
      const ref = controllerRef(pod);
      if (!ref) continue; // unmanaged pods are ignored, as Kubernetes (with a warning) does
      if (scales.has(ref.uid)) continue;
      const ns = pod.metadata.namespace!;
      let found: { uid: string; replicas: number } | undefined;
      if (ref.kind === "ReplicaSet") {
        const rs = this.#l.replicaSets.get(`${ns}/${ref.name}`);
        if (rs?.metadata.uid === ref.uid) {
          const owner = controllerRef(rs);
          const d = owner?.kind === "Deployment"
            ? this.#l.deployments.get(`${ns}/${owner.name}`)
            : undefined;
          found = d && d.metadata.uid === owner!.uid
            ? { uid: d.metadata.uid!, replicas: d.spec?.replicas ?? 1 }
            : { uid: rs.metadata.uid!, replicas: rs.spec?.replicas ?? 1 };
        }
      } else if (ref.kind === "ReplicationController") {
        const rc = this.#l.replicationControllers.get(`${ns}/${ref.name}`);
        if (rc?.metadata.uid === ref.uid) {
          found = { uid: rc.metadata.uid!, replicas: rc.spec?.replicas ?? 1 };
        }
      }
      if (!found) {
        throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
      }
      scales.set(ref.uid, 0);
      scales.set(`scale:${found.uid}`, found.replicas);
    }
    let total = 0;
    for (const [k, v] of scales) if (k.startsWith("scale:")) total += v;
    return total;
  }

  /**
   * buildDisruptedPodMap: evicted pods stay listed until they are being deleted or gone, or for
   * at most 2 minutes; returns the ms until the next entry expires.
   */
  buildDisruptedPodMap(
    pdb: KubeObject,
    pods: KubeObject[],
    now: number,
  ): { disrupted: Record<string, string>; recheckMs?: number } {
    const disrupted: Record<string, string> = {};
    let recheckMs: number | undefined;
    const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
    for (
      const [name, at] of Object.entries(
        (pdb.status?.disruptedPods ?? {}) as Record<string, string>,
      )
    ) {
      const pod = byName.get(name);
      if (!pod || pod.metadata.deletionTimestamp) continue;
      const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
      if (expires <= now) continue;
      disrupted[name] = at;
      recheckMs = Math.min(recheckMs ?? Infinity, expires - now);
    }
    return { disrupted, recheckMs };
  }

  /** Ready pods not being deleted and not just evicted. */
  countHealthyPods(pods: KubeObject[], disrupted: Record<string, string>, _now: number): number {
    return pods.filter((p) =>
      !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p)
    ).length;
  }

  #condition(pdb: KubeObject, ok: boolean, reason: string, message: string, now: number): Obj {
    const old = (pdb.status?.conditions ?? []).find((c: Obj) => c.type === "DisruptionAllowed");
    const status = ok ? "True" : "False";
    return {
      type: "DisruptionAllowed",
      status,
      observedGeneration: pdb.metadata.generation,
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : rfc3339(now),
      reason,
      message,
    };
  }

  #selectorOf(pdb: KubeObject): Selector | null {
    let s = this.#selectors.get(pdb);
    if (s === undefined) {
      try {
        s = pdb.spec?.selector ? selectorFromLabelSelector(pdb.spec.selector) : null;
      } catch {
        s = null;
      }
      this.#selectors.set(pdb, s);
    }
    return s;
  }

  async #writeStatus(pdb: KubeObject, status: Obj): Promise<void> {
    try {
      await this.#client.updateStatus(PODDISRUPTIONBUDGETS, { ...pdb, ...PDB_TYPE, status });
    } catch (err) {
      // A conflict (an eviction spent the allowance meanwhile) is thrown: the key is retried on
      // the fresher cache.
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Options of {@linkcode runDisruptionController}. */
export interface RunDisruptionControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  workers?: number;
}

/** Runs the disruption controller over the shared informers until `signal` aborts. */
export async function runDisruptionController(
  options: RunDisruptionControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const pdbs = informers.get(PODDISRUPTIONBUDGETS);
  const pods = informers.get(PODS);
  const replicaSets = informers.get(REPLICASETS);
  const deployments = informers.get(DEPLOYMENTS);
  const replicationControllers = informers.get(REPLICATION_CONTROLLERS);
  const queue = new WorkQueue();
  const r = new DisruptionReconciler({
    listers: { pdbs, pods, replicaSets, deployments, replicationControllers },
    client: informers.client,
    recorder: options.recorder,
  });
  pdbs.addEventHandler({
    onAdd: (p) => queue.add(keyOf(p)),
    onUpdate: (_o, p) => queue.add(keyOf(p)),
  });
  const podChanged = (pod: KubeObject) => {
    for (const k of r.pdbKeysForPod(pod)) queue.addAfter(k, 100);
  };
  pods.addEventHandler({
    onAdd: podChanged,
    onUpdate: (old, p) => {
      podChanged(old);
      podChanged(p);
    },
    onDelete: podChanged,
  });
  // A controller's scale is part of percentage and maxUnavailable budgets.
  const scaleChanged = (o: KubeObject) => {
    for (const k of r.pdbKeysInNamespace(o.metadata.namespace ?? "")) queue.addAfter(k, 100);
  };
  for (const inf of [replicaSets, deployments, replicationControllers]) {
    inf.addEventHandler({
      onAdd: scaleChanged,
      onUpdate: (o, n) => {
        if (o.spec?.replicas !== n.spec?.replicas) scaleChanged(n);
      },
    });
  }
  await runController({
    name: "disruption",
    queue,
    reconcile: async (key) => {
      const after = await r.reconcile(key);
      if (after !== undefined) queue.addAfter(key, after + 10);
    },
    informers: [pdbs, pods, replicaSets, deployments, replicationControllers],
    workers: options.workers ?? 2,
    logger: (options.logger ?? silentLogger).child("disruption"),
  }, signal);
}
