/**
 * Validation and defaults of autoscaling/v2 (and v1) HorizontalPodAutoscalers (kube-apiserver's
 * ValidateHorizontalPodAutoscaler and the v2 defaulting functions), with Skiff's one refusal:
 * `Pods`, `Object` and `External` metrics need a custom or external metrics API, which Skiff does
 * not serve, so they are refused (422 naming the field) rather than accepted and never acted on.
 */
import type { FieldErrors } from "./field_errors.ts";
import { isQuantity, parseQuantity } from "./quantity.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const METRIC_SOURCES: Record<string, string> = {
  Object: "object",
  Pods: "pods",
  Resource: "resource",
  ContainerResource: "containerResource",
  External: "external",
};
const SKIFF_SOURCES = new Set(["Resource", "ContainerResource"]);
const MAX_PERIOD_SECONDS = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS = 3600;

/** The default scale-up rules: no stabilization; the larger of +100% and +4 pods per 15 s. */
export function defaultScaleUpRules(): Obj {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  };
}

/** The default scale-down rules: a 300 s window (set by the controller when absent), -100%/15 s. */
export function defaultScaleDownRules(): Obj {
  return { selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] };
}

/**
 * Kubernetes' v2 defaults: minReplicas 1, an 80% CPU target when no metric is named, and — only
 * when `behavior` is given — the missing parts of each direction's rules.
 */
export function defaultHorizontalPodAutoscaler(hpa: Obj): void {
  const spec = hpa.spec;
  if (!spec) return;
  spec.minReplicas ??= 1;
  // autoscaling/v1 defaults minReplicas only; its conversion to v2 supplies the CPU target.
  if (hpa.apiVersion === "autoscaling/v1") return;
  if (!spec.metrics || spec.metrics.length === 0) {
    spec.metrics = [{
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
    }];
  }
  if (spec.behavior) {
    spec.behavior.scaleUp = fillRules(spec.behavior.scaleUp, defaultScaleUpRules());
    spec.behavior.scaleDown = fillRules(spec.behavior.scaleDown, defaultScaleDownRules());
  }
}

function fillRules(given: Obj | undefined, defaults: Obj): Obj {
  if (!given) return defaults;
  return {
    ...given,
    selectPolicy: given.selectPolicy ?? defaults.selectPolicy,
    policies: given.policies ?? defaults.policies,
    ...(given.stabilizationWindowSeconds === undefined &&
        defaults.stabilizationWindowSeconds !== undefined
      ? { stabilizationWindowSeconds: defaults.stabilizationWindowSeconds }
      : {}),
  };
}

/** An autoscaler's rules. */
export function validateHorizontalPodAutoscaler(hpa: Obj, errs: FieldErrors): void {
  const spec = hpa.spec ?? {};
  const ref = spec.scaleTargetRef ?? {};
  if (!ref.kind) errs.required("spec.scaleTargetRef.kind");
  else if (ref.kind.includes("/") || ref.kind.includes("%")) {
    errs.invalid("spec.scaleTargetRef.kind", ref.kind, "may not contain '/' or '%'");
  }
  if (!ref.name) errs.required("spec.scaleTargetRef.name");
  else if (ref.name.includes("/") || ref.name.includes("%")) {
    errs.invalid("spec.scaleTargetRef.name", ref.name, "may not contain '/' or '%'");
  }
  if (spec.minReplicas !== undefined && spec.minReplicas < 1) {
    errs.invalid("spec.minReplicas", spec.minReplicas, "must be greater than or equal to 1");
  }
  if (spec.maxReplicas < 1) {
    errs.invalid("spec.maxReplicas", spec.maxReplicas, "must be greater than 0");
  }
  if (spec.minReplicas !== undefined && spec.maxReplicas < spec.minReplicas) {
    errs.invalid(
      "spec.maxReplicas",
      spec.maxReplicas,
      "must be greater than or equal to `minReplicas`",
    );
  }
  const cpuPercent = spec.targetCPUUtilizationPercentage;
  if (hpa.apiVersion === "autoscaling/v1" && cpuPercent !== undefined && cpuPercent < 1) {
    errs.invalid("spec.targetCPUUtilizationPercentage", cpuPercent, "must be greater than 0");
  }
  (spec.metrics ?? []).forEach((m: Obj, i: number) =>
    validateMetric(m, `spec.metrics[${i}]`, errs)
  );
  if (spec.behavior) {
    validateRules(spec.behavior.scaleUp, "spec.behavior.scaleUp", errs);
    validateRules(spec.behavior.scaleDown, "spec.behavior.scaleDown", errs);
  }
}

