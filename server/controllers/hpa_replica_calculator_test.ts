import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import {
  CPU_INITIALIZATION_PERIOD_MS,
  type PodMetric,
  type ResourceReplicaQuery,
  resourceReplicas,
} from "./hpa_replica_calculator.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");
const LONG_AGO = new Date(NOW - 2 * CPU_INITIALIZATION_PERIOD_MS).toISOString();

interface PodOpts {
  phase?: string;
  ready?: boolean;
  request?: string;
  deleting?: boolean;
  startedAt?: string;
  readySince?: string;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  return {
    metadata: {
      name,
      namespace: "default",
      labels: { app: "web" },
      ...(o.deleting ? { deletionTimestamp: LONG_AGO } : {}),
    },
    spec: {
      containers: [{ name: "c", resources: { requests: { cpu: o.request ?? "100m" } } }],
    },
    status: {
      phase: o.phase ?? "Running",
      startTime: o.startedAt ?? LONG_AGO,
      conditions: [{
        type: "Ready",
        status: o.ready === false ? "False" : "True",
        lastTransitionTime: o.readySince ?? LONG_AGO,
      }],
    },
  };
}

function usage(entries: Record<string, number>): Map<string, PodMetric> {
  return new Map(
    Object.entries(entries).map((
      [name, millis],
    ) => [name, { valueMillis: millis, timestampMs: NOW - 1000, windowMs: 10_000 }]),
  );
}

function query(over: Partial<ResourceReplicaQuery>): ResourceReplicaQuery {
  return {
    currentReplicas: 2,
    pods: [pod("a"), pod("b")],
    metrics: usage({ a: 50, b: 50 }),
    resource: "cpu",
    target: { utilization: 50 },
    now: NOW,
    ...over,
  };
}

Deno.test("resourceReplicas: the upstream cases", async (t) => {
  const cases: {
    name: string;
    q: Partial<ResourceReplicaQuery>;
    replicas: number;
    util?: number;
  }[] = [
    { name: "at target keeps the count", q: {}, replicas: 2, util: 50 },
    {
      name: "within the 10% tolerance keeps the count",
      q: { metrics: usage({ a: 54, b: 54 }) },
      replicas: 2,
      util: 54,
    },
    {
      name: "double the use doubles the pods",
      q: { metrics: usage({ a: 100, b: 100 }) },
      replicas: 4,
      util: 100,
    },
    {
      name: "ceil of ratio × ready pods",
      q: { metrics: usage({ a: 80, b: 80 }) },
      replicas: 4,
      util: 80,
    },
    {
      name: "a quarter of the use halves",
      q: { metrics: usage({ a: 25, b: 25 }) },
      replicas: 1,
      util: 25,
    },
    {
      name: "a missing pod counts as 100% of its request on a scale-down",
      q: {
        pods: [pod("a"), pod("b"), pod("c")],
        currentReplicas: 3,
        metrics: usage({ a: 10, b: 10 }),
      },
      // (10 + 10 + 100) / 300 = 40% → ratio 0.8 → ceil(0.8 × 3) = 3: no change.
      replicas: 3,
      util: 10,
    },
    {
      name: "a missing pod counts as 0% on a scale-up",
      q: {
        pods: [pod("a"), pod("b"), pod("c")],
        currentReplicas: 3,
        metrics: usage({ a: 150, b: 150 }),
      },
      // (150 + 150 + 0) / 300 = 100% → ratio 2 → 6.
      replicas: 6,
      util: 150,
    },
    {
      name: "an unready pod counts as 0% on a scale-up",
      q: {
        pods: [
          pod("a"),
          pod("b"),
          pod("c", { ready: false, startedAt: new Date(NOW - 60_000).toISOString() }),
        ],
        currentReplicas: 3,
        metrics: usage({ a: 100, b: 100, c: 100 }),
      },
      // Ready use 100% → 2×; with c at 0: 200/300 = 66% → ratio 1.33 → ceil(4) = 4.
      replicas: 4,
      util: 100,
    },
    {
      name: "pending, failed and deleted pods are ignored",
      q: {
        pods: [
          pod("a"),
          pod("b"),
          pod("p", { phase: "Pending" }),
          pod("f", { phase: "Failed" }),
          pod("d", { deleting: true }),
        ],
        metrics: usage({ a: 100, b: 100, p: 0, f: 0, d: 0 }),
      },
      replicas: 4,
      util: 100,
    },
    {
      name: "an AverageValue target divides by the per-pod target",
      q: { target: { averageValueMillis: 25 }, metrics: usage({ a: 100, b: 100 }) },
      replicas: 8,
    },
    {
      name: "a missing pod counts at the target when it is above 100% on a scale-down",
      q: {
        pods: [pod("a"), pod("b"), pod("c")],
        currentReplicas: 3,
        metrics: usage({ a: 30, b: 30 }),
        target: { utilization: 120 },
      },
      // 60/200 = 30% → ratio 0.25; with c at max(100,120)% = 120: 180/300 = 60% → 0.5 → ceil(1.5)=2.
      replicas: 2,
      util: 30,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const r = resourceReplicas(query(c.q));
      assert.equal(r.replicas, c.replicas);
      if (c.util !== undefined) assert.equal(r.utilization, c.util);
    });
  }
});

Deno.test("resourceReplicas: upstream's errors", () => {
  assert.throws(
    () => resourceReplicas(query({ pods: [] })),
    /no pods returned by selector while calculating replica count/,
  );
  assert.throws(
    () => resourceReplicas(query({ metrics: new Map() })),
    /did not receive metrics for targeted pods/,
  );
  const noRequest = pod("a");
  (noRequest.spec as { containers: { resources: unknown }[] }).containers[0].resources = {};
  assert.throws(
    () => resourceReplicas(query({ pods: [noRequest], metrics: usage({ a: 10 }) })),
    /missing request for cpu in container c of Pod a/,
  );
});

Deno.test("resourceReplicas: a starting pod's CPU counts only once it is ready", () => {
  const starting = pod("a", {
    startedAt: new Date(NOW - 60_000).toISOString(),
    readySince: new Date(NOW - 5_000).toISOString(),
  });
  // The sample window (10 s before NOW - 1 s) began before the pod was ready: unready, so with
  // one ready pod at 100% the ratio is 2 and the unready one counts 0 → (0+100)/200 = 1.0 → keep.
  const r = resourceReplicas(
    query({ pods: [starting, pod("b")], metrics: usage({ a: 100, b: 100 }) }),
  );
  assert.equal(r.replicas, 2);
});
