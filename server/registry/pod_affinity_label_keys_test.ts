import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { applyMatchLabelKeys } from "./pod_affinity_label_keys.ts";

Deno.test("applyMatchLabelKeys() merges the pod's values into its affinity terms' selectors", () => {
  const term = (extra: Record<string, unknown>) => ({
    labelSelector: { matchLabels: { app: "web" } },
    topologyKey: "kubernetes.io/hostname",
    ...extra,
  });
  const pod: KubeObject = {
    metadata: { name: "w", labels: { app: "web", "pod-template-hash": "abc", tier: "front" } },
    spec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            term({ matchLabelKeys: ["pod-template-hash", "missing"] }),
            { topologyKey: "zone", matchLabelKeys: ["pod-template-hash"] },
          ],
        },
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 10,
            podAffinityTerm: term({ mismatchLabelKeys: ["tier"] }),
          }],
        },
      },
    },
  };
  applyMatchLabelKeys(pod);
  const [first, noSelector] = pod.spec.affinity.podAntiAffinity
    .requiredDuringSchedulingIgnoredDuringExecution;
  assert.deepEqual(first.labelSelector, {
    matchLabels: { app: "web" },
    matchExpressions: [{ key: "pod-template-hash", operator: "In", values: ["abc"] }],
  });
  // A term without a selector matches nothing, and stays without one.
  assert.equal(noSelector.labelSelector, undefined);
  assert.deepEqual(
    pod.spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
      .labelSelector.matchExpressions,
    [{ key: "tier", operator: "NotIn", values: ["front"] }],
  );
});
