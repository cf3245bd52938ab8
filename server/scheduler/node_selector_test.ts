import assert from "node:assert/strict";
import { scheduleIn, testCache, testNode, testPod, tiedChoices } from "./_testing.ts";
import { SKIP } from "./framework.ts";
import { createNodeAffinityScore } from "./node_selector.ts";
import { podInfo } from "./pod_info.ts";

function prefer(...terms: { weight: number; key: string; values?: string[] }[]) {
  return {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: terms.map((t) => ({
          weight: t.weight,
          preference: {
            matchExpressions: [{
              key: t.key,
              operator: t.values ? "In" : "Exists",
              ...(t.values ? { values: t.values } : {}),
            }],
          },
        })),
      },
    },
  };
}

Deno.test("preferred node affinity scores the sum of matching weights, normalised to 100", () => {
  const c = testCache([
    testNode("a", { labels: { ssd: "true" } }),
    testNode("b", { labels: { ssd: "true", gpu: "true" } }),
    testNode("c", { labels: { gpu: "true" } }),
  ]);
  const pod = podInfo(testPod("p", prefer({ weight: 20, key: "ssd" }, { weight: 60, key: "gpu" })));
  const score = createNodeAffinityScore();
  score.prepare!(pod, c.nodes(), c.nodes());
  assert.deepEqual(c.nodes().map((n) => score.score(pod, n)), [25, 100, 75]);
  // No term matches any node, or no terms: every node alike, the score is skipped.
  const none = podInfo(testPod("q", prefer({ weight: 50, key: "fpga" })));
  assert.equal(score.prepare!(none, c.nodes(), c.nodes()), SKIP);
  assert.equal(score.prepare!(podInfo(testPod("r")), c.nodes(), c.nodes()), SKIP);
});

Deno.test("the scheduler places a pod on the node its preferred affinity weighs most", () => {
  const c = testCache([
    testNode("a", { labels: { zone: "z1" } }),
    testNode("b", { labels: { zone: "z2" } }),
  ]);
  const p = testPod("p", prefer({ weight: 1, key: "zone", values: ["z2"] }));
  assert.deepEqual(tiedChoices(c, p), ["b"]);
  // An empty preference matches nothing: both nodes stay equal.
  const empty = testPod("e", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: {} }],
      },
    },
  });
  assert.deepEqual(tiedChoices(c, empty), ["a", "b"]);
  assert.ok(scheduleIn(c, empty).node);
});
