import assert from "node:assert/strict";
import {
  DOWNSCALE_STABILIZATION_MS,
  normalizeReplicas,
  scaleDownLimit,
  ScaleHistory,
  scaleUpLimit,
} from "./hpa_behavior.ts";
import {
  defaultScaleDownRules,
  defaultScaleUpRules,
} from "../../shared/api/autoscaling_validation.ts";

const NOW = 1_000_000_000;

Deno.test("without behavior: scale-up at most max(2×current, 4), then maxReplicas", () => {
  const h = new ScaleHistory();
  let n = normalizeReplicas({
    current: 1,
    proposed: 10,
    minReplicas: 1,
    maxReplicas: 20,
    history: h,
    now: NOW,
  });
  assert.equal(n.replicas, 4);
  assert.equal(n.limited.reason, "ScaleUpLimit");
  n = normalizeReplicas({
    current: 1,
    proposed: 10,
    minReplicas: 1,
    maxReplicas: 3,
    history: new ScaleHistory(),
    now: NOW,
  });
  assert.equal(n.replicas, 3);
  assert.equal(n.limited.reason, "TooManyReplicas");
  n = normalizeReplicas({
    current: 5,
    proposed: 1,
    minReplicas: 2,
    maxReplicas: 9,
    history: new ScaleHistory(),
    now: NOW,
  });
  assert.equal(n.replicas, 2);
  assert.equal(n.limited.reason, "TooFewReplicas");
});

Deno.test("without behavior: a scale-down waits for the highest proposal of the last 5 minutes", () => {
  const h = new ScaleHistory();
  normalizeReplicas({
    current: 6,
    proposed: 6,
    minReplicas: 1,
    maxReplicas: 10,
    history: h,
    now: NOW,
  });
  const n = normalizeReplicas({
    current: 6,
    proposed: 2,
    minReplicas: 1,
    maxReplicas: 10,
    history: h,
    now: NOW + 60_000,
  });
  assert.equal(n.replicas, 6);
  assert.equal(n.stabilization.reason, "ScaleDownStabilized");
  const later = normalizeReplicas({
    current: 6,
    proposed: 2,
    minReplicas: 1,
    maxReplicas: 10,
    history: h,
    now: NOW + 60_000 + DOWNSCALE_STABILIZATION_MS + 1,
  });
  assert.equal(later.replicas, 2);
});

Deno.test("behavior: the default up rules allow max(+4 pods, +100%) per 15 s", () => {
  assert.equal(scaleUpLimit(1, [], defaultScaleUpRules(), NOW), 5);
  assert.equal(scaleUpLimit(10, [], defaultScaleUpRules(), NOW), 20);
  // 6 pods already added in the period: counted from 4.
  assert.equal(scaleUpLimit(10, [{ value: 6, at: NOW - 5_000 }], defaultScaleUpRules(), NOW), 8);
  assert.equal(
    scaleUpLimit(10, [], { selectPolicy: "Min", policies: defaultScaleUpRules().policies }, NOW),
    14,
  );
  assert.equal(scaleUpLimit(10, [], { selectPolicy: "Disabled", policies: [] }, NOW), 10);
});

Deno.test("behavior: down rules and Min picks the smaller change", () => {
  assert.equal(scaleDownLimit(10, [], defaultScaleDownRules(), NOW), 0);
  const rules = {
    selectPolicy: "Min",
    policies: [{ type: "Pods", value: 1, periodSeconds: 60 }, {
      type: "Percent",
      value: 50,
      periodSeconds: 60,
    }],
  };
  assert.equal(scaleDownLimit(10, [], rules, NOW), 9);
  assert.equal(scaleDownLimit(10, [], { ...rules, selectPolicy: "Max" }, NOW), 5);
});

Deno.test("behavior: stabilization windows and rate limits together", () => {
  const behavior = {
    scaleUp: defaultScaleUpRules(),
    scaleDown: { ...defaultScaleDownRules(), stabilizationWindowSeconds: 60 },
  };
  const h = new ScaleHistory();
  let n = normalizeReplicas({
    current: 2,
    proposed: 20,
    minReplicas: 1,
    maxReplicas: 30,
    behavior,
    history: h,
    now: NOW,
  });
  assert.equal(n.replicas, 6);
  assert.equal(n.limited.reason, "ScaleUpLimit");
  h.recordScale(2, 6, NOW, behavior);
  n = normalizeReplicas({
    current: 6,
    proposed: 20,
    minReplicas: 1,
    maxReplicas: 30,
    behavior,
    history: h,
    now: NOW + 1000,
  });
  // Within the same 15 s period: the +4 already made counts, so start 2 → max(6, 4) = 6.
  assert.equal(n.replicas, 6);
  n = normalizeReplicas({
    current: 6,
    proposed: 1,
    minReplicas: 1,
    maxReplicas: 30,
    behavior,
    history: h,
    now: NOW + 2000,
  });
  assert.equal(n.replicas, 6, "the down window keeps the highest recent proposal");
  assert.equal(n.stabilization.reason, "ScaleDownStabilized");
  n = normalizeReplicas({
    current: 6,
    proposed: 1,
    minReplicas: 1,
    maxReplicas: 30,
    behavior,
    history: h,
    now: NOW + 70_000,
  });
  assert.equal(n.replicas, 1);
});
