/**
 * The Job controller (kube-controller-manager's job controller, batch/v1): runs a Job's pods
 * until enough of them succeed. `reconcile(key)` is `syncJob`: `getPodsForJob` (owned pods and
 * adopted orphans), `trackFinishedPods` (finished pods still holding the
 * `batch.kubernetes.io/job-tracking` finalizer go to `status.uncountedTerminatedPods`, with
 * podFailurePolicy applied; with backoffLimitPerIndex, indexes out of retries go to
 * `status.failedIndexes` and an index's last failed pod is held until its replacement exists),
 * `finishCondition` (backoffLimit, activeDeadlineSeconds, FailJob, maxFailedIndexes, failed
 * indexes, successPolicy, completions reached → the interim FailureTarget / SuccessCriteriaMet
 * condition), `manageJob` (create or delete pods towards the wanted number of active ones,
 * Indexed or not, with the pod failure back-off — per index with backoffLimitPerIndex — and
 * slow-start batches), and `trackJobStatusAndRemoveFinalizers` (write the uncounted pods, remove
 * their finalizers, then fold them into succeeded/failed and add Complete/Failed once no pod is
 * left running). Finished Jobs are deleted after ttlSecondsAfterFinished (`cleanupFinishedJob`,
 * the TTL-after-finished controller's job).
 */
import { JOB_TRACKING_FINALIZER } from "../../shared/api/batch_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { JOBS, PODS } from "../../shared/client/refs.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import { runController } from "../../shared/controller.ts";
import { rfc3339 } from "../../shared/time.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  Expectations,
  isPodReady,
  keyOf,
  newControllerRef,
  orphanIndexValue,
} from "./controller_utils.ts";
import {
  type FailurePolicyMatch,
  finishTime,
  formatIndexes,
  hasJobCondition,
  hasTrackingFinalizer,
  indexFailureCounts,
  isActive,
  isJobFinished,
  isTerminating,
  jobCondition,
  matchPodFailurePolicy,
  matchSuccessPolicy,
  newCondition,
  parseIndexes,
  podBackoffMs,
  podFromTemplate,
  podIndex,
  podOutcome,
  restartsOf,
  setCondition,
} from "./job_utils.ts";
import { deletionOrder as podDeletionOrder } from "./replica_set.ts";
import type { Pod } from "../../shared/api/core_v1.ts";

/** The ReplicaSet controller's pod deletion order, over the Job controller's untyped pods. */
const deletionOrder = (a: KubeObject, b: KubeObject) => podDeletionOrder(a as Pod, b as Pod);

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** The value of `spec.managedBy` this controller answers to (also when unset). */
export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";

/** What {@linkcode JobReconciler} works on. */
export interface JobReconcilerOptions {
  listers: { jobs: Lister<KubeObject>; pods: Lister<KubeObject> };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Most pods created in one reconcile (Kubernetes' burstReplicas, 500). */
  burst?: number;
}

const JOB_TYPE = { apiVersion: "batch/v1", kind: "Job" };
const COMPLETIONS_REACHED = {
  reason: "CompletionsReached",
  message: "Reached expected number of succeeded pods",
};
const BACKOFF_LIMIT_EXCEEDED = {
  reason: "BackoffLimitExceeded",
  message: "Job has reached the specified backoff limit",
};
const DEADLINE_EXCEEDED = {
  reason: "DeadlineExceeded",
  message: "Job was active longer than specified deadline",
};
const MAX_FAILED_INDEXES_EXCEEDED = {
  reason: "MaxFailedIndexesExceeded",
  message: "Job has exceeded the specified maximal number of failed indexes",
};
const FAILED_INDEXES = { reason: "FailedIndexes", message: "Job has failed indexes" };
/** The reason of the SuccessCriteriaMet and Complete conditions a successPolicy rule gives. */
const SUCCESS_POLICY_REASON = "SuccessPolicy";

/** A condition's reason and message (the outcome finishCondition decided). */
interface Outcome {
  reason: string;
  message: string;
}

interface BackoffRecord {
  failures: number;
  lastFailure: number;
}

/** What one pass over a Job's pods found (trackFinishedPods). */
interface Tracking {
  uncounted: { succeeded: string[]; failed: string[] };
  /** Pods whose finalizer is to be removed now (counted, ignored or already uncounted). */
  release: KubeObject[];
  /** Uids of pods that still hold the finalizer (as far as this controller knows). */
  holding: Set<string>;
  completed?: Set<number>;
  /** With backoffLimitPerIndex: the indexes out of retries (`status.failedIndexes`). */
  failedIndexes?: Set<number>;
  /**
   * With backoffLimitPerIndex: per index still to be retried, its last failed pod. It keeps its
   * finalizer (uncounted) until the replacement exists, which takes its failure counts from it
   * (Kubernetes' podsWithDelayedDeletionPerIndex).
   */
  delayed: Map<number, KubeObject>;
  /** How many of the delayed pods count towards backoffLimit (not matched by Ignore). */
  delayedFailures: number;
  failJobMessage?: string;
  /** Failed pods released now that count towards backoffLimit. */
  newFailures: number;
  /**
   * Failed pods released now, Ignore-matched ones included: what the pod failure back-off counts
   * (Kubernetes' backoff record takes every newly finished failed pod).
   */
  newBackoffFailures: number;
  newSuccesses: number;
  lastFailure: number;
}

/** An Indexed Job with backoffLimitPerIndex: retries are counted per index. */
function hasBackoffLimitPerIndex(job: KubeObject): boolean {
  return job.spec.completionMode === "Indexed" && job.spec.backoffLimitPerIndex !== undefined;
}

function withKind(job: KubeObject): KubeObject {
  return job.kind ? job : { ...job, ...JOB_TYPE };
}

/** The Job controller's reconciler; see the module comment. */
export class JobReconciler {
  readonly #jobs: Lister<KubeObject>;
  readonly #pods: Lister<KubeObject>;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #expectations = new Expectations();
  /** Pod uids whose finalizer removal was sent but not yet seen (never counted twice). */
  readonly #removing = new Set<string>();
  /** Consecutive failures per Job uid, for the pod back-off. */
  readonly #backoff = new Map<string, BackoffRecord>();
  readonly #selectors = new WeakMap<KubeObject, Selector | null>();

