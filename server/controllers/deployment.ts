/**
 * The Deployment controller: owns one ReplicaSet per pod template, named
 * `<deployment>-<pod-template-hash>`, and moves replicas from the old ones to the new one —
 * RollingUpdate within maxSurge/maxUnavailable, or Recreate (old pods gone before new ones
 * start). Keeps the `deployment.kubernetes.io/revision` annotations (a rollback — the client
 * patching the template back — re-uses the old ReplicaSet under a new revision), deletes old
 * ReplicaSets beyond `revisionHistoryLimit`, honours `paused`, and writes the status and the
 * Progressing/Available conditions that `kubectl rollout status` reads.
 *
 * `DeploymentReconciler.reconcile(key)` is kube-controller-manager's `syncDeployment`:
 * `getReplicaSetsForDeployment` → `getAllReplicaSetsAndSyncRevision` → `sync` (paused) |
 * `rolloutRecreate` | `rolloutRolling` → `syncRolloutStatus` → `cleanupDeployment`. The pure
 * status and condition arithmetic is in deployment_status.ts, the rollout arithmetic in
 * rolling_update.ts.
 */
import type { Deployment, ReplicaSet } from "../../shared/api/apps_v1.ts";
import type { Pod } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { DEPLOYMENTS, PODS, REPLICASETS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import type { Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  keyOf,
  newControllerRef,
} from "./controller_utils.ts";
import { calculateStatus, type Progress, syncConditions } from "./deployment_status.ts";
import {
  canonical,
  newReplicaSetReplicas,
  podTemplateHash,
  resolveFenceposts,
  type RsCounts,
  scaleDownOldReplicaSets,
  templatesEqual,
} from "./rolling_update.ts";

/** The Deployment's revision, copied to the ReplicaSet that runs it. */
export const REVISION = "deployment.kubernetes.io/revision";
const DESIRED = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
const CHANGE_CAUSE = "kubernetes.io/change-cause";
const HASH_LABEL = "pod-template-hash";
const DEPLOYMENT_TYPE = { apiVersion: "apps/v1", kind: "Deployment" };

/** The rollout parameters of one reconcile. */
export interface RolloutPlan {
  replicas: number;
  strategy: "RollingUpdate" | "Recreate";
  maxSurge: number;
  maxUnavailable: number;
}

/** The Deployment's ReplicaSets: the one running its template (if any) and the others. */
export interface ReplicaSetsOfDeployment {
  newRs?: ReplicaSet;
  /** Oldest revision first. */
  olds: ReplicaSet[];
  /** Set when this reconcile created the new ReplicaSet. */
  progress?: Progress;
}

/** What {@linkcode DeploymentReconciler} reads and writes with. */
export interface DeploymentReconcilerOptions {
  listers: { deployments: Lister<Deployment>; replicaSets: Lister<ReplicaSet>; pods: Lister<Pod> };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Re-queues `key` after `ms` (the progress deadline). */
  enqueueAfter?: (key: string, ms: number) => void;
}

/** Rolls a Deployment's pods from its old ReplicaSets to the one of its current template. */
export class DeploymentReconciler {
  readonly #deployments: Lister<Deployment>;
  readonly #replicaSets: Lister<ReplicaSet>;
  readonly #pods: Lister<Pod>;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #enqueueAfter: (key: string, ms: number) => void;

  constructor(o: DeploymentReconcilerOptions) {
    this.#deployments = o.listers.deployments;
    this.#replicaSets = o.listers.replicaSets;
    this.#pods = o.listers.pods;
    this.#client = o.client;
    this.#recorder = o.recorder;
    this.#clock = o.clock ?? realClock;
    this.#enqueueAfter = o.enqueueAfter ?? (() => {});
    ensureControllerIndex(this.#pods);
  }

  /** Keys of the Deployments a ReplicaSet belongs or may be adopted by. */
  deploymentsForReplicaSet(rs: ReplicaSet): string[] {
    const ns = rs.metadata.namespace!;
    const ref = controllerRef(rs);
    if (ref) return ref.kind === "Deployment" ? [`${ns}/${ref.name}`] : [];
    return this.#deployments.listNamespace(ns)
      .filter((d) => selectorOf(d)?.matches(rs.metadata.labels))
      .map(keyOf);
  }

  /** Keys of the Deployment whose ReplicaSet owns `pod` (Recreate waits for old pods). */
  deploymentsForPod(pod: Pod): string[] {
    const ref = controllerRef(pod);
    if (ref?.kind !== "ReplicaSet") return [];
    const rs = this.#replicaSets.get(`${pod.metadata.namespace}/${ref.name}`);
    return rs ? this.deploymentsForReplicaSet(rs) : [];
  }

  /** syncDeployment. */
  async reconcile(key: string): Promise<void> {
    const d = this.#deployments.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const selector = selectorOf(d);
    // An empty selector would take every ReplicaSet in the namespace (validation forbids it).
    if (!selector || selector.empty) return;
    const owned = await this.getReplicaSetsForDeployment(d, selector);
    const plan = rolloutPlan(d);
    const paused = d.spec.paused === true;
    const sets = await this.getAllReplicaSetsAndSyncRevision(d, owned, plan, !paused);
    if (!sets) return; // a hash collision was recorded; the status update re-queues us
    let newRs: ReplicaSet | undefined;
    if (paused) newRs = await this.sync(d, sets, plan);
    else if (plan.strategy === "Recreate") newRs = await this.rolloutRecreate(d, sets, plan);
    else newRs = await this.rolloutRolling(d, sets, plan);
    await this.syncRevisionAnnotation(d, newRs);
    const complete = await this.syncRolloutStatus(d, { ...sets, newRs }, plan);
    if (complete) await this.cleanupDeployment(d, sets.olds);
  }

  /**
   * getReplicaSetsForDeployment: the ReplicaSets it controls that still match, adopting
   * matching orphans and releasing owned ones that stopped matching.
   */
  async getReplicaSetsForDeployment(d: Deployment, selector: Selector): Promise<ReplicaSet[]> {
    const uid = d.metadata.uid!;
    const owned: ReplicaSet[] = [];
    for (const rs of this.#replicaSets.listNamespace(d.metadata.namespace!)) {
      const ref = controllerRef(rs);
      const matches = selector.matches(rs.metadata.labels);
      if (ref && ref.uid !== uid) continue;
      if (ref && matches) {
        owned.push(rs);
        continue;
      }
      if (!ref && (!matches || rs.metadata.deletionTimestamp)) continue;
      const refs = (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      if (!ref) refs.push(newControllerRef(d, DEPLOYMENT_TYPE));
      try {
        const patched = await this.#client.patch<ReplicaSet>(REPLICASETS, rs.metadata.name!, {
          metadata: { uid: rs.metadata.uid, ownerReferences: refs },
        }, { namespace: d.metadata.namespace, type: "merge" });
        if (!ref) owned.push(patched);
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    return owned;
  }

  /**
   * getAllReplicaSetsAndSyncRevision: splits `owned` into the new ReplicaSet (equal template)
   * and the old ones; creates the new one when asked, or moves it to the newest revision (a
   * rollback). Returns undefined after recording a pod-template-hash collision.
   */
  async getAllReplicaSetsAndSyncRevision(
    d: Deployment,
    owned: ReplicaSet[],
    plan: RolloutPlan,
    createIfNotExisted: boolean,
  ): Promise<ReplicaSetsOfDeployment | undefined> {
    const existing = owned.find((rs) => templatesEqual(rs.spec.template, d.spec.template));
    const olds = owned.filter((rs) => rs !== existing).sort(byRevision);
    const newRevision = olds.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1;
    if (existing) {
      return { newRs: await this.syncRevision(d, existing, newRevision), olds };
    }
    if (!createIfNotExisted) return { olds };
    const initial = plan.strategy === "Recreate"
      ? (olds.some((rs) => rs.spec.replicas > 0 || this.hasRunningPods(rs)) ? 0 : plan.replicas)
      : newReplicaSetReplicas(
        plan.replicas,
        plan.maxSurge,
        { replicas: 0, available: 0 },
        olds.map(counts),
      );
    const created = await this.getNewReplicaSet(d, newRevision, initial, plan.maxSurge);
    if (!created) return undefined;
    const message = `Created new replica set "${created.metadata.name}"`;
    return { newRs: created, olds, progress: { reason: "NewReplicaSetCreated", message } };
  }

  /** Gives a re-used ReplicaSet the newest revision and the Deployment's change-cause. */
  async syncRevision(d: Deployment, rs: ReplicaSet, newRevision: number): Promise<ReplicaSet> {
    const annotations = { ...rs.metadata.annotations };
    let changed = false;
    if (revisionOf(rs) < newRevision) {
      annotations[REVISION] = String(newRevision);
      changed = true;
    }
    const cause = d.metadata.annotations?.[CHANGE_CAUSE];
    if (cause && annotations[CHANGE_CAUSE] !== cause) {
      annotations[CHANGE_CAUSE] = cause;
      changed = true;
    }
    if (!changed) return rs;
    return await this.#client.update<ReplicaSet>(REPLICASETS, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
    });
  }

  /**
   * Creates the ReplicaSet of the Deployment's template. On AlreadyExists it is either ours (the
   * cache is behind) or a hash collision: then `status.collisionCount` is bumped and undefined
   * returned.
   */
  async getNewReplicaSet(
    d: Deployment,
    revision: number,
    replicas: number,
    maxSurge: number,
  ): Promise<ReplicaSet | undefined> {
    const collisionCount = d.status?.collisionCount ?? 0;
    const rs = newReplicaSetFor(d, podTemplateHash(d.spec.template, collisionCount), {
      revision,
      replicas,
      maxSurge,
    });
    try {
      const created = await this.#client.create<ReplicaSet>(REPLICASETS, rs, {
        namespace: d.metadata.namespace,
      });
      if (replicas > 0) { // an empty new ReplicaSet (Recreate, a paused scale) is no scaling
        const message = `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`;
        this.#recorder.record(withKind(d), "Normal", "ScalingReplicaSet", message);
      }
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const found = await this.#client.get<ReplicaSet>(REPLICASETS, rs.metadata.name!, {
        namespace: d.metadata.namespace,
      });
      if (
        controllerRef(found)?.uid === d.metadata.uid &&
        templatesEqual(found.spec.template, d.spec.template)
      ) return found;
      await this.#client.updateStatus(DEPLOYMENTS, {
        ...d,
        status: { ...d.status, collisionCount: collisionCount + 1 },
      });
      return undefined;
    }
  }

  /** sync: a paused Deployment still follows `kubectl scale` when no rollout is half-way. */
  async sync(
    d: Deployment,
    { newRs, olds }: ReplicaSetsOfDeployment,
    plan: RolloutPlan,
  ): Promise<ReplicaSet | undefined> {
    if (!newRs || !olds.every((rs) => rs.spec.replicas === 0)) return newRs;
    return await this.scaleReplicaSet(d, newRs, plan.replicas, plan);
  }

  /** rolloutRecreate: scale every old ReplicaSet to 0, and the new one up once their pods are gone. */
  async rolloutRecreate(
    d: Deployment,
    { newRs, olds }: ReplicaSetsOfDeployment,
    plan: RolloutPlan,
  ): Promise<ReplicaSet | undefined> {
    for (const rs of olds) {
      if (rs.spec.replicas > 0) await this.scaleReplicaSet(d, rs, 0, plan);
    }
    const oldsGone = olds.every((rs) => rs.spec.replicas === 0 && !this.hasRunningPods(rs));
    if (!newRs || !oldsGone) return newRs;
    return await this.scaleReplicaSet(d, newRs, plan.replicas, plan);
  }

  /**
   * rolloutRolling: reconcileNewReplicaSet (grow within maxSurge) then reconcileOldReplicaSets
   * (shrink within maxUnavailable). `olds` is updated in place with the scaled ReplicaSets.
   */
  async rolloutRolling(
    d: Deployment,
    { newRs, olds }: ReplicaSetsOfDeployment,
    plan: RolloutPlan,
  ): Promise<ReplicaSet | undefined> {
    if (!newRs) return undefined;
    const cur = newRs.spec.replicas;
    let target = cur;
    if (cur < plan.replicas) {
      const all = [newRs, ...olds].map(counts);
      target = newReplicaSetReplicas(plan.replicas, plan.maxSurge, counts(newRs), all);
    } else if (cur > plan.replicas) target = plan.replicas;
    const scaled = await this.scaleReplicaSet(d, newRs, target, plan);
    const sizes = scaleDownOldReplicaSets(
      plan.replicas,
      plan.maxUnavailable,
      counts(scaled),
      olds.map(counts),
    );
    for (let i = 0; i < olds.length; i++) {
      if (sizes[i] !== olds[i].spec.replicas) {
        olds[i] = await this.scaleReplicaSet(d, olds[i], sizes[i], plan);
      }
    }
    return scaled;
  }

  /** scaleReplicaSet: sets replicas and the desired/max-replicas annotations; records the event. */
  async scaleReplicaSet(
    d: Deployment,
    rs: ReplicaSet,
    replicas: number,
    plan: RolloutPlan,
  ): Promise<ReplicaSet> {
    const from = rs.spec.replicas;
    const annotations = {
      ...rs.metadata.annotations,
      [DESIRED]: String(d.spec.replicas),
      [MAX_REPLICAS]: String(d.spec.replicas + plan.maxSurge),
    };
    if (from === replicas && rs.metadata.annotations?.[DESIRED] === annotations[DESIRED]) return rs;
    const updated = await this.#client.update<ReplicaSet>(REPLICASETS, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
      spec: { ...rs.spec, replicas },
    });
    if (from !== replicas) {
      const verb = replicas > from ? "up" : "down";
      const message = `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${replicas}`;
      this.#recorder.record(withKind(d), "Normal", "ScalingReplicaSet", message);
    }
    return updated;
  }

  /** The Deployment carries the revision of its new ReplicaSet too. */
  async syncRevisionAnnotation(d: Deployment, newRs: ReplicaSet | undefined): Promise<void> {
    const revision = newRs ? revisionOf(newRs) : 0;
    if (revision === 0 || d.metadata.annotations?.[REVISION] === String(revision)) return;
    await this.#client.patch(DEPLOYMENTS, d.metadata.name!, {
      metadata: { annotations: { [REVISION]: String(revision) } },
    }, { namespace: d.metadata.namespace, type: "merge" });
  }

  /**
   * syncRolloutStatus: writes the counts and the Available/Progressing conditions when they
   * changed, re-queues for the progress deadline; returns true when the rollout is complete.
   */
  async syncRolloutStatus(
    d: Deployment,
    sets: ReplicaSetsOfDeployment,
    plan: RolloutPlan,
  ): Promise<boolean> {
    const { status, complete } = calculateStatus(d, sets.newRs, sets.olds);
    const { conditions, requeueMs } = syncConditions(d, status, {
      newRs: sets.newRs,
      complete,
      // Availability counts against maxUnavailable for RollingUpdate only: a Recreate
      // Deployment is Available when all its replicas are (deploymentutil.MaxUnavailable).
      maxUnavailable: plan.strategy === "RollingUpdate" ? plan.maxUnavailable : 0,
      progress: sets.progress,
      now: this.#clock.now(),
    });
    status.conditions = conditions;
    if (canonical(status) !== canonical(pick(d.status ?? {}, status))) {
      try {
        await this.#client.updateStatus(DEPLOYMENTS, { ...d, status });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (requeueMs !== undefined) this.#enqueueAfter(keyOf(d), requeueMs);
    return complete;
  }

  /** cleanupDeployment: deletes the oldest idle ReplicaSets beyond revisionHistoryLimit. */
  async cleanupDeployment(d: Deployment, olds: ReplicaSet[]): Promise<void> {
    const idle = olds.filter((rs) =>
      rs.spec.replicas === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp
    );
    for (const rs of idle.slice(0, Math.max(0, idle.length - d.spec.revisionHistoryLimit))) {
      try {
        await this.#client.delete(REPLICASETS, rs.metadata.name!, {
          namespace: rs.metadata.namespace,
          preconditions: { uid: rs.metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }

  /**
   * Whether a ReplicaSet still has pods that run (in the cache or in its own status): any pod
   * not Succeeded or Failed, also one being deleted — Recreate starts the new pods only once the
   * old ones have stopped (Kubernetes' oldPodsRunning).
   */
  hasRunningPods(rs: ReplicaSet): boolean {
    return this.#pods.byIndex(CONTROLLER_INDEX, rs.metadata.uid!).some((p) =>
      p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
    ) || (rs.status?.replicas ?? 0) > 0;
  }
}

/** maxSurge/maxUnavailable as pod counts (Recreate: no surge, everything may go). */
export function rolloutPlan(d: Deployment): RolloutPlan {
  const replicas = d.spec.replicas;
  const strategy = d.spec.strategy?.type ?? "RollingUpdate";
  const { maxSurge, maxUnavailable } = strategy === "RollingUpdate"
    ? resolveFenceposts(d.spec.strategy?.rollingUpdate, replicas)
    : { maxSurge: 0, maxUnavailable: replicas };
  return { replicas, strategy, maxSurge, maxUnavailable };
}

/** The ReplicaSet for `d`'s template under `hash`: labels, selector and annotations. */
export function newReplicaSetFor(
  d: Deployment,
  hash: string,
  o: { revision: number; replicas: number; maxSurge: number },
): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.metadata.labels = { ...template.metadata.labels, [HASH_LABEL]: hash };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...selector.matchLabels, [HASH_LABEL]: hash };
  const annotations: Record<string, string> = {
    [REVISION]: String(o.revision),
    [DESIRED]: String(d.spec.replicas),
    [MAX_REPLICAS]: String(d.spec.replicas + o.maxSurge),
  };
  const cause = d.metadata.annotations?.[CHANGE_CAUSE];
  if (cause) annotations[CHANGE_CAUSE] = cause;
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: template.metadata.labels,
      annotations,
      ownerReferences: [newControllerRef(d, DEPLOYMENT_TYPE)],
    },
    spec: {
      replicas: o.replicas,
      minReadySeconds: d.spec.minReadySeconds,
      selector,
      template,
    },
    status: { replicas: 0 },
  };
}

