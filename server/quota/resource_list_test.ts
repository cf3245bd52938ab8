import assert from "node:assert/strict";
import {
  add,
  equalUsage,
  exceeded,
  formatUsage,
  mask,
  parseUsage,
  prettyPrint,
  removeZeros,
  subtractNonNegative,
  units,
} from "./resource_list.ts";

Deno.test("add() keeps the format of the first non-zero term, as Quantity.Add", () => {
  const sum = add(
    parseUsage({ memory: "64Mi", cpu: "100m", pods: "0" }),
    parseUsage({ memory: "64Mi", cpu: "1", pods: "2", secrets: "1" }),
  );
  assert.deepEqual(formatUsage(sum), {
    cpu: "1100m",
    memory: "128Mi",
    pods: "2",
    secrets: "1",
  });
  assert.deepEqual(formatUsage(add(parseUsage({ memory: "0" }), parseUsage({ memory: "1Gi" }))), {
    memory: "1Gi",
  });
});

Deno.test("subtractNonNegative() floors at zero and covers the names of both", () => {
  const d = subtractNonNegative(
    parseUsage({ "requests.storage": "2Gi", pods: "1" }),
    parseUsage({ "requests.storage": "1Gi", pods: "3", services: "1" }),
  );
  assert.deepEqual(formatUsage(d), { pods: "0", "requests.storage": "1Gi", services: "0" });
  assert.deepEqual(formatUsage(removeZeros(d)), { "requests.storage": "1Gi" });
});

Deno.test("exceeded(), mask() and prettyPrint() give the parts of an exceeded-quota message", () => {
  const used = parseUsage({ pods: "3", cpu: "500m", memory: "1Gi" });
  const hard = parseUsage({ pods: "2", cpu: "1", "limits.cpu": "1" });
  assert.deepEqual(exceeded(used, hard), ["pods"]);
  assert.equal(prettyPrint(mask(used, ["pods", "cpu"])), "cpu=500m,pods=3");
  assert.ok(equalUsage(parseUsage({ cpu: "1000m" }), parseUsage({ cpu: "1" })));
  assert.ok(!equalUsage(parseUsage({ cpu: "1" }), new Map([["cpu", units(2)]])));
});
