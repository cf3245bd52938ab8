import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { defaultHorizontalPodAutoscaler } from "../../shared/api/autoscaling_validation.ts";
import { FakeClock, FakeLister, FakeRecorder } from "../../shared/testing/mod.ts";
import {
  HorizontalPodAutoscalerReconciler,
  type HpaSources,
  podMetricSample,
  type Scale,
} from "./horizontal_pod_autoscaler.ts";
import type { PodMetric } from "./hpa_replica_calculator.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const LONG_AGO = "2025-12-01T00:00:00Z";

function hpa(spec: Obj = {}): KubeObject {
  const h = {
    metadata: { name: "web", namespace: "default", uid: "hpa-uid", generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
      }],
      ...spec,
    },
    status: {},
  };
  defaultHorizontalPodAutoscaler(h);
  return h;
}

function pod(name: string): KubeObject {
  return {
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "c", resources: { requests: { cpu: "100m" } } }] },
    status: {
      phase: "Running",
      startTime: LONG_AGO,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: LONG_AGO }],
    },
  };
}

class FakeSources implements HpaSources {
  scale: Scale = {
    metadata: { name: "web" },
    spec: { replicas: 2 },
    status: { replicas: 2, selector: "app=web" },
  };
  usage: Record<string, number> = {};
  scaleError?: Error;
  readonly updates: number[] = [];
  readonly statuses: Obj[] = [];
  constructor(readonly clock: FakeClock) {}
  getScale(): Promise<Scale> {
    return this.scaleError
      ? Promise.reject(this.scaleError)
      : Promise.resolve(structuredClone(this.scale));
  }
  updateScale(_ns: string, _ref: Obj, s: Scale): Promise<void> {
    this.updates.push(s.spec.replicas!);
    this.scale.spec.replicas = s.spec.replicas;
    return Promise.resolve();
  }
  podMetrics(): Promise<Map<string, PodMetric>> {
    return Promise.resolve(
      new Map(
        Object.entries(this.usage).map((
          [n, v],
        ) => [n, { valueMillis: v, timestampMs: this.clock.now() - 1000, windowMs: 10_000 }]),
      ),
    );
  }
  writeStatus(_h: KubeObject, status: Obj): Promise<void> {
    this.statuses.push(status);
    return Promise.resolve();
  }
}

function setup(h: KubeObject, pods = [pod("a"), pod("b")]) {
  const clock = new FakeClock("2026-01-01T00:00:00Z");
  const sources = new FakeSources(clock);
  const recorder = new FakeRecorder();
  const hpas = new FakeLister([h]);
  const r = new HorizontalPodAutoscalerReconciler({
    listers: { hpas, pods: new FakeLister(pods) },
    sources,
    recorder,
    clock,
  });
  return { r, sources, recorder, clock, hpas };
}

Deno.test("HPA: CPU above target scales the Deployment up and says why", async () => {
  const { r, sources, recorder } = setup(hpa());
  sources.usage = { a: 100, b: 100 };
  await r.reconcile("default/web");
  assert.deepEqual(sources.updates, [4]);
  assert.deepEqual(recorder.reasons(), ["SuccessfulRescale"]);
  assert.match(
    recorder.events[0].message,
    /New size: 4; reason: cpu resource utilization \(percentage of request\) above target/,
  );
  const status = sources.statuses.at(-1)!;
  assert.equal(status.currentReplicas, 2);
  assert.equal(status.desiredReplicas, 4);
  assert.ok(status.lastScaleTime);
  assert.deepEqual(status.currentMetrics, [{
    type: "Resource",
    resource: { name: "cpu", current: { averageValue: "100m", averageUtilization: 100 } },
  }]);
  const cond = Object.fromEntries(status.conditions.map((c: Obj) => [c.type, c.reason]));
  assert.deepEqual(cond, {
    AbleToScale: "SucceededRescale",
    ScalingActive: "ValidMetricFound",
    ScalingLimited: "DesiredWithinRange",
  });
});

Deno.test("HPA: at target nothing is written to the scale", async () => {
  const { r, sources, recorder } = setup(hpa());
  sources.usage = { a: 50, b: 50 };
  await r.reconcile("default/web");
  assert.deepEqual(sources.updates, []);
  assert.deepEqual(recorder.reasons(), []);
  assert.equal(sources.statuses.at(-1)!.desiredReplicas, 2);
});

Deno.test("HPA: a scale-down waits out the 5-minute stabilization", async () => {
  const { r, sources, clock } = setup(hpa());
  sources.usage = { a: 50, b: 50 };
  await r.reconcile("default/web");
  sources.usage = { a: 5, b: 5 };
  clock.advance(60_000);
  await r.reconcile("default/web");
  assert.deepEqual(sources.updates, [], "within the window");
  clock.advance(5 * 60_000);
  await r.reconcile("default/web");
  assert.deepEqual(sources.updates, [1]);
});

Deno.test("HPA: bounds apply before metrics; zero replicas disables scaling", async () => {
  const over = setup(hpa({ maxReplicas: 3 }));
  over.sources.scale.spec.replicas = 5;
  await over.r.reconcile("default/web");
  assert.deepEqual(over.sources.updates, [3]);
  assert.match(
    over.recorder.events[0].message,
    /Current number of replicas above Spec.MaxReplicas/,
  );

  const zero = setup(hpa());
  zero.sources.scale.spec.replicas = 0;
  await zero.r.reconcile("default/web");
  assert.deepEqual(zero.sources.updates, []);
  const active = zero.sources.statuses.at(-1)!.conditions.find((c: Obj) =>
    c.type === "ScalingActive"
  );
  assert.equal(active.reason, "ScalingDisabled");
});

Deno.test("HPA: no metrics and no scale are conditions and events, not crashes", async () => {
  const noMetrics = setup(hpa());
  await noMetrics.r.reconcile("default/web");
  assert.deepEqual(noMetrics.recorder.reasons(), [
    "FailedGetResourceMetric",
    "FailedComputeMetricsReplicas",
  ]);
  const active = noMetrics.sources.statuses.at(-1)!.conditions.find((c: Obj) =>
    c.type === "ScalingActive"
  );
  assert.equal(active.status, "False");
  assert.equal(active.reason, "FailedGetResourceMetric");

  const noScale = setup(hpa());
  noScale.sources.scaleError = new Error('deployments.apps "web" not found');
  await noScale.r.reconcile("default/web");
  assert.deepEqual(noScale.recorder.reasons(), ["FailedGetScale"]);
  const able = noScale.sources.statuses.at(-1)!.conditions.find((c: Obj) =>
    c.type === "AbleToScale"
  );
  assert.equal(able.reason, "FailedGetScale");
});

Deno.test("podMetricSample: sums containers (or one), in milli-units", () => {
  const item = {
    timestamp: "2026-01-01T00:00:00Z",
    window: "10s",
    containers: [
      { name: "app", usage: { cpu: "250000000n", memory: "1Ki" } },
      { name: "side", usage: { cpu: "50m", memory: "1Ki" } },
    ],
  };
  assert.deepEqual(podMetricSample(item, "cpu"), {
    valueMillis: 300,
    timestampMs: Date.parse("2026-01-01T00:00:00Z"),
    windowMs: 10_000,
  });
  assert.equal(podMetricSample(item, "memory", "app")!.valueMillis, 1024_000);
  assert.equal(podMetricSample(item, "cpu", "nope"), undefined);
});
