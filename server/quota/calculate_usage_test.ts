import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { calculateUsage, type UsageSource } from "./calculate_usage.ts";
import { formatUsage } from "./resource_list.ts";

const now = new Date("2026-12-01T12:00:00Z");

const pod = (name: string, extra: Partial<KubeObject> = {}, cpu?: string): KubeObject => ({
  metadata: { name, namespace: "default", ...extra.metadata },
  spec: {
    containers: [{ name: "c", resources: cpu ? { requests: { cpu } } : {} }],
    ...extra.spec,
  },
  status: { phase: "Running", ...extra.status },
});

function source(objects: Record<string, KubeObject[]>): UsageSource {
  return {
    objects: (e, namespace) =>
      objects[`${e.group}/${e.resource}`]?.filter((o) => o.metadata.namespace === namespace),
  };
}

const quota = (
  hard: Record<string, string>,
  extra: Partial<NonNullable<ResourceQuota["spec"]>> = {},
  used?: Record<string, string>,
): ResourceQuota => ({
  metadata: { name: "q", namespace: "default" },
  spec: { hard, ...extra },
  status: used ? { hard, used } : {},
});

Deno.test("calculateUsage() sums the live pods, leaving out finished ones", () => {
  const pods = [
    pod("a", {}, "100m"),
    pod("b", {}, "250m"),
    pod("done", { status: { phase: "Succeeded" } }, "1"),
    pod("other-ns", { metadata: { name: "x", namespace: "other" } }, "1"),
  ];
  const { used } = calculateUsage(
    quota({ pods: "10", "requests.cpu": "2", "count/pods": "10" }),
    source({ "/pods": pods }),
    now,
  );
  assert.deepEqual(formatUsage(used), { "count/pods": "3", pods: "2", "requests.cpu": "350m" });
});

Deno.test("calculateUsage() counts only the objects in the quota's scopes", () => {
  const pods = [
    pod("plain"),
    pod("job", { spec: { activeDeadlineSeconds: 30 } }),
    pod("high", { spec: { priorityClassName: "high" } }, "1"),
  ];
  const src = source({ "/pods": pods });
  const used = (q: ResourceQuota) => formatUsage(calculateUsage(q, src, now).used);
  assert.deepEqual(used(quota({ pods: "5" }, { scopes: ["BestEffort"] })), { pods: "2" });
  assert.deepEqual(used(quota({ pods: "5" }, { scopes: ["Terminating"] })), { pods: "1" });
  assert.deepEqual(
    used(quota({ pods: "5" }, {
      scopeSelector: {
        matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }],
      },
    })),
    { pods: "1" },
  );
  // Services are in no pod scope: a scoped quota counts none of them.
  assert.deepEqual(
    formatUsage(
      calculateUsage(
        quota({ pods: "5", services: "2" }, { scopes: ["NotTerminating"] }),
        source({ "/pods": pods, "/services": [{ metadata: { name: "s", namespace: "default" } }] }),
        now,
      ).used,
    ),
    { pods: "2", services: "0" },
  );
});

Deno.test("calculateUsage() keeps the last value of what it cannot measure, and drops what is not hard", () => {
  const q = quota(
    { "count/widgets.example.com": "3", "example.com/gadgets": "1", secrets: "4" },
    {},
    { "count/widgets.example.com": "2", "example.com/gadgets": "1", pods: "9" },
  );
  const { used } = calculateUsage(
    q,
    source({ "/secrets": [{ metadata: { name: "s", namespace: "default" } }] }),
    now,
  );
  assert.deepEqual(formatUsage(used), {
    "count/widgets.example.com": "2",
    "example.com/gadgets": "1",
    secrets: "1",
  });
  const watched = calculateUsage(
    q,
    source({ "example.com/widgets": [], "/secrets": [] }),
    now,
  );
  assert.equal(formatUsage(watched.used)["count/widgets.example.com"], "0");
});

Deno.test("calculateUsage() says when a terminating pod will stop counting", () => {
  const deleting = pod("d", {
    metadata: {
      name: "d",
      namespace: "default",
      deletionTimestamp: "2026-12-01T12:00:10Z",
      deletionGracePeriodSeconds: 30,
    },
  });
  const { used, nextChange } = calculateUsage(
    quota({ pods: "5" }),
    source({ "/pods": [deleting] }),
    now,
  );
  assert.deepEqual(formatUsage(used), { pods: "1" });
  assert.equal(nextChange?.toISOString(), "2026-12-01T12:00:40.000Z");
});
