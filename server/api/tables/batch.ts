/**
 * Printers for batch/v1: Jobs (STATUS, COMPLETIONS, DURATION) and CronJobs (SCHEDULE, TIMEZONE,
 * SUSPEND, ACTIVE, LAST SCHEDULE), with CONTAINERS, IMAGES, SELECTOR wide — kube-apiserver's
 * printJob / printCronJob columns.
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import { humanDuration, timestampAge } from "./human_duration.ts";
import {
  AGE_COLUMN,
  col,
  int,
  NAME_COLUMN,
  type Printer,
  type TableColumnDefinition,
} from "./table.ts";
import { labelSelectorText } from "./workloads.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const WIDE_COLUMNS: TableColumnDefinition[] = [
  col("Containers", "Names of each container in the template.", { priority: 1 }),
  col("Images", "Images referenced by each container in the template.", { priority: 1 }),
  col("Selector", "Query over pods that should match the pod count.", { priority: 1 }),
];

function podTemplateWide(template: Any, selector: unknown): string[] {
  const containers: Any[] = template?.spec?.containers ?? [];
  return [
    containers.map((c) => c.name).join(","),
    containers.map((c) => c.image).join(","),
    selector ? labelSelectorText(selector) : "<none>",
  ];
}

function hasCondition(job: KubeObject, type: string): boolean {
  return (job.status?.conditions ?? []).some((c: Any) => c.type === type && c.status === "True");
}

/** The STATUS cell, in kubectl's order of precedence. */
export function jobStatusText(job: KubeObject): string {
  if (hasCondition(job, "Complete")) return "Complete";
  if (hasCondition(job, "Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (hasCondition(job, "Suspended")) return "Suspended";
  if (hasCondition(job, "FailureTarget")) return "FailureTarget";
  if (hasCondition(job, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

function completionsText(job: KubeObject): string {
  const succeeded = int(job.status?.succeeded);
  if (typeof job.spec?.completions === "number") return `${succeeded}/${job.spec.completions}`;
  const parallelism = int(job.spec?.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationText(job: KubeObject, now: Date): string {
  const start = job.status?.startTime;
  if (!start) return "";
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : now.getTime();
  return humanDuration(end - Date.parse(start));
}

/** batch/v1 Jobs. */
export const jobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Status", "Status of the job."),
    col("Completions", "The completion status of the job."),
    col("Duration", "Time required to complete the job."),
    AGE_COLUMN,
    ...WIDE_COLUMNS,
  ],
  row: (job, now) => ({
    cells: [
      job.metadata.name ?? "",
      jobStatusText(job),
      completionsText(job),
      durationText(job, now),
      timestampAge(job.metadata.creationTimestamp, now),
      ...podTemplateWide(job.spec?.template, job.spec?.selector),
    ],
  }),
};

/** batch/v1 CronJobs. */
export const cronJobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Schedule", "The schedule in Cron format."),
    col("Timezone", "The time zone name for the given schedule."),
    col("Suspend", "Whether to suspend subsequent executions.", { type: "boolean" }),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE_COLUMN,
    ...WIDE_COLUMNS,
  ],
  row: (cj, now) => {
    const last = cj.status?.lastScheduleTime;
    return {
      cells: [
        cj.metadata.name ?? "",
        cj.spec?.schedule ?? "",
        cj.spec?.timeZone ?? "<none>",
        cj.spec?.suspend === true,
        (cj.status?.active ?? []).length,
        last ? timestampAge(last, now) : "<none>",
        timestampAge(cj.metadata.creationTimestamp, now),
        ...podTemplateWide(
          cj.spec?.jobTemplate?.spec?.template,
          cj.spec?.jobTemplate?.spec?.selector,
        ),
      ],
    };
  },
};
