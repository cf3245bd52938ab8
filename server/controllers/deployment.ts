/**
 * The Deployment controller: owns one ReplicaSet per pod template, named
 * `<deployment>-<pod-template-hash>`, and moves replicas from the old ones to the new one —
 * RollingUpdate within maxSurge/maxUnavailable, or Recreate (old pods gone before new ones
 * start). Keeps the `deployment.kubernetes.io/revision` annotations (a rollback — the client
 * patching the template back — re-uses the old ReplicaSet under a new revision), deletes old
 * ReplicaSets beyond `revisionHistoryLimit`, honours `paused`, and writes the status and the
 * Progressing/Available conditions that `kubectl rollout status` reads.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { DEPLOYMENTS, PODS, REPLICASETS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder } from "../../shared/events.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  isPodActive,
  keyOf,
  newControllerRef,
} from "./controller_utils.ts";
import type { InformerSet } from "./informer_set.ts";
import {
  canonical,
  newReplicaSetReplicas,
  podTemplateHash,
  resolveFenceposts,
  scaleDownOldReplicaSets,
  templatesEqual,
} from "./rolling_update.ts";

const REVISION = "deployment.kubernetes.io/revision";
const DESIRED = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
const CHANGE_CAUSE = "kubernetes.io/change-cause";
const HASH_LABEL = "pod-template-hash";
const DEPLOYMENT_TYPE = { apiVersion: "apps/v1", kind: "Deployment" };

/** Options of {@linkcode runDeploymentController}. */
export interface DeploymentControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /** Parallel reconciles (default 5). */
  workers?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

function revisionOf(rs: KubeObject): number {
  const n = Number(rs.metadata.annotations?.[REVISION]);
  return Number.isFinite(n) ? n : 0;
}

function specReplicas(rs: KubeObject): number {
  return rs.spec?.replicas ?? 0;
}