/** The revision annotation of a ReplicaSet (0 when absent). */
export function revisionOf(rs: ReplicaSet): number {
  const n = Number(rs.metadata.annotations?.[REVISION]);
  return Number.isFinite(n) ? n : 0;
}

function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  return revisionOf(a) - revisionOf(b) ||
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "");
}

function selectorOf(d: Deployment): Selector | null {
  try {
    return selectorFromLabelSelector(d.spec.selector);
  } catch {
    return null;
  }
}

function counts(rs: ReplicaSet): RsCounts {
  return { replicas: rs.spec.replicas, available: rs.status?.availableReplicas ?? 0 };
}

function pick<T extends object>(old: T, like: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(like) as (keyof T)[]) if (old[k] !== undefined) out[k] = old[k];
  return out;
}

function withKind(d: Deployment): KubeObject {
  return d.kind ? d : { ...d, ...DEPLOYMENT_TYPE };
}

/** Options of {@linkcode runDeploymentController}. */
export interface DeploymentControllerOptions {
  informers: InformerSet;
  recorder: Recorder;
  logger?: Logger;
  /** Parallel reconciles (default 5). */
  workers?: number;
}

/** Runs the Deployment controller until `signal` aborts. */
export async function runDeploymentController(
  options: DeploymentControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("deployment");
  const deployments = informers.get<Deployment>(DEPLOYMENTS);
  const replicaSets = informers.get<ReplicaSet>(REPLICASETS);
  const pods = informers.get<Pod>(PODS);
  const queue = new WorkQueue();
  const reconciler = new DeploymentReconciler({
    listers: { deployments, replicaSets, pods },
    client: informers.client,
    recorder: options.recorder,
    enqueueAfter: (key, ms) => queue.addAfter(key, ms),
  });
  const enqueue = (keys: string[]) => keys.forEach((k) => queue.add(k));
  deployments.addEventHandler({
    onAdd: (d) => queue.add(keyOf(d)),
    onUpdate: (_o, d) => queue.add(keyOf(d)),
    onDelete: (d) => queue.add(keyOf(d)),
  });
  replicaSets.addEventHandler({
    onAdd: (rs) => enqueue(reconciler.deploymentsForReplicaSet(rs)),
    onUpdate: (old, rs) =>
      enqueue([
        ...new Set([
          ...reconciler.deploymentsForReplicaSet(old),
          ...reconciler.deploymentsForReplicaSet(rs),
        ]),
      ]),
    onDelete: (rs) => enqueue(reconciler.deploymentsForReplicaSet(rs)),
  });
  // Recreate waits for old pods to be gone.
  pods.addEventHandler({ onDelete: (pod) => enqueue(reconciler.deploymentsForPod(pod)) });
  await runController({
    name: "deployment",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [deployments, replicaSets, pods],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}
