import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { prioritySort } from "./scheduling_queue.ts";

const pod = (name: string, priority: number | undefined, created: string): KubeObject => ({
  metadata: { name, namespace: "default", creationTimestamp: created },
  spec: { priority },
});

Deno.test("the scheduling queue pops higher priority first, then the older pod", async () => {
  const pods = new Map<string, KubeObject>([
    ["default/old-low", pod("old-low", 0, "2026-01-01T00:00:00Z")],
    ["default/new-high", pod("new-high", 1000, "2026-01-01T00:00:05Z")],
    ["default/old-high", pod("old-high", 1000, "2026-01-01T00:00:01Z")],
    ["default/unset", pod("unset", undefined, "2025-12-31T00:00:00Z")],
    ["default/negative", pod("negative", -5, "2025-01-01T00:00:00Z")],
  ]);
  const q = new WorkQueue({ order: prioritySort((k) => pods.get(k)) });
  for (const k of pods.keys()) q.add(k);
  q.add("default/gone"); // deleted meanwhile: priority 0, no timestamp
  const out: string[] = [];
  while (q.len > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  assert.deepEqual(out, [
    "default/old-high",
    "default/new-high",
    "default/gone",
    "default/unset",
    "default/old-low",
    "default/negative",
  ]);
});
