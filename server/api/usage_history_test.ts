import assert from "node:assert/strict";
import { UsageHistory } from "./usage_history.ts";

Deno.test("UsageHistory keeps one sample per gap, drops samples outside the window", () => {
  const h = new UsageHistory({ windowMs: 60_000, minGapMs: 10_000 });
  h.record("n1", [0, 1, 10]);
  h.record("n1", [5_000, 2, 20]);
  h.record("n1", [10_000, 3, 30]);
  assert.deepEqual(h.get("n1"), [[0, 1, 10], [10_000, 3, 30]]);
  h.record("n1", [70_001, 4, 40]);
  assert.deepEqual(h.get("n1"), [[70_001, 4, 40]]);
  assert.deepEqual(h.get("n2"), []);
  h.retain(new Set(["n2"]));
  assert.deepEqual(h.get("n1"), []);
});
