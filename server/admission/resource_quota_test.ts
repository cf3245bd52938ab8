import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { ForbiddenError, NotFoundError } from "../../shared/errors.ts";
import { type AdmissionAttributes, runUndo } from "./admission.ts";
import { resourceQuotaAdmission } from "./resource_quota.ts";

/** Quotas held in memory, written by compare-and-swap with an optional racing writer. */
class FakeQuotas {
  readonly items = new Map<string, ResourceQuota>();
  writes = 0;
  /** Runs once before the next write lands, as another server's write would. */
  race?: (q: ResourceQuota) => ResourceQuota;

  constructor(...quotas: ResourceQuota[]) {
    for (const q of quotas) this.items.set(q.metadata.name!, q);
  }

  deps() {
    return {
      quotas: () => [...this.items.values()],
      updateStatus: async (
        _ns: string,
        name: string,
        update: (q: ResourceQuota) => ResourceQuota | null,
      ) => {
        for (;;) {
          const current = this.items.get(name);
          if (!current) throw new NotFoundError({ resource: "resourcequotas", name });
          const next = update(current);
          await Promise.resolve();
          if (this.race) {
            // The stored quota changed under us: the write conflicts and is tried again.
            this.items.set(name, this.race(current));
            this.race = undefined;
            continue;
          }
          if (next) {
            this.items.set(name, next);
            this.writes++;
          }
          return;
        }
      },
    };
  }

  used(name: string) {
    return this.items.get(name)!.status?.used;
  }
}

const quota = (name: string, hard: Record<string, string>, used: Record<string, string>) => ({
  metadata: { name, namespace: "team" },
  spec: { hard },
  status: { hard, used },
});

const pod = (name: string): KubeObject => ({
  metadata: { name, namespace: "team" },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

const attrs = (
  object: KubeObject,
  extra: Partial<AdmissionAttributes> = {},
): AdmissionAttributes => ({
  operation: "CREATE",
  resource: "pods",
  group: "",
  kind: "Pod",
  namespace: "team",
  name: object.metadata.name!,
  object,
  dryRun: false,
  warnings: [],
  undo: [],
  ...extra,
});

Deno.test("resourceQuotaAdmission() lets exactly as many concurrent pods in as the quota has room for", async () => {
  const store = new FakeQuotas(quota("q", { pods: "2" }, { pods: "0" }));
  const admit = resourceQuotaAdmission(store.deps());
  const results = await Promise.allSettled(
    ["a", "b", "c", "d"].map((n) => admit(attrs(pod(n)))),
  );
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "rejected",
  ]);
  const refused = (results[2] as PromiseRejectedResult).reason;
  assert.ok(refused instanceof ForbiddenError);
  assert.equal(
    refused.message,
    'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
  );
  assert.deepEqual(store.used("q"), { pods: "2" });
});

Deno.test("resourceQuotaAdmission() decides again when another writer charged the quota first", async () => {
  const store = new FakeQuotas(quota("q", { pods: "1" }, { pods: "0" }));
  // Another server takes the last pod between our read and our write.
  store.race = (q) => ({ ...q, status: { ...q.status, used: { pods: "1" } } });
  const admit = resourceQuotaAdmission(store.deps());
  await assert.rejects(
    async () => await admit(attrs(pod("late"))),
    /exceeded quota: q, requested: pods=1, used: pods=1/,
  );
  assert.deepEqual(store.used("q"), { pods: "1" });
});

Deno.test("resourceQuotaAdmission() takes a charge back when the object is not stored", async () => {
  const store = new FakeQuotas(
    quota("count", { pods: "5" }, { pods: "1" }),
    quota("other", { services: "1" }, { services: "0" }),
  );
  const admit = resourceQuotaAdmission(store.deps());
  const a = attrs(pod("dup"));
  await admit(a);
  assert.deepEqual(store.used("count"), { pods: "2" });
  assert.equal(a.undo!.length, 1);
  await runUndo(a.undo!);
  assert.deepEqual(store.used("count"), { pods: "1" });
  assert.deepEqual(store.used("other"), { services: "0" }, "a quota not charged is not touched");
});

Deno.test("resourceQuotaAdmission() releases the quotas it charged when a later one refuses", async () => {
  const store = new FakeQuotas(
    quota("a-roomy", { pods: "5" }, { pods: "0" }),
    quota("b-full", { "count/pods": "1" }, { "count/pods": "1" }),
  );
  // Both quotas pass the first decision; the second is filled before it is charged.
  const admit = resourceQuotaAdmission({
    ...store.deps(),
    quotas: () => [
      store.items.get("a-roomy")!,
      quota("b-full", { "count/pods": "1" }, { "count/pods": "0" }),
    ],
  });
  await assert.rejects(async () => await admit(attrs(pod("x"))), /exceeded quota: b-full/);
  assert.deepEqual(store.used("a-roomy"), { pods: "0" });
});

Deno.test("resourceQuotaAdmission() charges nothing on a dry run and ignores other namespaces' kinds", async () => {
  const store = new FakeQuotas(quota("q", { pods: "1", "count/events": "0" }, { pods: "0" }));
  const admit = resourceQuotaAdmission(store.deps());
  await admit(attrs(pod("dry"), { dryRun: true }));
  await admit(attrs({ metadata: { name: "ev" } }, { resource: "events", kind: "Event" }));
  await admit(attrs({ metadata: { name: "n" } }, { resource: "nodes", namespace: undefined }));
  assert.equal(store.writes, 0);
  // A dry run is still refused when the real write would be.
  store.items.set("q", quota("q", { pods: "1" }, { pods: "1" }));
  await assert.rejects(
    async () => await admit(attrs(pod("dry2"), { dryRun: true })),
    /exceeded quota: q/,
  );
});
