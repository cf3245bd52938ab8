import assert from "node:assert/strict";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import type { JSONSchemaProps } from "./schema.ts";
import {
  checkValidationRules,
  escapePropertyName,
  validationRuleErrors,
} from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function schemaWith(spec: JSONSchemaProps): JSONSchemaProps {
  return { type: "object", properties: { spec } };
}

function run(schema: JSONSchemaProps, obj: Obj, old?: Obj): string[] {
  const errs = new FieldErrors();
  checkValidationRules(obj, old, schema, errs);
  return errs.causes.map((c) => `${c.field}: ${c.message}`);
}

// The documentation's CronTab example of validation rules.
const CRONTAB = schemaWith({
  type: "object",
  "x-kubernetes-validations": [
    { rule: "self.minReplicas <= self.replicas", message: "replicas should be >= minReplicas" },
    { rule: "self.replicas <= self.maxReplicas", message: "replicas should be <= maxReplicas" },
  ],
  properties: {
    cronSpec: { type: "string" },
    replicas: { type: "integer" },
    minReplicas: { type: "integer" },
    maxReplicas: { type: "integer" },
  },
});

Deno.test("rules run with self bound to their place; failures name the place and the message", () => {
  const ok = { spec: { replicas: 3, minReplicas: 1, maxReplicas: 5 } };
  assert.deepEqual(run(CRONTAB, ok), []);
  const bad = { spec: { replicas: 10, minReplicas: 1, maxReplicas: 5 } };
  assert.deepEqual(run(CRONTAB, bad), [
    `spec: Invalid value: "object": replicas should be <= maxReplicas`,
  ]);
});

Deno.test("integers are CEL ints (int arithmetic type-checks), numbers doubles", () => {
  const schema = schemaWith({
    type: "object",
    properties: { n: { type: "integer" }, x: { type: "number" } },
    "x-kubernetes-validations": [{ rule: "self.n + 1 == 4" }, { rule: "self.x > 0.5" }],
  });
  assert.deepEqual(run(schema, { spec: { n: 3, x: 0.75 } }), []);
  assert.deepEqual(run(schema, { spec: { n: 2, x: 0.25 } }), [
    `spec: Invalid value: "object": failed rule: self.n + 1 == 4`,
    `spec: Invalid value: "object": failed rule: self.x > 0.5`,
  ]);
});

Deno.test("rules on list items and map values run per element with indexed paths", () => {
  const schema = schemaWith({
    type: "object",
    properties: {
      ports: {
        type: "array",
        items: {
          type: "object",
          properties: { port: { type: "integer" } },
          "x-kubernetes-validations": [{ rule: "self.port < 1024", message: "privileged only" }],
        },
      },
      labels: {
        type: "object",
        additionalProperties: {
          type: "string",
          "x-kubernetes-validations": [{ rule: "self.size() <= 3" }],
        },
      },
    },
  });
  assert.deepEqual(
    run(schema, {
      spec: { ports: [{ port: 80 }, { port: 8080 }], labels: { a: "ok", b: "long" } },
    }),
    [
      `spec.ports[1]: Invalid value: "object": privileged only`,
      `spec.labels.b: Invalid value: "string": failed rule: self.size() <= 3`,
    ],
  );
});

Deno.test("has(), optional chaining and escaped property names", () => {
  const schema = schemaWith({
    type: "object",
    properties: { "max-size": { type: "integer" }, namespace: { type: "string" } },
    "x-kubernetes-validations": [
      { rule: "!has(self.__namespace__) || self.__namespace__ != 'kube-system'" },
      { rule: "self.?max__dash__size.orValue(0) < 10" },
    ],
  });
  assert.deepEqual(run(schema, { spec: {} }), []);
  assert.deepEqual(run(schema, { spec: { namespace: "kube-system", "max-size": 20 } }).length, 2);
  assert.equal(escapePropertyName("a.b/c-d__e"), "a__dot__b__slash__c__dash__d__underscores__e");
  assert.equal(escapePropertyName("in"), "__in__");
  assert.equal(escapePropertyName("a b"), undefined);
});