  constructor(deps: JobReconcilerOptions) {
    this.#jobs = deps.listers.jobs;
    this.#pods = deps.listers.pods;
    ensureControllerIndex(this.#pods);
    this.#client = deps.client;
    this.#recorder = deps.recorder;
    this.#clock = deps.clock ?? realClock;
    this.#burst = deps.burst ?? 500;
  }

  // ---- Event routing (informer handlers call these; they only compute keys and bookkeeping).

  /** Jobs a pod event concerns: its controller Job, or Jobs whose selector adopts an orphan. */
  jobKeysForPod(pod: KubeObject): string[] {
    const ref = controllerRef(pod);
    const ns = pod.metadata.namespace!;
    if (ref) return ref.kind === "Job" ? [`${ns}/${ref.name}`] : [];
    const out: string[] = [];
    for (const job of this.#jobs.byIndex("namespace", ns)) {
      if (this.#selectorOf(job)?.matches(pod.metadata.labels)) out.push(keyOf(job));
    }
    return out;
  }

  /** Bookkeeping for a pod seen in the cache (creation and deletion expectations, finalizers). */
  observePod(pod: KubeObject, event: "add" | "update" | "delete"): void {
    const ref = controllerRef(pod);
    const jobKey = ref?.kind === "Job" ? `${pod.metadata.namespace}/${ref.name}` : undefined;
    if (jobKey && event === "add") this.#expectations.observeAdd(jobKey);
    if (jobKey && (event === "delete" || pod.metadata.deletionTimestamp)) {
      this.#expectations.observeDelete(jobKey, keyOf(pod));
    }
    if (event === "delete" || !hasTrackingFinalizer(pod)) this.#removing.delete(pod.metadata.uid!);
  }

  /** A Job left the cache. */
  forgetJob(job: KubeObject): void {
    this.#expectations.delete(keyOf(job));
    this.#backoff.delete(job.metadata.uid!);
  }

  // ---- The sync.

  /**
   * Brings the Job `namespace/name` forward; resolves to the ms after which it must be looked
   * at again (back-off, deadline, TTL), if any. Throws to be retried.
   */
  async reconcile(key: string): Promise<number | undefined> {
    const job = this.#jobs.get(key);
    if (!job) {
      await this.releaseOrphanPods(key);
      return undefined;
    }
    const managedBy = job.spec?.managedBy;
    if (managedBy !== undefined && managedBy !== JOB_CONTROLLER_NAME) return undefined;
    if (job.metadata.deletionTimestamp || isJobFinished(job)) {
      // Nothing runs for this Job any more: let go of every pod it still holds.
      const held = this.#ownedPods(job).filter((p) => hasTrackingFinalizer(p));
      await this.#removeFinalizers(held);
      if (job.metadata.deletionTimestamp) return undefined;
      return await this.cleanupFinishedJob(job);
    }
    return await this.syncJob(key, job);
  }

  /** syncJob: one pass over an unfinished Job. */
  async syncJob(key: string, job: KubeObject): Promise<number | undefined> {
    const now = this.#clock.now();
    const pods = await this.getPodsForJob(job);
    const tracking = this.trackFinishedPods(job, pods);
    this.#updateBackoff(job, tracking);
    const active = pods.filter(isActive);
    const terminating = pods.filter(isTerminating).length;
    const indexed = job.spec.completionMode === "Indexed";
    const status: Obj = structuredClone(job.status ?? {});
    // Failed pods held for their index's replacement count towards backoffLimit already.
    const failed = (status.failed ?? 0) + tracking.uncounted.failed.length +
      tracking.delayedFailures;
    const succeeded = indexed
      ? tracking.completed!.size
      : (status.succeeded ?? 0) + tracking.uncounted.succeeded.length;
    const suspended = job.spec.suspend === true;
    const nowText = rfc3339(now);

    this.#syncSuspension(job, status, nowText);

    const finish = this.finishCondition(job, {
      status,
      now,
      failed,
      succeeded,
      active,
      tracking,
    });
    let requeue: number | undefined;
    // Pods created now count as active at once, and pods deleted now as terminating, as
    // Kubernetes counts them.
    let created = 0;
    let stopped = 0;
    // A decided outcome retries nothing: the held failed pods are counted and let go.
    if (finish.failure || finish.success) this.#releaseDelayed(job, tracking);
    if (finish.failure || finish.success || suspended) {
      // The outcome is decided (or the Job paused): nothing more may run.
      await this.#deletePods(key, job, active);
      stopped = active.length;
    } else {
      const managed = await this.manageJob(key, job, {
        active,
        terminating,
        succeeded,
        completed: tracking.completed,
        failedIndexes: tracking.failedIndexes,
        delayed: tracking.delayed,
        now,
      });
      created = managed.created;
      requeue = minDefined(managed.requeue, finish.deadlineInMs);
    }
    this.#setOutcomeConditions(job, status, finish, nowText);
    status.active = active.length + created - stopped;
    status.ready = stopped > 0 ? 0 : active.filter(isPodReady).length;
    status.terminating = terminating + stopped;
    if (indexed) status.completedIndexes = formatIndexes(tracking.completed!);
    // As Kubernetes: "" rather than absent once backoffLimitPerIndex is set.
    if (tracking.failedIndexes) status.failedIndexes = formatIndexes(tracking.failedIndexes);
    await this.trackJobStatusAndRemoveFinalizers(job, status, tracking, {
      failure: finish.failure,
      success: finish.success,
      running: active.length + terminating,
      now,
    });
    return requeue;
  }

  /**
   * The `Suspended` condition and the start time; a resumed Job's start time (and so its
   * activeDeadlineSeconds) counts from the resume.
   */
  #syncSuspension(job: KubeObject, status: Obj, nowText: string): void {
    const suspended = job.spec.suspend === true;
    if (suspended) {
      if (!hasJobCondition(job, "Suspended")) {
        status.conditions = setCondition(
          status.conditions,
          newCondition("Suspended", "True", "JobSuspended", "Job suspended", nowText),
        );
        this.#recorder.record(withKind(job), "Normal", "Suspended", "Job suspended");
      }
    } else {
      if (hasJobCondition(job, "Suspended")) {
        status.conditions = setCondition(
          status.conditions,
          newCondition("Suspended", "False", "JobResumed", "Job resumed", nowText),
        );
        status.startTime = nowText;
        this.#recorder.record(withKind(job), "Normal", "Resumed", "Job resumed");
      }
      status.startTime ??= nowText;
    }
  }

  /** The interim conditions a decided outcome gets before its pods are gone (as upstream). */
  #setOutcomeConditions(
    job: KubeObject,
    status: Obj,
    finish: { failure?: Outcome; success?: Outcome },
    nowText: string,
  ): void {
    if (finish.failure && !hasJobCondition(job, "FailureTarget")) {
      status.conditions = setCondition(
        status.conditions,
        newCondition(
          "FailureTarget",
          "True",
          finish.failure.reason,
          finish.failure.message,
          nowText,
        ),
      );
    }
    if (finish.success && !hasJobCondition(job, "SuccessCriteriaMet")) {
      status.conditions = setCondition(
        status.conditions,
        newCondition(
          "SuccessCriteriaMet",
          "True",
          finish.success.reason,
          finish.success.message,
          nowText,
        ),
      );
    }
  }

