import assert from "node:assert/strict";
import { evaluateJsonPath, parseJsonPath, setJsonPath } from "./json_path.ts";
import { compareVersions } from "./custom_resources.ts";

Deno.test("parseJsonPath() and evaluateJsonPath() read printer-column paths", () => {
  const obj = {
    spec: { replicas: 2, items: [{ name: "a" }, { name: "b" }] },
    metadata: { labels: { "app.kubernetes.io/name": "web" } },
  };
  const cases: [string, unknown[] | null][] = [
    [".spec.replicas", [2]],
    [".spec.items[1].name", ["b"]],
    [".spec.items[*].name", ["a", "b"]],
    [".metadata.labels['app.kubernetes.io/name']", ["web"]],
    ["{.spec.replicas}", [2]],
    [".spec.missing", []],
    ["spec.replicas", null],
    [".spec..x", null],
  ];
  for (const [path, want] of cases) {
    const steps = parseJsonPath(path);
    assert.deepEqual(steps ? evaluateJsonPath(obj, steps) : null, want, path);
  }
});

Deno.test("setJsonPath() creates the objects on its way", () => {
  const obj: Record<string, unknown> = {};
  setJsonPath(obj, parseJsonPath(".spec.scale.replicas")!, 3);
  assert.deepEqual(obj, { spec: { scale: { replicas: 3 } } });
});

Deno.test("compareVersions() orders versions as Kubernetes' version priority", () => {
  const versions = ["v1alpha1", "foo", "v1", "v2beta1", "v1beta2", "v2", "v1beta1", "bar"];
  assert.deepEqual(versions.sort(compareVersions), [
    "v2",
    "v1",
    "v2beta1",
    "v1beta2",
    "v1beta1",
    "v1alpha1",
    "bar",
    "foo",
  ]);
});
