/**
 * The CronJob controller (kube-controller-manager's cronjob controller v2): at each scheduled
 * time it creates a Job from the template, named `<cronjob>-<scheduled minutes since epoch>` so a
 * time is never run twice. `reconcile(key)` is `syncCronJob`: `syncActiveJobs` (finished Jobs
 * leave `status.active`, lastSuccessfulTime follows completions, vanished ones are dropped),
 * `getNextScheduleTime` (only the most recent missed time is run — a server that was down for a
 * day starts one Job, not hundreds — with a `TooManyMissedTimes` warning past 100 missed, and
 * startingDeadlineSeconds bounding how late a start may be), the concurrency policy
 * (Allow/Forbid/Replace), `createJob`, and `cleanupFinishedJobs` (history limits). It returns the
 * time until the next scheduled run, so an idle CronJob costs nothing between runs.
 */
import { CRONJOB_SCHEDULED_TIMESTAMP } from "../../shared/api/batch_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { CRONJOBS, JOBS } from "../../shared/client/refs.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import { runController } from "../../shared/controller.ts";
import { rfc3339 } from "../../shared/time.ts";
import {
  type CronSchedule,
  formatInZone,
  isValidTimeZone,
  parseSchedule,
} from "../../shared/cron/schedule.ts";
import { isAlreadyExists, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
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
import { isJobFinished, jobCondition } from "./job_utils.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** What {@linkcode CronJobReconciler} works on. */
export interface CronJobReconcilerOptions {
  listers: { cronJobs: Lister<KubeObject>; jobs: Lister<KubeObject> };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
}

const CRONJOB_TYPE = { apiVersion: "batch/v1", kind: "CronJob" };
/** Woken this long after a scheduled time, so the time has surely passed (Kubernetes: 100 ms). */
const NEXT_SCHEDULE_DELTA_MS = 100;
/** Beyond this many missed times the controller warns (and still runs only the latest). */
const MANY_MISSED = 100;

/** What {@linkcode mostRecentScheduleTime} found. */
export interface ScheduleCheck {
  /** The last scheduled time, or creation, or the starting deadline: where counting began. */
  earliest: number;
  /** The latest scheduled time at or before now, if one was missed since `earliest`. */
  mostRecent?: number;
  /** How many scheduled times passed since `earliest` (estimated; > 100 is "many"). */
  missed: number;
}

/**
 * The most recent scheduled time not yet run (Kubernetes' mostRecentScheduleTime): counting
 * starts at lastScheduleTime (else creation), or at now − startingDeadlineSeconds when that is
 * later. The number of missed times is estimated from the interval between two runs, and only
 * the tail is walked, so a clock off by years costs a few steps, not millions. Throws for a
 * schedule that can never run (`0 0 31 2 *`).
 */
export function mostRecentScheduleTime(
  cj: KubeObject,
  now: number,
  schedule: CronSchedule,
  options: { withStartingDeadline: boolean },
): ScheduleCheck {
  const tz: string | undefined = cj.spec.timeZone;
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp!);
  const deadline = cj.spec.startingDeadlineSeconds;
  if (options.withStartingDeadline && deadline !== undefined) {
    earliest = Math.max(earliest, now - deadline * 1000);
  }
  const next = (t: number) => schedule.next(new Date(t), tz)?.getTime();
  const t1 = next(earliest);
  if (t1 === undefined) throw new Error("the schedule never runs");
  if (now < t1) return { earliest, missed: 0 };
  const t2 = next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 1 };
  const interval = Math.round((t2 - t1) / 1000);
  if (interval < 1) throw new Error("time difference between two schedules is less than 1 second");
  const missed = Math.floor((now - t1) / 1000 / interval) + 1;
  // Start two intervals before the estimated last run and walk forward to now.
  let t: number | undefined = t1 + (missed - 2) * interval * 1000;
  let mostRecent: number | undefined;
  for (t = next(t); t !== undefined && t <= now; t = next(t)) mostRecent = t;
  return { earliest, mostRecent, missed };
}

/** The Job name for a scheduled time: `<cronjob>-<minutes since the epoch>`. */
export function jobNameFor(cj: KubeObject, scheduled: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;
}

function withKind(cj: KubeObject): KubeObject {
  return cj.kind ? cj : { ...cj, ...CRONJOB_TYPE };
}

function finishedAs(job: KubeObject): string {
  return jobCondition(job, "Complete")?.status === "True" ? "Complete" : "Failed";
}

