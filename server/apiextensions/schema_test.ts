import assert from "node:assert/strict";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import {
  applyDefaults,
  type JSONSchemaProps,
  prune,
  structuralErrors,
  validateValue,
} from "./schema.ts";

const CRONTAB: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["cronSpec"],
      properties: {
        cronSpec: { type: "string", pattern: "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
        image: { type: "string", minLength: 2, maxLength: 5 },
        replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
        mode: { type: "string", enum: ["a", "b"] },
        ports: { type: "array", minItems: 1, maxItems: 2, items: { type: "integer" } },
        port: { "x-kubernetes-int-or-string": true },
        when: { type: "string", format: "date-time" },
        note: { type: "string", nullable: true },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object", properties: { a: { type: "string" } } } },
        },
        nested: {
          type: "object",
          default: {},
          properties: { depth: { type: "integer", default: 3 } },
        },
      },
    },
  },
};

const errorsOf = (value: unknown): string[] => {
  const errs = new FieldErrors();
  validateValue(value, CRONTAB, "", errs);
  return errs.causes.map((c) => `${c.field}: ${c.message}`);
};

Deno.test("validateValue() reports each rule in Kubernetes' words", () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ["a valid object", { cronSpec: "* * * * */5", replicas: 3 }, []],
    ["a missing required field", {}, ["spec.cronSpec: Required value"]],
    ["a wrong type", { cronSpec: "* * * * *", replicas: "x" }, [
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ]],
    ["a number where an integer is wanted", { cronSpec: "* * * * *", replicas: 1.5 }, [
      'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    ]],
    ["a pattern", { cronSpec: "x" }, [
      `spec.cronSpec: Invalid value: "x": spec.cronSpec in body should match '${(CRONTAB.properties!
        .spec.properties!.cronSpec.pattern)}'`,
    ]],
    ["minimum and maximum", { cronSpec: "* * * * *", replicas: 0 }, [
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    ]],
    ["maximum", { cronSpec: "* * * * *", replicas: 11 }, [
      "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
    ]],
    ["an enum", { cronSpec: "* * * * *", mode: "c" }, [
      'spec.mode: Unsupported value: "c": supported values: "a", "b"',
    ]],
    ["minLength", { cronSpec: "* * * * *", image: "x" }, [
      'spec.image: Invalid value: "x": spec.image in body should be at least 2 chars long',
    ]],
    ["maxLength", { cronSpec: "* * * * *", image: "toolong" }, [
      "spec.image: Too long: may not be more than 5 bytes",
    ]],
    ["minItems", { cronSpec: "* * * * *", ports: [] }, [
      "spec.ports: Invalid value: 0: spec.ports in body should have at least 1 items",
    ]],
    ["maxItems", { cronSpec: "* * * * *", ports: [1, 2, 3] }, [
      "spec.ports: Too many: 3: must have at most 2 items",
    ]],
    ["item types", { cronSpec: "* * * * *", ports: ["a"] }, [
      'spec.ports[0]: Invalid value: "string": spec.ports[0] in body must be of type integer: "string"',
    ]],
    ["int-or-string takes both", { cronSpec: "* * * * *", port: "http" }, []],
    ["int-or-string refuses others", { cronSpec: "* * * * *", port: true }, [
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]],
    ["a format", { cronSpec: "* * * * *", when: "yesterday" }, [
      'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
    ]],
    ["a valid format", { cronSpec: "* * * * *", when: "2024-01-02T03:04:05Z" }, []],
    ["nullable", { cronSpec: "* * * * *", note: null }, []],
    ["null where not nullable", { cronSpec: "* * * * *", image: null }, [
      'spec.image: Invalid value: "null": spec.image in body must be of type string: "null"',
    ]],
    ["additionalProperties", { cronSpec: "* * * * *", labels: { a: 1 } }, [
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    ]],
    ["an embedded resource needs apiVersion and kind", { cronSpec: "* * * * *", template: {} }, [
      "spec.template.apiVersion: Required value",
      "spec.template.kind: Required value",
    ]],
  ];
  for (const [what, spec, want] of cases) {
    assert.deepEqual(errorsOf({ spec }), want, what);
  }
});

Deno.test("prune() drops undeclared fields, keeping preserved and embedded ones", () => {
  const obj = {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "x" },
    extra: 1,
    spec: {
      cronSpec: "* * * * *",
      bogus: true,
      free: { anything: { goes: 1 } },
      labels: { a: "b" },
      template: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { a: "x", b: "y" },
      },
    },
  };
  const pruned = prune(obj, CRONTAB);
  assert.deepEqual(pruned.sort(), ["extra", "spec.bogus", "spec.template.spec.b"]);
  assert.deepEqual(obj, {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "x" },
    spec: {
      cronSpec: "* * * * *",
      free: { anything: { goes: 1 } },
      labels: { a: "b" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { a: "x" } },
    },
  });
});

Deno.test("applyDefaults() fills absent fields top-down and leaves set ones", () => {
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ cronSpec: "c" }, { cronSpec: "c", replicas: 1, nested: { depth: 3 } }],
    [{ cronSpec: "c", replicas: 4, nested: { depth: 1 } }, {
      cronSpec: "c",
      replicas: 4,
      nested: { depth: 1 },
    }],
    [{ cronSpec: "c", replicas: null }, { cronSpec: "c", replicas: 1, nested: { depth: 3 } }],
  ];
  for (const [spec, want] of cases) {
    const obj = { spec: structuredClone(spec) };
    applyDefaults(obj, CRONTAB);
    assert.deepEqual(obj.spec, want);
  }
});

Deno.test("structuralErrors() refuses schemas that are not structural", () => {
  const path = "spec.versions[0].schema.openAPIV3Schema";
  const cases: [string, unknown, string[]][] = [
    ["the CronTab schema", CRONTAB, []],
    ["a field without a type", { type: "object", properties: { spec: {} } }, [
      `${path}.properties[spec].type: Required value: must not be empty for specified object fields`,
    ]],
    ["a root that is not an object", { type: "string" }, [
      `${path}.type: Invalid value: "string": must be object at the root`,
    ]],
    ["an array without items", { type: "object", properties: { a: { type: "array" } } }, [
      `${path}.properties[a].items: Required value: must be specified`,
    ]],
    ["properties with additionalProperties", {
      type: "object",
      properties: { a: { type: "string" } },
      additionalProperties: { type: "string" },
    }, [
      `${path}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    ]],
    ["int-or-string with a type", {
      type: "object",
      properties: { a: { type: "string", "x-kubernetes-int-or-string": true } },
    }, [
      `${path}.properties[a].type: Forbidden: must be empty if x-kubernetes-int-or-string is true`,
    ]],
    ["metadata beyond name", {
      type: "object",
      properties: { metadata: { type: "object", properties: { labels: { type: "object" } } } },
    }, [
      `${path}.properties[metadata].properties[labels]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ]],
    ["a default that does not validate", {
      type: "object",
      properties: { a: { type: "integer", default: "x" } },
    }, [
      `${path}.properties[a].default: Invalid value: "string": ${path}.properties[a].default in body must be of type integer: "string"`,
    ]],
    ["a bad pattern", { type: "object", properties: { a: { type: "string", pattern: "(" } } }, [
      `${path}.properties[a].pattern: Invalid value: "(": must be a valid regular expression`,
    ]],
  ];
  for (const [what, schema, want] of cases) {
    assert.deepEqual(
      structuralErrors(schema, path).causes.map((c) => `${c.field}: ${c.message}`),
      want,
      what,
    );
  }
});