  /** getPodsForJob: pods owned by the Job, plus matching orphans it adopts. */
  async getPodsForJob(job: KubeObject): Promise<KubeObject[]> {
    const owned = this.#ownedPods(job);
    const selector = this.#selectorOf(job);
    if (!selector) return owned;
    const ns = job.metadata.namespace!;
    for (const pod of this.#pods.byIndex(CONTROLLER_INDEX, orphanIndexValue(ns))) {
      if (!selector.matches(pod.metadata.labels) || !isActive(pod)) continue;
      try {
        const adopted = await this.#client.patch(PODS, pod.metadata.name!, {
          metadata: {
            uid: pod.metadata.uid,
            ownerReferences: [
              ...(pod.metadata.ownerReferences ?? []),
              newControllerRef(job, JOB_TYPE),
            ],
          },
        }, { namespace: ns, type: "merge" });
        owned.push(adopted);
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    return owned;
  }

  /**
   * trackFinishedPods: finished pods that still hold the finalizer and are not yet in
   * `uncountedTerminatedPods` are added to it (a failure matching an `Ignore` rule is released
   * without counting; a `FailJob` match is remembered); completed indexes are collected. With
   * backoffLimitPerIndex, a failure fails its index once the pod's `job-index-failure-count`
   * reached the limit or a `FailIndex` rule matched; otherwise the index's last failed pod is
   * held (see {@linkcode Tracking.delayed}) unless the index has a pod running.
   */
  trackFinishedPods(job: KubeObject, pods: KubeObject[]): Tracking {
    const status = job.status ?? {};
    const indexed = job.spec.completionMode === "Indexed";
    const perIndex = hasBackoffLimitPerIndex(job);
    const completions: number = job.spec.completions ?? 0;
    const onlyFailed = job.spec.podReplacementPolicy === "Failed";
    const suspended = job.spec.suspend === true;
    const uncounted = {
      succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])] as string[],
      failed: [...(status.uncountedTerminatedPods?.failed ?? [])] as string[],
    };
    const known = new Set([...uncounted.succeeded, ...uncounted.failed]);
    const t: Tracking = {
      uncounted,
      release: [],
      holding: new Set(),
      completed: indexed ? parseIndexes(status.completedIndexes, completions) : undefined,
      failedIndexes: perIndex ? parseIndexes(status.failedIndexes, completions) : undefined,
      delayed: new Map(),
      delayedFailures: 0,
      newFailures: 0,
      newBackoffFailures: 0,
      newSuccesses: 0,
      lastFailure: 0,
    };
    /** Failures of an index of a backoffLimitPerIndex Job, decided once all pods are seen. */
    const indexFailures: { pod: KubeObject; index: number; match?: FailurePolicyMatch }[] = [];
    for (const pod of pods) {
      const uid = pod.metadata.uid!;
      if (!hasTrackingFinalizer(pod) || this.#removing.has(uid)) continue;
      t.holding.add(uid);
      if (known.has(uid)) {
        t.release.push(pod);
        continue;
      }
      const outcome = podOutcome(pod, onlyFailed);
      if (!outcome) continue;
      if (outcome === "Succeeded") {
        t.release.push(pod);
        if (indexed) {
          const i = podIndex(pod);
          if (i === undefined || i >= completions) continue;
          t.completed!.add(i);
        }
        uncounted.succeeded.push(uid);
        t.newSuccesses++;
        continue;
      }
      // Pods removed because the Job was suspended are not failures.
      if (suspended && pod.status?.phase !== "Failed") {
        t.release.push(pod);
        continue;
      }
      const match = this.#failureMatch(job, pod);
      if (match?.action === "FailJob") t.failJobMessage ??= match.message;
      const index = perIndex ? podIndex(pod) : undefined;
      if (index !== undefined && index < completions) indexFailures.push({ pod, index, match });
      else this.#countFailure(t, pod, match);
    }
    if (perIndex) this.#trackIndexFailures(job, { pods, tracking: t, failures: indexFailures });
    return t;
  }

  /**
   * The backoffLimitPerIndex half of trackFinishedPods: marks failed indexes, picks per index
   * still to be retried the failed pod to hold (the highest failure count, then the latest), and
   * counts and releases the other failures.
   */
  #trackIndexFailures(job: KubeObject, s: {
    pods: KubeObject[];
    tracking: Tracking;
    failures: { pod: KubeObject; index: number; match?: FailurePolicyMatch }[];
  }): void {
    const t = s.tracking;
    const limit: number = job.spec.backoffLimitPerIndex;
    for (const { pod, index, match } of s.failures) {
      const counted = match?.action !== "Ignore";
      if (match?.action === "FailIndex" || (counted && indexFailureCounts(pod).failures >= limit)) {
        t.failedIndexes!.add(index);
      }
    }
    const running = new Set<number>();
    for (const pod of s.pods) {
      const i = isActive(pod) ? podIndex(pod) : undefined;
      if (i !== undefined) running.add(i);
    }
    const absolute = (p: KubeObject) => {
      const c = indexFailureCounts(p);
      return c.failures + c.ignored;
    };
    const finished = (p: KubeObject) => this.#finishedAt(p);
    for (const { pod, index } of s.failures) {
      if (t.completed!.has(index) || t.failedIndexes!.has(index) || running.has(index)) continue;
      const last = t.delayed.get(index);
      if (!last || (absolute(last) <= absolute(pod) && finished(pod) >= finished(last))) {
        t.delayed.set(index, pod);
      }
    }
    for (const { pod, index, match } of s.failures) {
      if (t.delayed.get(index) !== pod) this.#countFailure(t, pod, match);
      else if (match?.action !== "Ignore") t.delayedFailures++;
    }
  }

  /** Counts and releases the held failed pods (the Job's outcome is decided: no retries). */
  #releaseDelayed(job: KubeObject, t: Tracking): void {
    for (const pod of t.delayed.values()) this.#countFailure(t, pod, this.#failureMatch(job, pod));
    t.delayed.clear();
    t.delayedFailures = 0;
  }

  /**
   * A failed pod to release: counted towards backoffLimit unless an Ignore rule matched it, and
   * towards the pod failure back-off either way.
   */
  #countFailure(t: Tracking, pod: KubeObject, match: FailurePolicyMatch | undefined): void {
    t.release.push(pod);
    t.newBackoffFailures++;
    t.lastFailure = Math.max(t.lastFailure, finishTime(pod, this.#clock.now()));
    if (match?.action === "Ignore") return;
    t.uncounted.failed.push(pod.metadata.uid!);
    t.newFailures++;
  }

  /** The podFailurePolicy rule a failed pod matches (deleted, not Failed, pods match none). */
  #failureMatch(job: KubeObject, pod: KubeObject): FailurePolicyMatch | undefined {
    return pod.status?.phase === "Failed"
      ? matchPodFailurePolicy(job.spec.podFailurePolicy?.rules, pod)
      : undefined;
  }

  /** When a failed pod finished, for the per-index back-off (else its creation, as upstream). */
  #finishedAt(pod: KubeObject): number {
    const created = Date.parse(pod.metadata.creationTimestamp ?? "");
    return finishTime(pod, Number.isNaN(created) ? this.#clock.now() : created);
  }

  /**
   * finishCondition: whether the Job has failed (FailJob rule, backoffLimit, active deadline,
   * more failed indexes than maxFailedIndexes, or every index done with some failed) or
   * succeeded (a successPolicy rule met, completions reached), in Kubernetes' order of
   * precedence, and the ms left until its active deadline.
   */
  finishCondition(job: KubeObject, s: {
    status: Obj;
    now: number;
    failed: number;
    succeeded: number;
    active: KubeObject[];
    tracking: Tracking;
  }): {
    failure?: Outcome;
    success?: Outcome;
    deadlineInMs?: number;
  } {
    const target = jobCondition(job, "FailureTarget");
    if (target?.status === "True") {
      return { failure: { reason: target.reason, message: target.message } };
    }
    const met = jobCondition(job, "SuccessCriteriaMet");
    if (met?.status === "True") return { success: { reason: met.reason, message: met.message } };
    if (s.tracking.failJobMessage) {
      return { failure: { reason: "PodFailurePolicy", message: s.tracking.failJobMessage } };
    }
    const limit: number = job.spec.backoffLimit ?? 6;
    let exceeded = s.failed > limit;
    if (!exceeded && job.spec.template?.spec?.restartPolicy === "OnFailure") {
      // Retries in place count too (Kubernetes' pastBackoffLimitOnFailure).
      const restarts = restartsOf(s.active);
      exceeded = limit === 0 ? restarts > 0 : restarts + s.failed >= limit && restarts > 0;
    }
    if (exceeded) return { failure: BACKOFF_LIMIT_EXCEEDED };
    let deadlineInMs: number | undefined;
    const ads = job.spec.activeDeadlineSeconds;
    if (ads !== undefined && s.status.startTime && job.spec.suspend !== true) {
      const left = Date.parse(s.status.startTime) + ads * 1000 - s.now;
      if (left <= 0) return { failure: DEADLINE_EXCEEDED };
      deadlineInMs = left;
    }
    const completions: number | undefined = job.spec.completions;
    const failedIndexes = s.tracking.failedIndexes?.size ?? 0;
    const maxFailedIndexes: number | undefined = job.spec.maxFailedIndexes;
    if (maxFailedIndexes !== undefined && failedIndexes > maxFailedIndexes) {
      return { failure: MAX_FAILED_INDEXES_EXCEEDED };
    }
    // Every index either succeeded or ran out of retries.
    if (failedIndexes > 0 && failedIndexes + s.succeeded >= (completions ?? 0)) {
      return { failure: FAILED_INDEXES };
    }
    if (s.tracking.completed) {
      const message = matchSuccessPolicy(job.spec.successPolicy?.rules, {
        completions: completions ?? 0,
        succeeded: s.tracking.completed,
      });
      if (message) return { success: { reason: SUCCESS_POLICY_REASON, message } };
    }
    const done = completions === undefined
      ? s.succeeded > 0 && s.active.length === 0
      : s.succeeded >= completions;
    if (done) return { success: COMPLETIONS_REACHED };
    return { deadlineInMs };
  }

  /**
   * manageJob: creates or deletes pods so that the wanted number run — `min(parallelism,
   * completions - succeeded)` (or parallelism until one succeeds, without completions); for
   * Indexed Jobs one pod per pending index (neither completed nor failed), lowest first, and no
   * duplicates. New pods wait out the failure back-off: the Job's, or with backoffLimitPerIndex
   * their index's (from the held pod's failure counts and finish time), and then carry the
   * index's failure counts on. Returns how many pods it created, and the ms left of the back-off
   * when it held creations back.
   */
  async manageJob(key: string, job: KubeObject, s: {
    active: KubeObject[];
    terminating: number;
    succeeded: number;
    completed?: Set<number>;
    failedIndexes?: Set<number>;
    delayed?: Map<number, KubeObject>;
    now: number;
  }): Promise<{ requeue?: number; created: number }> {
    if (!this.#expectations.satisfied(key)) return { created: 0 };
    const parallelism: number = job.spec.parallelism ?? 1;
    const completions: number | undefined = job.spec.completions;
    // With podReplacementPolicy Failed a terminating pod still holds its place.
    const held = job.spec.podReplacementPolicy === "Failed" ? s.terminating : 0;
    let toCreate: (number | undefined)[] = [];
    let excess: KubeObject[] = [];
    if (job.spec.completionMode === "Indexed") {
      const seen = new Set<number>();
      const keep: KubeObject[] = [];
      // Prefer keeping ready, then older pods of a duplicated index.
      for (const pod of [...s.active].sort(deletionOrder).reverse()) {
        const i = podIndex(pod);
        if (i === undefined || i >= completions! || s.completed!.has(i) || seen.has(i)) {
          excess.push(pod);
        } else {
          seen.add(i);
          keep.push(pod);
        }
      }
      const pending: number[] = [];
      for (let i = 0; i < completions! && pending.length < parallelism; i++) {
        if (!s.completed!.has(i) && !seen.has(i) && !s.failedIndexes?.has(i)) pending.push(i);
      }
      const room = Math.max(0, parallelism - keep.length - held);
      if (keep.length > parallelism) {
        excess.push(...[...keep].sort(deletionOrder).slice(0, keep.length - parallelism));
      }
      toCreate = pending.slice(0, room);
    } else {
      const want = Math.max(
        0,
        completions === undefined
          ? (s.succeeded > 0 ? 0 : parallelism)
          : Math.min(parallelism, completions - s.succeeded),
      );
      if (s.active.length > want) {
        excess = [...s.active].sort(deletionOrder).slice(0, s.active.length - want);
      } else {
        toCreate = Array.from({ length: Math.max(0, want - s.active.length - held) });
      }
    }
    if (excess.length > 0) await this.#deletePods(key, job, excess);
    if (toCreate.length === 0) return { created: 0 };
    let requeue: number | undefined;
    if (hasBackoffLimitPerIndex(job)) {
      // Each index waits out its own back-off; the others start now.
      const now: number[] = [];
      for (const i of toCreate as number[]) {
        const left = this.#indexBackoffLeft(s.delayed?.get(i), s.now);
        if (left > 0) requeue = minDefined(requeue, left);
        else now.push(i);
      }
      toCreate = now;
      if (toCreate.length === 0) return { requeue, created: 0 };
    } else {
      const record = this.#backoff.get(job.metadata.uid!);
      if (record) {
        const left = record.lastFailure + podBackoffMs(record.failures) - s.now;
        if (left > 0) return { requeue: left, created: 0 };
      }
    }
    const batch = toCreate.slice(0, this.#burst);
    await this.#createPods(key, job, { indexes: batch, replaced: s.delayed });
    return { requeue, created: batch.length };
  }

  /**
   * The ms an index must still wait after its held failed pod (Kubernetes' per-index back-off:
   * the pod's failures, ignored ones included, plus its own, from when it finished).
   */
  #indexBackoffLeft(last: KubeObject | undefined, now: number): number {
    if (!last) return 0;
    const c = indexFailureCounts(last);
    return this.#finishedAt(last) + podBackoffMs(c.failures + c.ignored + 1) - now;
  }

  /** The failure counts of the pod replacing `replaced` in its index (0, 0 for a first pod). */
  #failureCountsAfter(
    job: KubeObject,
    replaced: KubeObject | undefined,
  ): { failures: number; ignored: number } {
    if (!replaced) return { failures: 0, ignored: 0 };
    const c = indexFailureCounts(replaced);
    if (this.#failureMatch(job, replaced)?.action === "Ignore") c.ignored++;
    else c.failures++;
    return c;
  }

  /**
   * trackJobStatusAndRemoveFinalizers: writes the status with the newly finished pods in
   * `uncountedTerminatedPods`, removes their finalizers, then folds them into
   * succeeded/failed; once the outcome is decided and no pod runs any more, the final
   * Complete (with completionTime) or Failed condition is added.
   */
  async trackJobStatusAndRemoveFinalizers(
    job: KubeObject,
    status: Obj,
    tracking: Tracking,
    s: {
      failure?: Outcome;
      success?: Outcome;
      running: number;
      now: number;
    },
  ): Promise<void> {
    let current = job;
    const uncounted = tracking.uncounted;
    let released = new Set<string>();
    if (tracking.release.length > 0) {
      // Record the finished pods first: once their finalizers are gone, this is their count.
      status.uncountedTerminatedPods = { ...uncounted };
      current = await this.#writeStatus(current, status);
      released = await this.#removeFinalizers(tracking.release);
    }
    if (uncounted.succeeded.length + uncounted.failed.length > 0) {
      // Fold every uncounted pod that no longer holds the finalizer into the counts.
      const held = (u: string) => tracking.holding.has(u) && !released.has(u);
      const free = (uids: string[]) => uids.filter((u) => !held(u));
      if (job.spec.completionMode === "Indexed") status.succeeded = tracking.completed!.size;
      else status.succeeded = (status.succeeded ?? 0) + free(uncounted.succeeded).length;
      status.failed = (status.failed ?? 0) + free(uncounted.failed).length;
      status.uncountedTerminatedPods = {
        succeeded: uncounted.succeeded.filter(held),
        failed: uncounted.failed.filter(held),
      };
    }
    status.succeeded ??= 0;
    status.failed ??= 0;
    const pending = (status.uncountedTerminatedPods?.succeeded?.length ?? 0) +
      (status.uncountedTerminatedPods?.failed?.length ?? 0);
    if (pending === 0) status.uncountedTerminatedPods = {};
    if ((s.failure || s.success) && s.running === 0 && pending === 0) {
      const nowText = rfc3339(s.now);
      if (s.failure) {
        status.conditions = setCondition(
          status.conditions,
          newCondition("Failed", "True", s.failure.reason, s.failure.message, nowText),
        );
        this.#recorder.record(withKind(job), "Warning", s.failure.reason, s.failure.message);
      } else {
        status.conditions = setCondition(
          status.conditions,
          newCondition("Complete", "True", s.success!.reason, s.success!.message, nowText),
        );
        status.completionTime = nowText;
        this.#recorder.record(withKind(job), "Normal", "Completed", "Job completed");
      }
    }
    if (JSON.stringify(status) !== JSON.stringify(current.status ?? {})) {
      await this.#writeStatus(current, status);
    }
  }

  /** cleanupFinishedJob: deletes a finished Job once ttlSecondsAfterFinished has passed. */
  async cleanupFinishedJob(job: KubeObject): Promise<number | undefined> {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined) return undefined;
    const finished = jobCondition(job, "Complete")?.status === "True"
      ? jobCondition(job, "Complete")
      : jobCondition(job, "Failed");
    const at = Date.parse(job.status?.completionTime ?? finished?.lastTransitionTime ?? "");
    if (Number.isNaN(at)) return undefined;
    const left = at + ttl * 1000 - this.#clock.now();
    if (left > 0) return left;
    try {
      await this.#client.delete(JOBS, job.metadata.name!, {
        namespace: job.metadata.namespace,
        propagationPolicy: "Foreground",
        preconditions: { uid: job.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    return undefined;
  }

  /** releaseOrphanPods: a deleted Job's pods must not keep its tracking finalizer. */
  async releaseOrphanPods(key: string): Promise<void> {
    const [ns, name] = key.split("/");
    const held = this.#pods.byIndex("namespace", ns).filter((p) => {
      const ref = controllerRef(p);
      return ref?.kind === "Job" && ref.name === name && hasTrackingFinalizer(p) &&
        !this.#jobs.get(key);
    });
    await this.#removeFinalizers(held);
  }

  // ---- Helpers.

  #selectorOf(job: KubeObject): Selector | null {
    let s = this.#selectors.get(job);
    if (s === undefined) {
      try {
        s = job.spec?.selector ? selectorFromLabelSelector(job.spec.selector) : null;
      } catch {
        s = null;
      }
      this.#selectors.set(job, s);
    }
    return s;
  }

  #ownedPods(job: KubeObject): KubeObject[] {
    return [...this.#pods.byIndex(CONTROLLER_INDEX, job.metadata.uid!)];
  }

  #updateBackoff(job: KubeObject, t: Tracking): void {
    const uid = job.metadata.uid!;
    if (t.newBackoffFailures > 0) {
      const r = this.#backoff.get(uid) ?? { failures: 0, lastFailure: 0 };
      r.failures += t.newBackoffFailures;
      r.lastFailure = Math.max(r.lastFailure, t.lastFailure);
      this.#backoff.set(uid, r);
    } else if (t.newSuccesses > 0) {
      this.#backoff.delete(uid);
    }
  }

  async #writeStatus(job: KubeObject, status: Obj): Promise<KubeObject> {
    return await this.#client.updateStatus(JOBS, { ...withKind(job), status });
  }

  /** Removes the tracking finalizer; returns the uids released (or already gone). */
  async #removeFinalizers(pods: KubeObject[]): Promise<Set<string>> {
    const released = new Set<string>();
    const results = await Promise.allSettled(pods.map(async (pod) => {
      const uid = pod.metadata.uid!;
      this.#removing.add(uid);
      try {
        await this.#client.patch(PODS, pod.metadata.name!, {
          metadata: { "$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER] },
        }, { namespace: pod.metadata.namespace, type: "strategic" });
        released.add(uid);
      } catch (err) {
        this.#removing.delete(uid);
        if (isNotFound(err)) released.add(uid);
        else throw err;
      }
    }));
    const failed = results.find((r) => r.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    if (failed && released.size === 0) throw failed.reason;
    return released;
  }

  async #createPods(key: string, job: KubeObject, s: {
    indexes: (number | undefined)[];
    /** With backoffLimitPerIndex: per index, the failed pod the new one replaces. */
    replaced?: Map<number, KubeObject>;
  }): Promise<void> {
    const indexes = s.indexes;
    const perIndex = hasBackoffLimitPerIndex(job);
    this.#expectations.expectAdds(key, indexes.length);
    let next = 0;
    let batch = 1;
    let failure: unknown;
    // Slow start (1, 2, 4, ...): a template the API refuses fails once, not `parallelism` times.
    while (next < indexes.length && !failure) {
      const chunk = indexes.slice(next, next + batch);
      next += chunk.length;
      batch *= 2;
      const results = await Promise.allSettled(chunk.map(async (index) => {
        const failureCounts = perIndex && index !== undefined
          ? this.#failureCountsAfter(job, s.replaced?.get(index))
          : undefined;
        const created = await this.#client.create(
          PODS,
          podFromTemplate(job, index, { failureCounts }),
          { namespace: job.metadata.namespace },
        );
        this.#recorder.record(
          withKind(job),
          "Normal",
          "SuccessfulCreate",
          `Created pod: ${created.metadata.name}`,
        );
      }));
      for (const r of results) {
        if (r.status === "rejected") {
          failure ??= r.reason;
          this.#expectations.observeAdd(key);
        }
      }
    }
    for (let i = next; i < indexes.length; i++) this.#expectations.observeAdd(key);
    if (failure) {
      this.#recorder.record(
        withKind(job),
        "Warning",
        "FailedCreate",
        `Error creating: ${(failure as Error).message}`,
      );
      throw failure;
    }
  }

  async #deletePods(key: string, job: KubeObject, pods: KubeObject[]): Promise<void> {
    if (pods.length === 0) return;
    this.#expectations.expectDeletes(key, pods.map(keyOf));
    const results = await Promise.allSettled(pods.map(async (pod) => {
      try {
        await this.#client.delete(PODS, pod.metadata.name!, {
          namespace: pod.metadata.namespace,
          preconditions: { uid: pod.metadata.uid },
        });
        this.#recorder.record(
          withKind(job),
          "Normal",
          "SuccessfulDelete",
          `Deleted pod: ${pod.metadata.name}`,
        );
      } catch (err) {
        this.#expectations.observeDelete(key, keyOf(pod));
        if (!isNotFound(err)) throw err;
      }
    }));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** Options of {@linkcode runJobController}. */
