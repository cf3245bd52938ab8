import assert from "node:assert/strict";
import { validateCrd } from "./crd_validation.ts";

const crd = () => ({
  metadata: { name: "crontabs.stable.example.com" },
  spec: {
    group: "stable.example.com",
    scope: "Namespaced",
    names: { plural: "crontabs", singular: "crontab", kind: "CronTab" },
    versions: [{
      name: "v1",
      served: true,
      storage: true,
      schema: { openAPIV3Schema: { type: "object" } },
    }],
    conversion: { strategy: "None" },
  },
});

// deno-lint-ignore no-explicit-any
type Obj = any;

Deno.test("validateCrd() refuses what kube-apiextensions refuses", () => {
  const cases: [string, (c: Obj) => void, string[]][] = [
    ["the CronTab CRD", () => {}, []],
    ["a name other than plural.group", (c) => c.metadata.name = "x.stable.example.com", [
      'metadata.name: Invalid value: "x.stable.example.com": must be spec.names.plural+"."+spec.group',
    ]],
    ["a group without a dot", (c) => {
      c.spec.group = "example";
      c.metadata.name = "crontabs.example";
    }, ['spec.group: Invalid value: "example": should be a domain with at least one dot']],
    ["two storage versions", (c) => c.spec.versions.push({ ...c.spec.versions[0], name: "v2" }), [
      'spec.versions: Invalid value: ["v1","v2"]: must have exactly one version marked as storage version',
    ]],
    ["no schema", (c) => delete c.spec.versions[0].schema, [
      "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
    ]],
    ["a conversion webhook", (c) => c.spec.conversion.strategy = "Webhook", [
      'spec.conversion.strategy: Unsupported value: "Webhook": supported values: "None"',
    ]],
    ["a scale path outside spec", (c) =>
      c.spec.versions[0].subresources = {
        scale: { specReplicasPath: ".status.replicas", statusReplicasPath: ".status.replicas" },
      }, [
      'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
    ]],
    [
      "a printer column of an unknown type",
      (c) =>
        c.spec.versions[0].additionalPrinterColumns = [{
          name: "X",
          type: "map",
          jsonPath: ".spec.x",
        }],
      [
        'spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "map": supported values: "integer", "number", "string", "boolean", "date"',
      ],
    ],
  ];
  for (const [what, change, want] of cases) {
    const c = crd();
    change(c);
    assert.deepEqual(validateCrd(c).causes.map((x) => `${x.field}: ${x.message}`), want, what);
  }
});

Deno.test("validateCrd() keeps scope and group immutable", () => {
  const next = crd();
  next.spec.scope = "Cluster";
  assert.deepEqual(validateCrd(next, crd()).causes.map((x) => x.field), ["spec.scope"]);
});