Deno.test("reason, fieldPath and messageExpression shape the error", () => {
  const schema = schemaWith({
    type: "object",
    properties: { replicas: { type: "integer" }, mode: { type: "string" } },
    "x-kubernetes-validations": [
      {
        rule: "self.replicas <= 5",
        messageExpression: "'replicas ' + string(self.replicas) + ' is over 5'",
        fieldPath: ".replicas",
      },
      {
        rule: "!has(self.mode) || self.mode != 'legacy'",
        reason: "FieldValueForbidden",
        message: "no legacy",
      },
      { rule: "has(self.mode)", reason: "FieldValueRequired", message: "mode is needed" },
    ],
  });
  assert.deepEqual(run(schema, { spec: { replicas: 7, mode: "legacy" } }), [
    `spec.replicas: Invalid value: "object": replicas 7 is over 5`,
    `spec: Forbidden: no legacy`,
  ]);
  assert.deepEqual(run(schema, { spec: { replicas: 1 } }), [
    `spec: Required value: mode is needed`,
  ]);
});

Deno.test("evaluation errors say what failed and in which rule", () => {
  const schema = schemaWith({
    type: "object",
    properties: { a: { type: "string" } },
    "x-kubernetes-validations": [{ rule: "self.a == 'x'" }],
  });
  const errs = run(schema, { spec: {} });
  assert.equal(errs.length, 1);
  assert.match(errs[0], /^spec: Invalid value: "object": .*evaluating rule: self\.a == 'x'$/);
});

Deno.test("transition rules need an old value; unchanged values are not re-checked (ratcheting)", () => {
  const schema = schemaWith({
    type: "object",
    properties: { name: { type: "string" }, size: { type: "integer" } },
    "x-kubernetes-validations": [
      { rule: "self.name == oldSelf.name", message: "name is immutable" },
      { rule: "self.size < 10" },
    ],
  });
  // Create: the transition rule does not run; the other does.
  assert.deepEqual(run(schema, { spec: { name: "a", size: 1 } }), []);
  assert.equal(run(schema, { spec: { name: "a", size: 50 } }).length, 1);
  // Update changing the name: refused.
  assert.deepEqual(
    run(schema, { spec: { name: "b", size: 1 } }, { spec: { name: "a", size: 1 } }),
    [
      `spec: Invalid value: "object": name is immutable`,
    ],
  );
  // A value already invalid and left unchanged by the update is not refused again.
  const old = { spec: { name: "a", size: 50 } };
  assert.deepEqual(run(schema, { spec: { name: "a", size: 50 } }, old), []);
});

Deno.test("optionalOldSelf makes oldSelf an optional that is empty on create", () => {
  const schema = schemaWith({
    type: "object",
    properties: { v: { type: "integer" } },
    "x-kubernetes-validations": [{
      rule: "!oldSelf.hasValue() || self.v >= oldSelf.value().v",
      message: "v may only grow",
      optionalOldSelf: true,
    }],
  });
  assert.deepEqual(run(schema, { spec: { v: 1 } }), []);
  assert.deepEqual(run(schema, { spec: { v: 0 } }, { spec: { v: 1 } }), [
    `spec: Invalid value: "object": v may only grow`,
  ]);
});

Deno.test("list-type map items find their old selves by key", () => {
  const schema = schemaWith({
    type: "object",
    properties: {
      items: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: {
          type: "object",
          properties: { name: { type: "string" }, v: { type: "string" } },
          "x-kubernetes-validations": [{ rule: "self.v == oldSelf.v", message: "immutable" }],
        },
      },
    },
  });
  const old = { spec: { items: [{ name: "a", v: "1" }, { name: "b", v: "2" }] } };
  // Reordered and a new item: nothing changed per key.
  const reordered = {
    spec: { items: [{ name: "b", v: "2" }, { name: "c", v: "9" }, old.spec.items[0]] },
  };
  assert.deepEqual(run(schema, reordered, old), []);
  const changed = { spec: { items: [{ name: "b", v: "3" }] } };
  assert.deepEqual(run(schema, changed, old), [
    `spec.items[0]: Invalid value: "object": immutable`,
  ]);
});

