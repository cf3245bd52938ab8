/**
 * What the API server does to a new Job besides validation (kube-apiserver's job strategy
 * PrepareForCreate + generateSelector): unless `manualSelector` is true, the pod template gets
 * the `batch.kubernetes.io/controller-uid` and `batch.kubernetes.io/job-name` labels (and their
 * legacy spellings `controller-uid`, `job-name`) and the selector selects the uid label, so a
 * Job only ever owns its own pods. The generated selector is then checked against the template.
 */
import {
  JOB_CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  LEGACY_JOB_LABELS,
} from "../../shared/api/batch_v1.ts";
import { validateJobSpec } from "../../shared/api/batch_validation.ts";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { InvalidError } from "../../shared/errors.ts";

/** Adds the generated labels and selector to a Job that has its uid; throws InvalidError. */
export function prepareJobForCreate(job: KubeObject): void {
  job.status = {};
  const spec = job.spec;
  if (spec.manualSelector === true) return;
  const uid = job.metadata.uid!;
  const name = job.metadata.name!;
  const template = spec.template;
  template.metadata ??= {};
  const userLabels: Record<string, string> = { ...template.metadata.labels };
  const labels: Record<string, string> = { ...userLabels };
  for (const k of [LEGACY_JOB_LABELS.jobName, JOB_NAME_LABEL]) labels[k] ??= name;
  for (const k of [LEGACY_JOB_LABELS.controllerUid, JOB_CONTROLLER_UID_LABEL]) labels[k] ??= uid;
  template.metadata.labels = labels;
  // The Job's own labels were defaulted from the template's (one shared map in Kubernetes, so
  // they end up with the generated labels too).
  const own = job.metadata.labels ?? {};
  if (
    Object.keys(userLabels).length > 0 &&
    JSON.stringify(own) === JSON.stringify(userLabels)
  ) {
    job.metadata.labels = { ...labels };
  }
  spec.selector ??= {};
  spec.selector.matchLabels = { ...spec.selector.matchLabels };
  spec.selector.matchLabels[JOB_CONTROLLER_UID_LABEL] ??= uid;
  const errs = new FieldErrors();
  validateJobSpec(spec, "spec", errs);
  if (spec.selector.matchLabels[JOB_CONTROLLER_UID_LABEL] !== uid) {
    errs.invalid("spec.selector", spec.selector, "`selector` not auto-generated");
  }
  if (!errs.empty) {
    throw new InvalidError({ kind: "Job", resource: "jobs", group: "batch", name }, errs.causes);
  }
}
