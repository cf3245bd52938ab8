import assert from "node:assert/strict";
import { applyMergePatch } from "./json_merge_patch.ts";

Deno.test("applyMergePatch() follows the RFC 7386 examples", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify([target, patch]));
  }
});

Deno.test("applyMergePatch() does what kubectl scale and label send, without mutating", () => {
  const deploy = {
    metadata: { name: "web", labels: { app: "web", old: "x" } },
    spec: { replicas: 3, template: { spec: { containers: [{ name: "c" }] } } },
  };
  const before = structuredClone(deploy);
  const scaled = applyMergePatch(deploy, { spec: { replicas: 5 } });
  assert.deepEqual(scaled, {
    metadata: { name: "web", labels: { app: "web", old: "x" } },
    spec: { replicas: 5, template: { spec: { containers: [{ name: "c" }] } } },
  });
  const labelled = applyMergePatch(deploy, {
    metadata: { labels: { tier: "front", old: null } },
  }) as typeof deploy;
  assert.deepEqual(labelled.metadata.labels, { app: "web", tier: "front" });
  assert.deepEqual(deploy, before);
  labelled.spec.template.spec.containers[0].name = "changed";
  assert.equal(deploy.spec.template.spec.containers[0].name, "c");
});
