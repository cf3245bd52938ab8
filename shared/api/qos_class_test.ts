import assert from "node:assert/strict";
import { qosClass } from "./qos_class.ts";

Deno.test("qosClass() is Guaranteed, Burstable or BestEffort from cpu and memory", () => {
  const spec = (resources: Record<string, Record<string, string | number>>) => ({
    containers: [{ resources }],
  });
  assert.equal(qosClass(spec({ limits: { cpu: "1", memory: "1Gi" } })), "Guaranteed");
  assert.equal(
    qosClass(spec({ limits: { cpu: 1, memory: "1Gi" }, requests: { cpu: "1" } })),
    "Guaranteed",
  );
  assert.equal(qosClass(spec({ requests: { cpu: "100m" } })), "Burstable");
  assert.equal(qosClass(spec({ limits: { cpu: "1" } })), "Burstable");
  assert.equal(
    qosClass(spec({ limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } })),
    "Burstable",
  );
  // Only cpu and memory count, as in the kubelet.
  assert.equal(qosClass(spec({ limits: { "ephemeral-storage": "1Gi" } })), "BestEffort");
  assert.equal(qosClass({ containers: [{}] }), "BestEffort");
  // Init containers count too.
  assert.equal(
    qosClass({
      initContainers: [{ resources: { requests: { memory: "1Mi" } } }],
      containers: [{}],
    }),
    "Burstable",
  );
});