/** Runs the Deployment controller until `signal` aborts. */
export async function runDeploymentController(
  options: DeploymentControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers, recorder } = options;
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("deployment");
  const deployments = informers.get(DEPLOYMENTS);
  const replicaSets = informers.get(REPLICASETS);
  const pods = informers.get(PODS);
  ensureControllerIndex(pods);
  const queue = new WorkQueue();

  const selectorOf = (d: KubeObject): Selector | null => {
    try {
      return selectorFromLabelSelector(d.spec?.selector);
    } catch {
      return null;
    }
  };
  const deploymentsOfRs = (rs: KubeObject): string[] => {
    const ns = rs.metadata.namespace!;
    const ref = controllerRef(rs);
    if (ref) return ref.kind === "Deployment" ? [`${ns}/${ref.name}`] : [];
    return deployments.byIndex("namespace", ns)
      .filter((d) => selectorOf(d)?.matches(rs.metadata.labels))
      .map(keyOf);
  };
  const enqueueForPod = (pod: KubeObject) => {
    const ref = controllerRef(pod);
    if (ref?.kind !== "ReplicaSet") return;
    const rs = replicaSets.get(`${pod.metadata.namespace}/${ref.name}`);
    if (rs) { for (const k of deploymentsOfRs(rs)) queue.add(k); }
  };

  deployments.addEventHandler({
    onAdd: (d) => queue.add(keyOf(d)),
    onUpdate: (_o, d) => queue.add(keyOf(d)),
    onDelete: (d) => queue.add(keyOf(d)),
  });
  replicaSets.addEventHandler({
    onAdd: (rs) => deploymentsOfRs(rs).forEach((k) => queue.add(k)),
    onUpdate: (old, rs) => {
      const keys = new Set([...deploymentsOfRs(old), ...deploymentsOfRs(rs)]);
      for (const k of keys) queue.add(k);
    },
    onDelete: (rs) => deploymentsOfRs(rs).forEach((k) => queue.add(k)),
  });
  // Recreate waits for old pods to be gone.
  pods.addEventHandler({ onDelete: enqueueForPod });

  const scaleRs = async (d: KubeObject, rs: KubeObject, replicas: number, maxSurge: number) => {
    const from = specReplicas(rs);
    const annotations = {
      ...rs.metadata.annotations,
      [DESIRED]: String(d.spec?.replicas ?? 1),
      [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + maxSurge),
    };
    if (from === replicas && rs.metadata.annotations?.[DESIRED] === annotations[DESIRED]) return rs;
    const updated = await client.update(REPLICASETS, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
      spec: { ...rs.spec, replicas },
    });
    if (from !== replicas) {
      recorder.record(
        withKind(d),
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${
          replicas > from ? "up" : "down"
        } replica set ${rs.metadata.name} from ${from} to ${replicas}`,
      );
    }
    return updated;
  };

  const reconcile = async (key: string) => {
    const d = deployments.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const ns = d.metadata.namespace!;
    const selector = selectorOf(d);
    // An empty selector would take every ReplicaSet in the namespace (validation forbids it).
    if (!selector || selector.empty) return;
    const uid = d.metadata.uid!;
    const replicas: number = d.spec?.replicas ?? 1;

    // Claim ReplicaSets: ours that still match, adopt matching orphans, release the rest.
    const owned: KubeObject[] = [];
    for (const rs of replicaSets.byIndex("namespace", ns)) {
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
        const patched = await client.patch(REPLICASETS, rs.metadata.name!, {
          metadata: { uid: rs.metadata.uid, ownerReferences: refs },
        }, { namespace: ns, type: "merge" });
        if (!ref) owned.push(patched);
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }

    const collisionCount: number = d.status?.collisionCount ?? 0;
    const hash = podTemplateHash(d.spec?.template, collisionCount);
    let newRs = owned.find((rs) => templatesEqual(rs.spec?.template, d.spec?.template));
    const olds = owned.filter((rs) => rs !== newRs)
      .sort((a, b) =>
        revisionOf(a) - revisionOf(b) ||
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "")
      );
    const maxOldRevision = olds.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const newRevision = maxOldRevision + 1;
    const strategyType = d.spec?.strategy?.type ?? "RollingUpdate";
    const { maxSurge, maxUnavailable } = strategyType === "RollingUpdate"
      ? resolveFenceposts(d.spec?.strategy?.rollingUpdate, replicas)
      : { maxSurge: 0, maxUnavailable: replicas };
    const paused = d.spec?.paused === true;
    let progress: { reason: string; message: string } | undefined;

    if (!paused) {
      if (!newRs) {
        const oldPodsRunning = strategyType === "Recreate" && olds.some((rs) => hasActivePods(rs));
        const initial = strategyType === "Recreate"
          ? (oldPodsRunning || olds.some((rs) => specReplicas(rs) > 0) ? 0 : replicas)
          : newReplicaSetReplicas(
            replicas,
            maxSurge,
            { replicas: 0, available: 0 },
            olds.map(counts),
          );
        const created = await createReplicaSet(d, hash, newRevision, initial, maxSurge);
        if (created === "collision") {
          await client.updateStatus(DEPLOYMENTS, {
            ...d,
            status: { ...d.status, collisionCount: collisionCount + 1 },
          });
          return;
        }
        newRs = created;
        progress = {
          reason: "NewReplicaSetCreated",
          message: `Created new replica set "${newRs.metadata.name}"`,
        };
      } else {
        // A rollback or re-applied template makes an old ReplicaSet the newest revision.
        const annotations = { ...newRs.metadata.annotations };
        let changed = false;
        if (revisionOf(newRs) < newRevision) {
          annotations[REVISION] = String(newRevision);
          changed = true;
        }
        const cause = d.metadata.annotations?.[CHANGE_CAUSE];
        if (cause && annotations[CHANGE_CAUSE] !== cause) {
          annotations[CHANGE_CAUSE] = cause;
          changed = true;
        }
        if (changed) {
          newRs = await client.update(REPLICASETS, {
            ...newRs,
            metadata: { ...newRs.metadata, annotations },
          });
        }
      }
      const theNew = newRs!;
      if (strategyType === "Recreate") {
        for (const rs of olds) {
          if (specReplicas(rs) > 0) await scaleRs(d, rs, 0, maxSurge);
        }
        const oldsGone = olds.every((rs) => specReplicas(rs) === 0 && !hasActivePods(rs));
        if (oldsGone) newRs = await scaleRs(d, theNew, replicas, maxSurge);
      } else {
        const all = [theNew, ...olds];
        const cur = specReplicas(theNew);
        let target = cur;
        if (cur < replicas) {
          target = newReplicaSetReplicas(replicas, maxSurge, counts(theNew), all.map(counts));
        } else if (cur > replicas) target = replicas;
        newRs = await scaleRs(d, theNew, target, maxSurge);
        const sizes = scaleDownOldReplicaSets(
          replicas,
          maxUnavailable,
          counts(newRs!),
          olds.map(counts),
        );
        for (let i = 0; i < olds.length; i++) {
          if (sizes[i] !== specReplicas(olds[i])) {
            olds[i] = await scaleRs(d, olds[i], sizes[i], maxSurge);
          }
        }
      }
    } else if (newRs && olds.every((rs) => specReplicas(rs) === 0)) {
      // Paused: still follow `kubectl scale` when no rollout is half-way.
      newRs = await scaleRs(d, newRs, replicas, maxSurge);
    }

    // The deployment carries its current revision too.
    const revision = newRs ? String(revisionOf(newRs)) : undefined;
    if (revision && revision !== "0" && d.metadata.annotations?.[REVISION] !== revision) {
      await client.patch(DEPLOYMENTS, d.metadata.name!, {
        metadata: { annotations: { [REVISION]: revision } },
      }, { namespace: ns, type: "merge" });
    }

    const complete = await writeStatus(d, newRs, olds, { maxUnavailable, paused, progress });
    if (complete) await cleanup(d, olds);
  };

  const hasActivePods = (rs: KubeObject): boolean =>
    pods.byIndex(CONTROLLER_INDEX, rs.metadata.uid!).some(isPodActive) ||
    (rs.status?.replicas ?? 0) > 0;

  const createReplicaSet = async (
    d: KubeObject,
    hash: string,
    revision: number,
    replicas: number,
    maxSurge: number,
  ): Promise<KubeObject | "collision"> => {
    const template = structuredClone(d.spec?.template ?? {});
    template.metadata ??= {};
    template.metadata.labels = { ...template.metadata.labels, [HASH_LABEL]: hash };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [HASH_LABEL]: hash };
    const annotations: Record<string, string> = {
      [REVISION]: String(revision),
      [DESIRED]: String(d.spec?.replicas ?? 1),
      [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + maxSurge),
    };
    const cause = d.metadata.annotations?.[CHANGE_CAUSE];
    if (cause) annotations[CHANGE_CAUSE] = cause;
    const rs: KubeObject = {
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
        replicas,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector,
        template,
      },
    };
    try {
      const created = await client.create(REPLICASETS, rs, { namespace: d.metadata.namespace });
      recorder.record(
        withKind(d),
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`,
      );
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Same name: ours with an equal template (our cache is behind) or a hash collision.
      const existing = await client.get(REPLICASETS, rs.metadata.name!, {
        namespace: d.metadata.namespace,
      });
      if (
        controllerRef(existing)?.uid === d.metadata.uid &&
        templatesEqual(existing.spec?.template, d.spec?.template)
      ) return existing;
      return "collision";
    }
  };

  /** Writes status and conditions; returns true when the rollout is complete. */
  const writeStatus = async (
    d: KubeObject,
    newRs: KubeObject | undefined,
    olds: KubeObject[],
    o: {
      maxUnavailable: number;
      paused: boolean;
      progress?: { reason: string; message: string };
    },
  ): Promise<boolean> => {
    const all = newRs ? [newRs, ...olds] : olds;
    const replicas: number = d.spec?.replicas ?? 1;
    const sum = (f: (rs: KubeObject) => number) => all.reduce((s, rs) => s + f(rs), 0);
    const old = d.status ?? {};
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRs?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
    };
    const unavailable = Math.max(0, sum(specReplicas) - (status.availableReplicas as number));
    if (unavailable > 0) status.unavailableReplicas = unavailable;
    if (old.collisionCount) status.collisionCount = old.collisionCount;
    const newOk = !newRs ||
      (newRs.status?.observedGeneration ?? 0) >= (newRs.metadata.generation ?? 0);
    const complete = !!newRs && newOk &&
      status.updatedReplicas === replicas && status.replicas === replicas &&
      status.availableReplicas === replicas;

    const t = now();
    const conditions: Condition[] = [...(old.conditions ?? [])];
    const setCondition = (c: Condition) => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const prev = i >= 0 ? conditions[i] : undefined;
      if (
        prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message
      ) {
        return;
      }
      const next: Condition = {
        ...c,
        lastUpdateTime: t,
        lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : t,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };
    const minAvailable = replicas - o.maxUnavailable;
    if ((status.availableReplicas as number) >= minAvailable) {
      setCondition({
        type: "Available",
        status: "True",
        reason: "MinimumReplicasAvailable",
        message: "Deployment has minimum availability.",
      });
    } else {
      setCondition({
        type: "Available",
        status: "False",
        reason: "MinimumReplicasUnavailable",
        message: "Deployment does not have minimum availability.",
      });
    }
    const deadline: number | undefined = d.spec?.progressDeadlineSeconds ?? 600;
    const progressing = conditions.find((c) => c.type === "Progressing");
    const rsName = newRs?.metadata.name ?? "";
    let requeueMs: number | undefined;
    if (o.paused) {
      setCondition({
        type: "Progressing",
        status: "Unknown",
        reason: "DeploymentPaused",
        message: "Deployment is paused",
      });
    } else if (progressing?.reason === "DeploymentPaused") {
      setCondition({
        type: "Progressing",
        status: "Unknown",
        reason: "DeploymentResumed",
        message: "Deployment is resumed",
      });
    } else if (complete) {
      setCondition({
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      });
    } else if (o.progress) {
      setCondition({ type: "Progressing", status: "True", ...o.progress });
    } else if (newRs) {
      const moved = ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"].some(
        (f) => old[f] !== status[f],
      );
      if (!progressing || progressing.reason === "NewReplicaSetAvailable") {
        setCondition({
          type: "Progressing",
          status: "True",
          reason: "FoundNewReplicaSet",
          message: `Found new replica set "${rsName}"`,
        });
      } else if (moved || old.observedGeneration !== status.observedGeneration) {
        // Progress resets the deadline clock.
        const i = conditions.findIndex((c) => c.type === "Progressing");
        conditions[i] = {
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: `ReplicaSet "${rsName}" is progressing.`,
          lastUpdateTime: t,
          lastTransitionTime: progressing.status === "True" ? progressing.lastTransitionTime : t,
        };
      } else if (
        progressing.reason !== "ProgressDeadlineExceeded" && progressing.lastUpdateTime &&
        deadline !== undefined
      ) {
        const left = Date.parse(progressing.lastUpdateTime) + deadline * 1000 - Date.now();
        if (left <= 0) {
          setCondition({
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: `ReplicaSet "${rsName}" has timed out progressing.`,
          });
        } else requeueMs = left + 50;
      }
    }
    status.conditions = conditions;
    if (canonical(status) !== canonical(pick(old, status))) {
      try {
        await client.updateStatus(DEPLOYMENTS, { ...d, status });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (requeueMs !== undefined) queue.addAfter(keyOf(d), requeueMs);
    return complete;
  };

  const cleanup = async (d: KubeObject, olds: KubeObject[]) => {
    const limit: number = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds.filter((rs) =>
      specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp
    );
    const excess = idle.length - limit;
    for (let i = 0; i < excess; i++) {
      try {
        await client.delete(REPLICASETS, idle[i].metadata.name!, {
          namespace: idle[i].metadata.namespace,
          preconditions: { uid: idle[i].metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  };

  await runController({
    name: "deployment",
    queue,
    reconcile,
    informers: [deployments, replicaSets, pods],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}

function counts(rs: KubeObject): { replicas: number; available: number } {
  return { replicas: specReplicas(rs), available: rs.status?.availableReplicas ?? 0 };
}

function pick(old: Record<string, unknown>, like: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) if (old[k] !== undefined) out[k] = old[k];
  return out;
}

function withKind(d: KubeObject): KubeObject {
  return d.kind ? d : { ...d, ...DEPLOYMENT_TYPE };
}
