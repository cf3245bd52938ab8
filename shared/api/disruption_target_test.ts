import assert from "node:assert/strict";
import { withDisruptionTarget } from "./disruption_target.ts";

const ready = { type: "Ready", status: "True", lastTransitionTime: "t0" };

Deno.test("withDisruptionTarget adds the condition and leaves the others", () => {
  const before = [ready];
  const after = withDisruptionTarget(
    before,
    "EvictionByEvictionAPI",
    "Eviction API: evicting",
    "t1",
  );
  assert.deepEqual(after, [ready, {
    type: "DisruptionTarget",
    status: "True",
    reason: "EvictionByEvictionAPI",
    message: "Eviction API: evicting",
    lastTransitionTime: "t1",
  }]);
  assert.deepEqual(before, [ready], "the input list is not changed");
});

Deno.test("withDisruptionTarget moves the transition time only when the status changes", () => {
  const set = withDisruptionTarget<Record<string, unknown>>([], "TerminationByKubelet", "m", "t1");
  assert.equal(
    withDisruptionTarget(set, "TerminationByKubelet", "m", "t2")[0].lastTransitionTime,
    "t1",
  );
  // Another reason while still True: reason and message change, the transition time does not.
  const other = withDisruptionTarget(set, "PreemptionByScheduler", "p", "t3");
  assert.deepEqual([other[0].reason, other[0].message, other[0].lastTransitionTime], [
    "PreemptionByScheduler",
    "p",
    "t1",
  ]);
  const wasFalse = [{ type: "DisruptionTarget", status: "False", lastTransitionTime: "t0" }];
  assert.equal(
    withDisruptionTarget(wasFalse, "EvictionByEvictionAPI", "m", "t4")[0].lastTransitionTime,
    "t4",
  );
});