Deno.test("rules at the root see apiVersion, kind and metadata.name only", () => {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: { spec: { type: "object", properties: { x: { type: "string" } } } },
    "x-kubernetes-validations": [
      { rule: "self.metadata.name.startsWith('app-')" },
      { rule: "!has(self.metadata.labels)" },
      { rule: "self.kind == 'Thing'" },
    ],
  };
  const obj = {
    apiVersion: "x/v1",
    kind: "Thing",
    metadata: { name: "app-1", labels: { a: "b" } },
  };
  assert.deepEqual(run(schema, obj), []);
  assert.equal(run(schema, { ...obj, metadata: { name: "db" } }).length, 1);
});

Deno.test("Kubernetes CEL libraries: lists, strings, regex, URLs, quantities, timestamps", () => {
  const schema = schemaWith({
    type: "object",
    properties: {
      nums: { type: "array", items: { type: "integer" } },
      url: { type: "string" },
      mem: { type: "string" },
      at: { type: "string", format: "date-time" },
      s: { type: "string" },
    },
    "x-kubernetes-validations": [
      { rule: "self.nums.isSorted() && self.nums.sum() == 6 && self.nums.max() == 3" },
      { rule: "isURL(self.url) && url(self.url).getScheme() == 'https'" },
      { rule: "isQuantity(self.mem) && quantity(self.mem).isLessThan(quantity('1Gi'))" },
      { rule: "self.at < timestamp('2030-01-01T00:00:00Z')" },
      { rule: "self.s.find('[0-9]+') == '42' && self.s.replace('-', '_') == 'v_42'" },
    ],
  });
  const ok = {
    spec: {
      nums: [1, 2, 3],
      url: "https://example.com/x",
      mem: "512Mi",
      at: "2026-12-05T10:00:00Z",
      s: "v-42",
    },
  };
  assert.deepEqual(run(schema, ok), []);
  const bad = {
    spec: { nums: [3, 2, 1], url: "ftp://x", mem: "2Gi", at: "2031-01-01T00:00:00Z", s: "v-7" },
  };
  assert.equal(run(schema, bad).length, 5);
});

Deno.test("a CRD's rules must compile, yield a bool and name real fields", () => {
  const errs = validationRuleErrors(
    schemaWith({
      type: "object",
      properties: { a: { type: "string" } },
      "x-kubernetes-validations": [
        { rule: "self.a ==" },
        { rule: "self.a.noSuchFunction()" },
        { rule: "1 + 2" },
        { rule: "self.a == 'x'", fieldPath: ".b" },
        { rule: "self.a == 'x'", reason: "Whatever" },
        { rule: "self.a == 'x'", optionalOldSelf: true },
        { rule: "self.a == 'x'", messageExpression: "1" },
        { rule: "self.a == 'x'", fieldPath: ".a", message: "fine" },
      ],
    }),
    "spec.versions[0].schema.openAPIV3Schema",
  );
  const base = "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations";
  assert.deepEqual(errs.causes.map((c) => c.field), [
    `${base}[0].rule`,
    `${base}[1].rule`,
    `${base}[2].rule`,
    `${base}[3].fieldPath`,
    `${base}[4].reason`,
    `${base}[5].optionalOldSelf`,
    `${base}[6].messageExpression`,
  ]);
  assert.match(errs.causes[0].message, /compilation failed/);
  assert.match(errs.causes[2].message, /must evaluate to a bool/);
});