function validateMetric(m: Obj, field: string, errs: FieldErrors): void {
  const sourceField = METRIC_SOURCES[m.type];
  if (!sourceField) {
    errs.notSupported(`${field}.type`, m.type, Object.keys(METRIC_SOURCES));
    return;
  }
  const set = Object.values(METRIC_SOURCES).filter((f) => m[f] !== undefined);
  if (!set.includes(sourceField)) {
    errs.required(
      `${field}.${sourceField}`,
      "must populate information for the given metric source",
    );
  }
  if (set.some((f) => f !== sourceField)) {
    errs.invalid(`${field}.type`, m.type, "must populate the given metric source only");
  }
  if (!SKIFF_SOURCES.has(m.type)) {
    errs.forbidden(
      `${field}.${sourceField}`,
      `not supported by Skiff: \`${m.type}\` metrics need a custom or external metrics API; use Resource or ContainerResource`,
    );
    return;
  }
  const source = m[sourceField];
  if (!source) return;
  if (!source.name) errs.required(`${field}.${sourceField}.name`);
  else if (!["cpu", "memory"].includes(source.name)) {
    errs.notSupported(`${field}.${sourceField}.name`, source.name, ["cpu", "memory"]);
  }
  if (m.type === "ContainerResource" && !source.container) {
    errs.required(`${field}.containerResource.container`);
  }
  validateResourceTarget(source.target, `${field}.${sourceField}.target`, errs);
}

function validateResourceTarget(t: Obj | undefined, field: string, errs: FieldErrors): void {
  if (!t) {
    errs.required(field);
    return;
  }
  if (!["Utilization", "AverageValue"].includes(t.type)) {
    errs.notSupported(`${field}.type`, t.type, ["Utilization", "AverageValue"]);
    return;
  }
  if (t.type === "Utilization") {
    if (t.averageUtilization === undefined) errs.required(`${field}.averageUtilization`);
    else if (t.averageUtilization <= 0) {
      errs.invalid(`${field}.averageUtilization`, t.averageUtilization, "must be greater than 0");
    }
  } else if (t.averageValue === undefined) {
    errs.required(
      `${field}.averageValue`,
      "must set either a target value for metric or a target utilization",
    );
  } else if (!isQuantity(t.averageValue) || parseQuantity(t.averageValue) <= 0) {
    errs.invalid(`${field}.averageValue`, t.averageValue, "must be positive");
  }
}

function validateRules(rules: Obj | undefined, field: string, errs: FieldErrors): void {
  if (!rules) return;
  const w = rules.stabilizationWindowSeconds;
  if (w !== undefined && (w < 0 || w > MAX_STABILIZATION_WINDOW_SECONDS)) {
    errs.invalid(
      `${field}.stabilizationWindowSeconds`,
      w,
      `must be greater than or equal to zero and less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`,
    );
  }
  if (
    rules.selectPolicy !== undefined && !["Max", "Min", "Disabled"].includes(rules.selectPolicy)
  ) {
    errs.notSupported(`${field}.selectPolicy`, rules.selectPolicy, ["Disabled", "Max", "Min"]);
  }
  const policies: Obj[] = rules.policies ?? [];
  if (policies.length === 0) errs.required(`${field}.policies`, "must specify at least one Policy");
  policies.forEach((p, i) => {
    const pf = `${field}.policies[${i}]`;
    if (!["Pods", "Percent"].includes(p.type)) {
      errs.notSupported(`${pf}.type`, p.type, ["Percent", "Pods"]);
    }
    if (!(p.value > 0)) errs.invalid(`${pf}.value`, p.value, "must be greater than zero");
    if (!(p.periodSeconds > 0)) {
      errs.invalid(`${pf}.periodSeconds`, p.periodSeconds, "must be greater than zero");
    } else if (p.periodSeconds > MAX_PERIOD_SECONDS) {
      errs.invalid(
        `${pf}.periodSeconds`,
        p.periodSeconds,
        `must be less than or equal to ${MAX_PERIOD_SECONDS}`,
      );
    }
  });
}
