import assert from "node:assert/strict";
import { invalidCauses } from "../testing/invalid_causes.ts";
import { findResource } from "./resources.ts";
import { systemPriorityClasses } from "./scheduling_v1.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

const info = findResource("scheduling.k8s.io", "v1", "priorityclasses")!;

const create = (body: Record<string, unknown>) =>
  validateCreate(info, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", ...body });

Deno.test("PriorityClass defaults preemptionPolicy and keeps user values at most one billion", () => {
  const pc = create({ metadata: { name: "high" }, value: 1_000_000_000 });
  assert.equal(pc.preemptionPolicy, "PreemptLowerPriority");
  assert.deepEqual(
    invalidCauses(() => create({ metadata: { name: "huge" }, value: 1_000_000_001 })),
    [
      "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
    ],
  );
  assert.match(
    invalidCauses(() =>
      create({ metadata: { name: "x" }, value: 1, preemptionPolicy: "Sometimes" })
    )[0],
    /^preemptionPolicy: Unsupported value: "Sometimes"/,
  );
});

Deno.test("PriorityClass names with the system- prefix are reserved for the system classes", () => {
  for (const pc of systemPriorityClasses()) create(pc);
  assert.deepEqual(invalidCauses(() => create({ metadata: { name: "system-mine" }, value: 5 })), [
    "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for " +
    "system use only. error: system-mine is not a known system priority class",
  ]);
  assert.deepEqual(
    invalidCauses(() => create({ metadata: { name: "system-node-critical" }, value: 5 })),
    [
      "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for " +
      "system use only. error: value of system-node-critical PriorityClass must be 2000001000",
    ],
  );
  assert.deepEqual(
    invalidCauses(() =>
      create({ metadata: { name: "system-cluster-critical" }, value: 2e9, globalDefault: true })
    ),
    [
      "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for " +
      "system use only. error: globalDefault of system-cluster-critical PriorityClass must be false",
    ],
  );
});

Deno.test("PriorityClass value and preemptionPolicy are immutable; its description is not", () => {
  const old = create({ metadata: { name: "high" }, value: 10 });
  validateUpdate(info, { ...old, description: "now described" }, old);
  assert.deepEqual(invalidCauses(() => validateUpdate(info, { ...old, value: 11 }, old)), [
    "value: Forbidden: may not be changed in an update.",
  ]);
  assert.deepEqual(
    invalidCauses(() => validateUpdate(info, { ...old, preemptionPolicy: "Never" }, old)),
    ['preemptionPolicy: Invalid value: "Never": field is immutable'],
  );
});
