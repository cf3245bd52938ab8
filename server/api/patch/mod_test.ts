import assert from "node:assert/strict";
import { ApiError, BadRequestError } from "../../../shared/errors.ts";
import { applyPatch, patchTypeFromContentType } from "./mod.ts";

const kind = { apiVersion: "apps/v1", kind: "Deployment" };

Deno.test("patchTypeFromContentType() maps kubectl's content types and refuses others with 415", () => {
  assert.equal(patchTypeFromContentType("application/json-patch+json"), "json");
  assert.equal(patchTypeFromContentType("application/merge-patch+json; charset=utf-8"), "merge");
  assert.equal(patchTypeFromContentType("application/strategic-merge-patch+json"), "strategic");
  assert.equal(patchTypeFromContentType("application/apply-patch+yaml"), "apply");
  assert.throws(
    () => patchTypeFromContentType("application/json"),
    (e: unknown) => e instanceof ApiError && e.code === 415,
  );
  assert.throws(
    () => patchTypeFromContentType(undefined),
    (e: unknown) => (e as ApiError).code === 415,
  );
});

Deno.test("applyPatch() dispatches by type", () => {
  const target = { spec: { template: { spec: { containers: [{ name: "a" }, { name: "b" }] } } } };
  const list = [{ name: "b", image: "x" }];
  const strategic = applyPatch(target, { spec: { template: { spec: { containers: list } } } }, {
    type: "strategic",
    kind,
  }) as typeof target;
  assert.equal(strategic.spec.template.spec.containers.length, 2);
  const merge = applyPatch(target, { spec: { template: { spec: { containers: list } } } }, {
    type: "merge",
    kind,
  }) as typeof target;
  assert.equal(merge.spec.template.spec.containers.length, 1);
  const json = applyPatch(target, [{ op: "remove", path: "/spec/template/spec/containers/0" }], {
    type: "json",
    kind,
  }) as typeof target;
  assert.deepEqual(json.spec.template.spec.containers, [{ name: "b" }]);
  assert.throws(() => applyPatch(target, [1], { type: "merge", kind }), BadRequestError);
});
