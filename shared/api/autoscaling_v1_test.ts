import assert from "node:assert/strict";
import { autoscalerFromV1, autoscalerToV1 } from "./autoscaling_v1.ts";

const V2 = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "web", namespace: "default", annotations: { team: "a" } },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
      },
      {
        type: "Resource",
        resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
      },
    ],
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 30,
        selectPolicy: "Max",
        policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
      },
    },
  },
  status: {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      {
        type: "Resource",
        resource: { name: "cpu", current: { averageUtilization: 90, averageValue: "90m" } },
      },
      { type: "Resource", resource: { name: "memory", current: { averageValue: "1000" } } },
    ],
    conditions: [{
      type: "AbleToScale",
      status: "True",
      reason: "SucceededRescale",
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    }],
  },
};

Deno.test("autoscaling/v1 shows the CPU target and carries the rest in annotations", () => {
  const v1 = autoscalerToV1(V2);
  assert.equal(v1.apiVersion, "autoscaling/v1");
  assert.equal(v1.spec.targetCPUUtilizationPercentage, 60);
  assert.equal(v1.status.currentCPUUtilizationPercentage, 90);
  assert.equal(v1.metadata.annotations.team, "a");
  assert.ok(v1.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"]);
  assert.ok(v1.metadata.annotations["autoscaling.alpha.kubernetes.io/behavior"]);
});

Deno.test("v2 → v1 → v2 loses nothing but the CPU metric's current raw average", () => {
  const back = autoscalerFromV1(autoscalerToV1(V2));
  assert.deepEqual(back.spec, V2.spec);
  assert.deepEqual(back.metadata, V2.metadata);
  assert.deepEqual(back.status.conditions, V2.status.conditions);
  assert.equal(back.status.currentMetrics[0].resource.current.averageUtilization, 90);
  assert.deepEqual(back.status.currentMetrics[1], V2.status.currentMetrics[1]);
});

Deno.test("what kubectl autoscale sends becomes a v2 CPU autoscaler", () => {
  const v2 = autoscalerFromV1({
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 2,
      maxReplicas: 4,
      targetCPUUtilizationPercentage: 70,
    },
  });
  assert.deepEqual(v2.spec.metrics, [
    {
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
    },
  ]);
  assert.equal(v2.metadata.annotations, undefined);
});
