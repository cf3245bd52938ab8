/**
 * autoscaling/v1 HorizontalPodAutoscaler — the version `kubectl autoscale` sends — and its
 * conversion to and from autoscaling/v2, the version Skiff stores (as kube-apiserver does). v1
 * knows one metric, the CPU utilization target; as upstream, what v1 cannot say travels in
 * annotations so a v2 object read and written back through v1 loses nothing: other metrics
 * (`autoscaling.alpha.kubernetes.io/metrics`), `behavior`, the current metrics other than CPU
 * and the conditions, each as JSON.
 */
import { z } from "zod";
import { Int32, Int64, ObjectMeta, Time, TypeMeta } from "./meta.ts";
import { CrossVersionObjectReference } from "./autoscaling_v2.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** autoscaling/v1 spec. */
export const HorizontalPodAutoscalerSpecV1 = z.object({
  scaleTargetRef: CrossVersionObjectReference,
  minReplicas: Int32.optional(),
  maxReplicas: Int32,
  targetCPUUtilizationPercentage: Int32.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec",
  description: "What to scale, between which bounds, at which average CPU utilization.",
});

/** autoscaling/v1 status. */
export const HorizontalPodAutoscalerStatusV1 = z.object({
  observedGeneration: Int64.optional(),
  lastScaleTime: Time.optional(),
  currentReplicas: Int32.default(0),
  desiredReplicas: Int32.default(0),
  currentCPUUtilizationPercentage: Int32.optional(),
}).meta({
  id: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus",
  description: "The autoscaler's last observed state.",
});

/** autoscaling/v1 HorizontalPodAutoscaler. */
export const HorizontalPodAutoscalerV1 = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: HorizontalPodAutoscalerSpecV1,
  status: HorizontalPodAutoscalerStatusV1.prefault({}),
}).meta({
  id: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
  description: "configuration of a horizontal pod autoscaler.",
  "x-kubernetes-group-version-kind": [{
    group: "autoscaling",
    version: "v1",
    kind: "HorizontalPodAutoscaler",
  }],
});

const METRICS = "autoscaling.alpha.kubernetes.io/metrics";
const BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior";
const CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions";
const CARRIED = [METRICS, BEHAVIOR, CURRENT_METRICS, CONDITIONS];

function isCpuUtilization(m: Obj): boolean {
  return m.type === "Resource" && m.resource?.name === "cpu" &&
    m.resource?.target?.type === "Utilization";
}

function isCpu(m: Obj): boolean {
  return m.type === "Resource" && m.resource?.name === "cpu";
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stored v2 autoscaler as autoscaling/v1 shows it. */
export function autoscalerToV1(v2: Obj): Obj {
  const spec = v2.spec ?? {};
  const status = v2.status ?? {};
  const annotations: Record<string, string> = { ...(v2.metadata?.annotations ?? {}) };
  const metrics: Obj[] = spec.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length > 0) annotations[METRICS] = JSON.stringify(others);
  if (spec.behavior) annotations[BEHAVIOR] = JSON.stringify(spec.behavior);
  const current: Obj[] = status.currentMetrics ?? [];
  const currentCpu = current.find(isCpu);
  const otherCurrent = current.filter((m) => m !== currentCpu);
  if (otherCurrent.length > 0) annotations[CURRENT_METRICS] = JSON.stringify(otherCurrent);
  if (status.conditions?.length) annotations[CONDITIONS] = JSON.stringify(status.conditions);
  const out: Obj = {
    ...v2,
    apiVersion: "autoscaling/v1",
    metadata: {
      ...v2.metadata,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}),
    },
    status: {
      ...(status.observedGeneration !== undefined
        ? { observedGeneration: status.observedGeneration }
        : {}),
      ...(status.lastScaleTime ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      ...(currentCpu?.resource?.current?.averageUtilization !== undefined
        ? { currentCPUUtilizationPercentage: currentCpu.resource.current.averageUtilization }
        : {}),
    },
  };
  return out;
}

/** An autoscaling/v1 autoscaler as Skiff stores it (v2), its annotations unpacked. */
export function autoscalerFromV1(v1: Obj): Obj {
  const spec = v1.spec ?? {};
  const status = v1.status ?? {};
  const annotations: Record<string, string> = { ...(v1.metadata?.annotations ?? {}) };
  const others = (parseJson(annotations[METRICS]) as Obj[] | undefined) ?? [];
  const behavior = parseJson(annotations[BEHAVIOR]) as Obj | undefined;
  const otherCurrent = (parseJson(annotations[CURRENT_METRICS]) as Obj[] | undefined) ?? [];
  const conditions = parseJson(annotations[CONDITIONS]) as Obj[] | undefined;
  for (const key of CARRIED) delete annotations[key];
  const metrics: Obj[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({
      type: "Resource",
      resource: {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: spec.targetCPUUtilizationPercentage },
      },
    });
  }
  metrics.push(...others);
  // No target at all (`kubectl autoscale` without --cpu-percent): v2's default, 80% CPU.
  if (metrics.length === 0) {
    metrics.push({
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
    });
  }
  const currentMetrics: Obj[] = [];
  if (status.currentCPUUtilizationPercentage !== undefined) {
    currentMetrics.push({
      type: "Resource",
      resource: {
        name: "cpu",
        current: { averageUtilization: status.currentCPUUtilizationPercentage },
      },
    });
  }
  currentMetrics.push(...otherCurrent);
  const metadata: Obj = { ...v1.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    ...v1,
    apiVersion: "autoscaling/v2",
    metadata,
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(metrics.length > 0 ? { metrics } : {}),
      ...(behavior ? { behavior } : {}),
    },
    status: {
      ...(status.observedGeneration !== undefined
        ? { observedGeneration: status.observedGeneration }
        : {}),
      ...(status.lastScaleTime ? { lastScaleTime: status.lastScaleTime } : {}),
      ...(status.currentReplicas !== undefined ? { currentReplicas: status.currentReplicas } : {}),
      desiredReplicas: status.desiredReplicas ?? 0,
      ...(currentMetrics.length > 0 ? { currentMetrics } : {}),
      ...(conditions ? { conditions } : {}),
    },
  };
}
