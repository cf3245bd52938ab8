/**
 * batch/v1 kinds: Job and CronJob. Defaults that depend on other fields (completions and
 * parallelism, backoffLimit, podReplacementPolicy, the Job's labels from its template) are
 * applied in defaults.ts; the selector and the pod labels that tie a Job to its pods are
 * generated when the Job is created (server/registry/batch_strategy.ts), since they need its uid.
 */
import { z } from "zod";
import {
  Condition,
  CONDITIONS_PATCH,
  Int32,
  Int64,
  LabelSelector,
  ObjectMeta,
  Time,
  TypeMeta,
} from "./meta.ts";
import { ObjectReference, PodTemplateSpec } from "./core_v1.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "batch", version: "v1", kind }],
});

/** Label selecting a Job's pods (with `controller-uid`, its legacy spelling). */
export const JOB_CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
/** Label naming a pod's Job (with `job-name`, its legacy spelling). */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
/** The pre-1.27 spellings of the two labels above, still set as Kubernetes does. */
export const LEGACY_JOB_LABELS = { controllerUid: "controller-uid", jobName: "job-name" } as const;
/** Annotation (and, since 1.28, label) carrying an Indexed Job pod's completion index. */
export const JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
/**
 * Annotation on an Indexed Job's pods (with backoffLimitPerIndex): how many pods of the same
 * index failed before this one, counted towards the index's backoffLimitPerIndex.
 */
export const JOB_INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count";
/** Like the above, for earlier failures of the index that a podFailurePolicy Ignore rule matched. */
export const JOB_INDEX_IGNORED_FAILURE_COUNT =
  "batch.kubernetes.io/job-index-ignored-failure-count";
/** Finalizer that keeps a finished pod until its Job has counted it. */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
/** Annotation a CronJob puts on its Jobs: the scheduled time (RFC 3339, in its time zone). */
export const CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** One podFailurePolicy rule's exit-code requirement. */
export const PodFailurePolicyOnExitCodesRequirement = z.object({
  containerName: z.string().optional(),
  operator: z.enum(["In", "NotIn"]),
  values: z.array(Int32),
});

/** One podFailurePolicy rule's pod-condition pattern. */
export const PodFailurePolicyOnPodConditionsPattern = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]).optional(),
});

/** A rule of spec.podFailurePolicy. */
export const PodFailurePolicyRule = z.object({
  action: z.enum(["FailJob", "Ignore", "Count", "FailIndex"]),
  onExitCodes: PodFailurePolicyOnExitCodesRequirement.optional(),
  onPodConditions: z.array(PodFailurePolicyOnPodConditionsPattern).optional(),
});
export type PodFailurePolicyRule = z.infer<typeof PodFailurePolicyRule>;

/** A rule of spec.successPolicy (Indexed Jobs). */
export const SuccessPolicyRule = z.object({
  succeededIndexes: z.string().optional(),
  succeededCount: Int32.optional(),
});
export type SuccessPolicyRule = z.infer<typeof SuccessPolicyRule>;

/** Job spec. */
export const JobSpec = z.object({
  parallelism: Int32.optional(),
  completions: Int32.optional(),
  activeDeadlineSeconds: Int64.optional(),
  podFailurePolicy: z.object({ rules: z.array(PodFailurePolicyRule) }).optional(),
  successPolicy: z.object({ rules: z.array(SuccessPolicyRule) }).optional(),
  backoffLimit: Int32.optional(),
  backoffLimitPerIndex: Int32.optional(),
  maxFailedIndexes: Int32.optional(),
  selector: LabelSelector.optional(),
  manualSelector: z.boolean().optional(),
  template: PodTemplateSpec,
  ttlSecondsAfterFinished: Int32.optional(),
  completionMode: z.enum(["NonIndexed", "Indexed"]).optional(),
  suspend: z.boolean().optional(),
  podReplacementPolicy: z.enum(["TerminatingOrFailed", "Failed"]).optional(),
  managedBy: z.string().optional(),
}).meta({
  id: "io.k8s.api.batch.v1.JobSpec",
  description: "The desired behaviour of a Job: how many pods must succeed, and how to retry.",
});
export type JobSpec = z.infer<typeof JobSpec>;

/** Pods that finished but still carry the tracking finalizer. */
export const UncountedTerminatedPods = z.object({
  succeeded: z.array(z.string()).optional(),
  failed: z.array(z.string()).optional(),
});
export type UncountedTerminatedPods = z.infer<typeof UncountedTerminatedPods>;

/** Job status, written by the job controller. */
export const JobStatus = z.object({
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  startTime: Time.optional(),
  completionTime: Time.optional(),
  active: Int32.optional(),
  succeeded: Int32.optional(),
  failed: Int32.optional(),
  terminating: Int32.optional(),
  completedIndexes: z.string().optional(),
  failedIndexes: z.string().optional(),
  uncountedTerminatedPods: UncountedTerminatedPods.optional(),
  ready: Int32.optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

/** batch/v1 Job. */
export const Job = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: JobSpec,
  status: JobStatus.default({}),
}).meta({
  id: "io.k8s.api.batch.v1.Job",
  description: "Job runs pods until a number of them complete successfully.",
  ...gvk("Job"),
});
export type Job = z.infer<typeof Job>;

/** A CronJob's job template. */
export const JobTemplateSpec = z.object({
  metadata: ObjectMeta.default({}),
  spec: JobSpec,
}).meta({
  id: "io.k8s.api.batch.v1.JobTemplateSpec",
  description: "The Job a CronJob creates at each scheduled time.",
});
export type JobTemplateSpec = z.infer<typeof JobTemplateSpec>;

/** CronJob spec. */
export const CronJobSpec = z.object({
  schedule: z.string(),
  timeZone: z.string().optional(),
  startingDeadlineSeconds: Int64.optional(),
  concurrencyPolicy: z.enum(["Allow", "Forbid", "Replace"]).default("Allow"),
  suspend: z.boolean().default(false),
  jobTemplate: JobTemplateSpec,
  successfulJobsHistoryLimit: Int32.default(3),
  failedJobsHistoryLimit: Int32.default(1),
}).meta({
  id: "io.k8s.api.batch.v1.CronJobSpec",
  description: "When a CronJob runs, and the Job it runs.",
});
export type CronJobSpec = z.infer<typeof CronJobSpec>;

/** CronJob status, written by the cronjob controller. */
export const CronJobStatus = z.object({
  active: z.array(ObjectReference).optional(),
  lastScheduleTime: Time.optional(),
  lastSuccessfulTime: Time.optional(),
});
export type CronJobStatus = z.infer<typeof CronJobStatus>;

/** batch/v1 CronJob. */
export const CronJob = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: CronJobSpec,
  status: CronJobStatus.default({}),
}).meta({
  id: "io.k8s.api.batch.v1.CronJob",
  description: "CronJob creates Jobs on a repeating schedule.",
  ...gvk("CronJob"),
});
export type CronJob = z.infer<typeof CronJob>;
