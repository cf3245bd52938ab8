import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { ConflictError } from "../../shared/errors.ts";
import { FakeClock, FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import type { UsageSource } from "../quota/mod.ts";
import { lastStatus } from "./_recorded_test_util.ts";
import { CHARGE_SETTLE_MS, ResourceQuotaReconciler } from "./resource_quota.ts";

const T0 = Date.parse("2026-12-01T12:00:00Z");

const quota = (
  hard: Record<string, string>,
  status?: ResourceQuota["status"],
  spec: Partial<NonNullable<ResourceQuota["spec"]>> = {},
): ResourceQuota => ({
  metadata: { name: "q", namespace: "team", resourceVersion: "7" },
  spec: { hard, ...spec },
  ...(status ? { status } : {}),
});

const pod = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  metadata: { name, namespace: "team", ...extra.metadata },
  spec: { containers: [{ name: "c", resources: { requests: { cpu: "100m" } } }] },
  status: { phase: "Running", ...extra.status },
});

function setup(q: ResourceQuota, objects: Record<string, KubeObject[]>) {
  const client = new RecordingClient();
  const requeued: [string, number][] = [];
  const clock = new FakeClock(T0);
  const source: UsageSource = { objects: (e) => objects[`${e.group}/${e.resource}`] };
  const quotas = new FakeLister<ResourceQuota>([q]);
  const r = new ResourceQuotaReconciler({
    quotas,
    source,
    client,
    clock,
    enqueueAfter: (key, ms) => requeued.push([key, ms]),
  });
  return { r, client, requeued, clock, quotas };
}

Deno.test("ResourceQuotaReconciler.reconcile() writes status.hard and the measured usage of a new quota", async () => {
  const { r, client } = setup(quota({ pods: "5", "requests.cpu": "1", secrets: "3" }), {
    "/pods": [pod("a"), pod("b"), pod("done", { status: { phase: "Failed" } })],
    "/secrets": [],
  });
  await r.reconcile("team/q");
  assert.deepEqual(client.actions(), ["update/status resourcequotas team/q"]);
  assert.deepEqual(lastStatus(client), {
    hard: { pods: "5", "requests.cpu": "1", secrets: "3" },
    used: { pods: "2", "requests.cpu": "200m", secrets: "0" },
  });
});

Deno.test("ResourceQuotaReconciler.reconcile() writes nothing when the status is current", async () => {
  const hard = { pods: "5" };
  const { r, client } = setup(quota(hard, { hard, used: { pods: "1" } }), { "/pods": [pod("a")] });
  await r.reconcile("team/q");
  assert.deepEqual(client.actions(), []);
});

Deno.test("ResourceQuotaReconciler.reconcile() releases a deleted pod's usage, but not right after a charge", async () => {
  const hard = { pods: "5" };
  const charged = quota(hard, { hard, used: { pods: "2" } });
  const { r, client, requeued, clock } = setup(charged, { "/pods": [pod("a")] });
  // Admission just charged the quota (1 → 2): the pod may still be on its way to the cache.
  r.observe(quota(hard, { hard, used: { pods: "1" } }), charged);
  await r.reconcile("team/q");
  assert.deepEqual(client.actions(), []);
  assert.deepEqual(requeued, [["team/q", CHARGE_SETTLE_MS]]);
  clock.advance(CHARGE_SETTLE_MS);
  await r.reconcile("team/q");
  assert.deepEqual(lastStatus(client)?.used, { pods: "1" });
});

Deno.test("ResourceQuotaReconciler.reconcile() raises usage at once, charge or not", async () => {
  const hard = { pods: "5" };
  const q = quota(hard, { hard, used: { pods: "1" } });
  const { r, client } = setup(q, { "/pods": [pod("a"), pod("b")] });
  r.observe(quota(hard, { hard, used: { pods: "0" } }), q);
  await r.reconcile("team/q");
  assert.deepEqual(lastStatus(client)?.used, { pods: "2" });
});

Deno.test("ResourceQuotaReconciler.reconcile() comes back when a terminating pod's grace runs out", async () => {
  const deleting = pod("old", {
    metadata: {
      name: "old",
      namespace: "team",
      deletionTimestamp: "2026-12-01T12:00:20Z",
      deletionGracePeriodSeconds: 30,
    },
  });
  const hard = { pods: "5" };
  const { r, requeued } = setup(quota(hard, { hard, used: { pods: "1" } }), {
    "/pods": [deleting],
  });
  await r.reconcile("team/q");
  assert.deepEqual(requeued, [["team/q", 50_001]]);
});

Deno.test("ResourceQuotaReconciler.reconcile() measures again after a conflicting charge, and skips gone quotas", async () => {
  const { r, client, requeued, quotas } = setup(quota({ pods: "5" }), { "/pods": [] });
  client.on("update", "resourcequotas", () => {
    throw new ConflictError(
      { resource: "resourcequotas", name: "q" },
      "the object has been modified",
    );
  });
  await r.reconcile("team/q");
  assert.deepEqual(requeued, [["team/q", 0]]);
  quotas.delete("team/q");
  await r.reconcile("team/q");
  assert.equal(client.calls.length, 1);
});

Deno.test("ResourceQuotaReconciler.reconcile() keeps what it cannot measure yet (a kind not synced)", async () => {
  const hard = { "count/widgets.example.com": "3", pods: "2" };
  const { r, client } = setup(
    quota(hard, { hard, used: { "count/widgets.example.com": "1", pods: "0" } }),
    { "/pods": [pod("a")] },
  );
  await r.reconcile("team/q");
  assert.deepEqual(lastStatus(client)?.used, { "count/widgets.example.com": "1", pods: "1" });
});