/** The CronJob controller's reconciler; see the module comment. */
export class CronJobReconciler {
  readonly #cronJobs: Lister<KubeObject>;
  readonly #jobs: Lister<KubeObject>;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;

  constructor(deps: CronJobReconcilerOptions) {
    this.#cronJobs = deps.listers.cronJobs;
    this.#jobs = deps.listers.jobs;
    ensureControllerIndex(this.#jobs);
    this.#client = deps.client;
    this.#recorder = deps.recorder;
    this.#clock = deps.clock ?? realClock;
  }

  /** The CronJob a Job event concerns, if a CronJob controls it. */
  cronJobKeyForJob(job: KubeObject): string | undefined {
    const ref = controllerRef(job);
    return ref?.kind === "CronJob" ? `${job.metadata.namespace}/${ref.name}` : undefined;
  }

  /** syncCronJob; resolves to the ms until the CronJob must be looked at again, if ever. */
  async reconcile(key: string): Promise<number | undefined> {
    const cj = this.#cronJobs.get(key);
    if (!cj) return undefined;
    const now = this.#clock.now();
    const status: Obj = structuredClone(cj.status ?? {});
    const children = this.#jobs.byIndex(CONTROLLER_INDEX, cj.metadata.uid!);
    await this.syncActiveJobs(cj, status, children);
    const requeue = await this.#schedule(cj, status, now);
    await this.cleanupFinishedJobs(
      cj,
      status,
      this.#jobs.byIndex(CONTROLLER_INDEX, cj.metadata.uid!),
    );
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) {
      try {
        await this.#client.updateStatus(CRONJOBS, { ...withKind(cj), status });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return requeue;
  }

  /**
   * syncActiveJobs: finished Jobs leave `status.active` (SawCompletedJob) and move
   * lastSuccessfulTime; active entries whose Job is gone are dropped (MissingJob).
   */
  async syncActiveJobs(cj: KubeObject, status: Obj, children: KubeObject[]): Promise<void> {
    let active: Obj[] = [...(status.active ?? [])];
    const childUids = new Set(children.map((j) => j.metadata.uid));
    for (const job of children) {
      const listed = active.some((a) => a.uid === job.metadata.uid);
      const finished = isJobFinished(job);
      if (!listed && !finished) {
        this.#recorder.record(
          withKind(cj),
          "Warning",
          "UnexpectedJob",
          `Saw a job that the controller did not create or forgot: ${job.metadata.name}`,
        );
      } else if (listed && finished) {
        active = active.filter((a) => a.uid !== job.metadata.uid);
        this.#recorder.record(
          withKind(cj),
          "Normal",
          "SawCompletedJob",
          `Saw completed job: ${job.metadata.name}, condition: ${finishedAs(job)}`,
        );
      } else if (finished) {
        const done = job.status?.completionTime;
        if (done && (!status.lastSuccessfulTime || done > status.lastSuccessfulTime)) {
          status.lastSuccessfulTime = done;
        }
      }
    }
    for (const ref of [...active]) {
      if (childUids.has(ref.uid)) continue;
      // Not in our cache: a live read tells a lagging watch from a Job that is really gone.
      let gone = false;
      try {
        const live = await this.#client.get(JOBS, ref.name, { namespace: cj.metadata.namespace });
        gone = live.metadata.uid !== ref.uid;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        gone = true;
      }
      if (gone) {
        active = active.filter((a) => a.uid !== ref.uid);
        this.#recorder.record(
          withKind(cj),
          "Normal",
          "MissingJob",
          `Active job went missing: ${ref.name}`,
        );
      }
    }
    if (active.length > 0) status.active = active;
    else delete status.active;
  }

  /** The scheduling part of syncCronJob; returns the ms until the next scheduled time. */
  async #schedule(cj: KubeObject, status: Obj, now: number): Promise<number | undefined> {
    if (cj.metadata.deletionTimestamp) return undefined;
    if (!this.#timeZoneValid(cj) || cj.spec.suspend === true) return undefined;
    const schedule = this.#parsedSchedule(cj);
    if (!schedule) return undefined;
    const withStatus = { ...cj, status };
    let scheduled: number | undefined;
    try {
      scheduled = this.getNextScheduleTime(withStatus, now, schedule);
    } catch (err) {
      this.#recorder.record(
        withKind(cj),
        "Warning",
        "InvalidSchedule",
        `invalid schedule: ${cj.spec.schedule} : ${(err as Error).message}`,
      );
      return undefined;
    }
    const untilNext = () => this.nextScheduleDelay(withStatus, now, schedule);
    if (scheduled === undefined) return untilNext();
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      this.#recorder.record(
        withKind(cj),
        "Warning",
        "MissSchedule",
        `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString()}`,
      );
      return untilNext();
    }
    const name = jobNameFor(cj, scheduled);
    const active: Obj[] = status.active ?? [];
    if (
      active.some((a) => a.name === name) ||
      (status.lastScheduleTime && Date.parse(status.lastScheduleTime) === scheduled)
    ) {
      return untilNext();
    }
    if (cj.spec.concurrencyPolicy === "Forbid" && active.length > 0) {
      this.#recorder.record(
        withKind(cj),
        "Normal",
        "JobAlreadyActive",
        "Not starting job because prior execution is running and concurrency policy is Forbid",
      );
      return untilNext();
    }
    if (cj.spec.concurrencyPolicy === "Replace") {
      for (const ref of [...active]) {
        await this.#deleteJob(cj, ref.name, ref.uid);
        status.active = (status.active as Obj[]).filter((a) => a.uid !== ref.uid);
      }
      if (status.active?.length === 0) delete status.active;
    }
    const job = await this.createJob(cj, scheduled);
    status.active = [...(status.active ?? []), {
      kind: "Job",
      namespace: job.metadata.namespace,
      name: job.metadata.name,
      uid: job.metadata.uid,
      apiVersion: "batch/v1",
      resourceVersion: job.metadata.resourceVersion,
    }];
    status.lastScheduleTime = rfc3339(scheduled);
    return untilNext();
  }

  /** Whether `spec.timeZone` (if set) is a known zone; if not, says so in a warning event. */
  #timeZoneValid(cj: KubeObject): boolean {
    const tz: string | undefined = cj.spec.timeZone;
    if (tz === undefined || isValidTimeZone(tz)) return true;
    this.#recorder.record(withKind(cj), "Warning", "UnknownTimeZone", `invalid timeZone: "${tz}"`);
    return false;
  }

  /** The CronJob's parsed schedule; when it cannot be parsed, a warning event and undefined. */
  #parsedSchedule(cj: KubeObject): CronSchedule | undefined {
    try {
      return parseSchedule(cj.spec.schedule);
    } catch (err) {
      this.#recorder.record(
        withKind(cj),
        "Warning",
        "UnparseableSchedule",
        `unparseable schedule: "${cj.spec.schedule}" : ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  /**
   * getNextScheduleTime: the scheduled time to run now, if any (the most recent one missed,
   * within startingDeadlineSeconds); warns `TooManyMissedTimes` past 100 missed.
   */
  getNextScheduleTime(cj: KubeObject, now: number, schedule: CronSchedule): number | undefined {
    const check = mostRecentScheduleTime(cj, now, schedule, { withStartingDeadline: true });
    if (check.mostRecent === undefined || check.mostRecent > now) return undefined;
    if (check.missed > MANY_MISSED) {
      this.#recorder.record(
        withKind(cj),
        "Warning",
        "TooManyMissedTimes",
        `too many missed start times: ${check.missed}. Set or decrease ` +
          ".spec.startingDeadlineSeconds or check clock skew",
      );
    }
    return check.mostRecent;
  }

  /** ms from now until just after the next scheduled time. */
  nextScheduleDelay(cj: KubeObject, now: number, schedule: CronSchedule): number | undefined {
    let from: number;
    try {
      const check = mostRecentScheduleTime(cj, now, schedule, { withStartingDeadline: false });
      from = check.mostRecent ?? (check.missed === 0 ? check.earliest : now);
    } catch {
      return undefined;
    }
    const next = schedule.next(new Date(from), cj.spec.timeZone)?.getTime();
    if (next === undefined) return undefined;
    return Math.max(0, next - now) + NEXT_SCHEDULE_DELTA_MS;
  }

  /**
   * createJob: the Job of one scheduled time, from the template, with the scheduled time as an
   * annotation (in the CronJob's time zone). A Job of that name that we already own counts as
   * created (the status write after an earlier create was lost).
   */
  async createJob(cj: KubeObject, scheduled: number): Promise<KubeObject> {
    const template = cj.spec.jobTemplate ?? {};
    const job: KubeObject = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: jobNameFor(cj, scheduled),
        namespace: cj.metadata.namespace,
        labels: { ...template.metadata?.labels },
        annotations: {
          ...template.metadata?.annotations,
          [CRONJOB_SCHEDULED_TIMESTAMP]: formatInZone(new Date(scheduled), cj.spec.timeZone),
        },
        ownerReferences: [newControllerRef(cj, CRONJOB_TYPE)],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    try {
      const created = await this.#client.create(JOBS, job, { namespace: cj.metadata.namespace });
      this.#recorder.record(
        withKind(cj),
        "Normal",
        "SuccessfulCreate",
        `Created job ${created.metadata.name}`,
      );
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.#recorder.record(
          withKind(cj),
          "Warning",
          "FailedCreate",
          `Error creating job: ${(err as Error).message}`,
        );
        throw err;
      }
      const existing = await this.#client.get(JOBS, job.metadata.name!, {
        namespace: cj.metadata.namespace,
      });
      if (controllerRef(existing)?.uid !== cj.metadata.uid) throw err;
      return existing;
    }
  }

  /**
   * cleanupFinishedJobs: keeps the newest successfulJobsHistoryLimit Complete and
   * failedJobsHistoryLimit Failed Jobs, deleting older ones (by start time).
   */
  async cleanupFinishedJobs(cj: KubeObject, status: Obj, children: KubeObject[]): Promise<void> {
    const complete = children.filter((j) => jobCondition(j, "Complete")?.status === "True");
    const failed = children.filter((j) => jobCondition(j, "Failed")?.status === "True");
    const byStart = (a: KubeObject, b: KubeObject) => {
      const sa = a.status?.startTime ?? a.metadata.creationTimestamp ?? "";
      const sb = b.status?.startTime ?? b.metadata.creationTimestamp ?? "";
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    };
    for (
      const [jobs, limit] of [
        [complete, cj.spec.successfulJobsHistoryLimit ?? 3],
        [failed, cj.spec.failedJobsHistoryLimit ?? 1],
      ] as const
    ) {
      const excess = jobs.length - limit;
      if (excess <= 0) continue;
      for (const j of [...jobs].sort(byStart).slice(0, excess)) {
        if (j.metadata.deletionTimestamp) continue;
        await this.#deleteJob(cj, j.metadata.name!, j.metadata.uid!);
        if (status.active) {
          status.active = (status.active as Obj[]).filter((a) => a.uid !== j.metadata.uid);
          if (status.active.length === 0) delete status.active;
        }
      }
    }
  }

  async #deleteJob(cj: KubeObject, name: string, uid: string): Promise<void> {
    try {
      await this.#client.delete(JOBS, name, {
        namespace: cj.metadata.namespace,
        propagationPolicy: "Background",
        preconditions: { uid },
      });
      this.#recorder.record(withKind(cj), "Normal", "SuccessfulDelete", `Deleted job ${name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Options of {@linkcode runCronJobController}. */
export interface RunCronJobControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /** Parallel reconciles (default 5, as --concurrent-cron-job-syncs). */
  workers?: number;
}

/** Runs the CronJob controller over the shared informers until `signal` aborts. */
export async function runCronJobController(
  options: RunCronJobControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const cronJobs = informers.get(CRONJOBS);
  const jobs = informers.get(JOBS);
  const queue = new WorkQueue();
  const controller = new CronJobReconciler({
    listers: { cronJobs, jobs },
    client: informers.client,
    recorder: options.recorder,
  });
  cronJobs.addEventHandler({
    onAdd: (cj) => queue.add(keyOf(cj)),
    onUpdate: (_old, cj) => queue.add(keyOf(cj)),
  });
  const jobChanged = (job: KubeObject) => {
    const key = controller.cronJobKeyForJob(job);
    if (key) queue.add(key);
  };
  jobs.addEventHandler({
    onAdd: jobChanged,
    onUpdate: (_old, j) => jobChanged(j),
    onDelete: jobChanged,
  });
  await runController({
    name: "cronjob",
    queue,
    reconcile: async (key) => {
      const after = await controller.reconcile(key);
      // Timers cannot wait past 2^31 ms; a far-off run is simply re-checked hourly.
      if (after !== undefined) queue.addAfter(key, Math.min(after, 3_600_000));
    },
    informers: [cronJobs, jobs],
    workers: options.workers ?? 5,
    logger: (options.logger ?? silentLogger).child("cronjob"),
  }, signal);
}
