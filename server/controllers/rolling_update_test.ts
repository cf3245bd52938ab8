import assert from "node:assert/strict";
import {
  newReplicaSetReplicas,
  podTemplateHash,
  resolveFenceposts,
  scaleDownOldReplicaSets,
  scaledValue,
  templatesEqual,
} from "./rolling_update.ts";

Deno.test("scaledValue() rounds surge up and unavailable down", () => {
  assert.equal(scaledValue("25%", 10, true), 3);
  assert.equal(scaledValue("25%", 10, false), 2);
  assert.equal(scaledValue(4, 10, true), 4);
  assert.equal(scaledValue("4", 10, true), 4);
  assert.throws(() => scaledValue("abc", 10, true));
});

Deno.test("resolveFenceposts() defaults to 25% and never leaves both at zero", () => {
  assert.deepEqual(resolveFenceposts(undefined, 4), { maxSurge: 1, maxUnavailable: 1 });
  assert.deepEqual(resolveFenceposts({ maxSurge: 0, maxUnavailable: 0 }, 4), {
    maxSurge: 0,
    maxUnavailable: 1,
  });
  assert.deepEqual(resolveFenceposts({ maxSurge: "50%", maxUnavailable: "10%" }, 3), {
    maxSurge: 2,
    maxUnavailable: 0,
  });
});

Deno.test("podTemplateHash() is stable and ignores key order and its own label", () => {
  const a = {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "x" }] },
  };
  const b = {
    spec: { containers: [{ image: "x", name: "c" }] },
    metadata: { labels: { app: "web", "pod-template-hash": "zzz" } },
  };
  assert.equal(podTemplateHash(a), podTemplateHash(b));
  assert.ok(templatesEqual(a, b));
  assert.match(podTemplateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  const c = { ...a, spec: { containers: [{ name: "c", image: "y" }] } };
  assert.notEqual(podTemplateHash(a), podTemplateHash(c));
  assert.notEqual(podTemplateHash(a), podTemplateHash(a, 1));
});

Deno.test("podTemplateHash() treats null, {} and [] like absent fields, as Go's types do", () => {
  const stored = {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "x" }] },
  };
  // What kubectl rollout undo sends back for that template.
  const undo = {
    metadata: { creationTimestamp: null, labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "x", resources: {}, env: [] }] },
  };
  assert.equal(podTemplateHash(stored), podTemplateHash(undo));
  assert.ok(templatesEqual(stored, undo));
  const other = { ...undo, spec: { containers: [{ name: "c", image: "x", args: ["a"] }] } };
  assert.notEqual(podTemplateHash(stored), podTemplateHash(other));
});

Deno.test("a simulated rollout never exceeds surge nor drops below min available", () => {
  for (
    const [replicas, surge, unavail] of [[10, 3, 2], [5, 0, 1], [4, 1, 0], [1, 1, 0], [
      7,
      "50%",
      "0%",
    ]] as const
  ) {
    const { maxSurge, maxUnavailable } = resolveFenceposts({
      maxSurge: surge,
      maxUnavailable: unavail,
    }, replicas);
    const oldRs: { replicas: number; available: number } = { replicas, available: replicas };
    const newRs = { replicas: 0, available: 0 };
    for (let step = 0; step < 100 && (newRs.available < replicas || oldRs.replicas > 0); step++) {
      newRs.replicas = newReplicaSetReplicas(replicas, maxSurge, newRs, [newRs, oldRs]);
      assert.ok(newRs.replicas + oldRs.replicas <= replicas + maxSurge);
      const [o] = scaleDownOldReplicaSets(replicas, maxUnavailable, newRs, [oldRs]);
      oldRs.replicas = o;
      oldRs.available = Math.min(oldRs.available, o);
      assert.ok(newRs.available + oldRs.available >= replicas - maxUnavailable, `step ${step}`);
      // Pods of the new ReplicaSet become available between steps.
      newRs.available = newRs.replicas;
    }
    assert.equal(newRs.replicas, replicas);
    assert.equal(oldRs.replicas, 0);
  }
});