export interface RunJobControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /**
   * Parallel reconciles (default 25; kube-controller-manager's --concurrent-job-syncs is 5, but a
   * reconcile here waits on up to three writes in a row, and on a loaded Pi those round trips,
   * not CPU, bounded Jobs/s with 5).
   */
  workers?: number;
  /**
   * Pod events for one Job within this window cause one reconcile (default 1 s, Kubernetes'
   * syncJobBatchPeriod: a pod that starts and finishes within it costs one status write).
   */
  podBatchMs?: number;
}

/** Runs the Job controller over the shared informers until `signal` aborts. */
export async function runJobController(
  options: RunJobControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const jobs = informers.get(JOBS);
  const pods = informers.get(PODS);
  const queue = new WorkQueue();
  const controller = new JobReconciler({
    listers: { jobs, pods },
    client: informers.client,
    recorder: options.recorder,
  });
  jobs.addEventHandler({
    onAdd: (j) => queue.add(keyOf(j)),
    onUpdate: (_old, j) => queue.add(keyOf(j)),
    onDelete: (j) => {
      controller.forgetJob(j);
      queue.add(keyOf(j));
    },
  });
  const batchMs = options.podBatchMs ?? 1000;
  const podChanged = (pod: KubeObject, event: "add" | "update" | "delete", old?: KubeObject) => {
    controller.observePod(pod, event);
    const keys = new Set(controller.jobKeysForPod(pod));
    if (old) { for (const k of controller.jobKeysForPod(old)) keys.add(k); }
    for (const k of keys) queue.addAfter(k, batchMs);
  };
  pods.addEventHandler({
    onAdd: (p) => podChanged(p, "add"),
    onUpdate: (old, p) => {
      if (old.metadata.resourceVersion !== p.metadata.resourceVersion) podChanged(p, "update", old);
    },
    onDelete: (p) => podChanged(p, "delete"),
  });
  await runController({
    name: "job",
    queue,
    reconcile: async (key) => {
      const after = await controller.reconcile(key);
      // Timers cannot wait past 2^31 ms (a long TTL): re-check hourly instead.
      if (after !== undefined) queue.addAfter(key, Math.min(Math.max(after, 10), 3_600_000));
    },
    informers: [jobs, pods],
    workers: options.workers ?? 25,
    logger: (options.logger ?? silentLogger).child("job"),
  }, signal);
}
