import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { defaultTolerations } from "./default_tolerations.ts";

const keys = (pod: KubeObject) =>
  pod.spec.tolerations.map((t: { key?: string; tolerationSeconds?: number }) => [
    t.key,
    t.tolerationSeconds,
  ]);

Deno.test("defaultTolerations() adds not-ready and unreachable NoExecute tolerations", () => {
  const pod = defaultTolerations({ metadata: { name: "p" }, spec: {} }, { tolerationSeconds: 7 });
  assert.deepEqual(keys(pod), [
    ["node.kubernetes.io/not-ready", 7],
    ["node.kubernetes.io/unreachable", 7],
  ]);
});

Deno.test("defaultTolerations() keeps a pod's own toleration and a wildcard Exists", () => {
  const own = defaultTolerations({
    metadata: { name: "p" },
    spec: {
      tolerations: [{
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 600,
      }],
    },
  });
  assert.deepEqual(keys(own), [
    ["node.kubernetes.io/unreachable", 600],
    ["node.kubernetes.io/not-ready", 15],
  ]);
  const wildcard = defaultTolerations({
    metadata: { name: "p" },
    spec: { tolerations: [{ operator: "Exists" }] },
  });
  assert.equal(wildcard.spec.tolerations.length, 1);
});
