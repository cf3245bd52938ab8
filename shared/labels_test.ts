import assert from "node:assert/strict";
import { BadRequestError } from "./errors.ts";
import {
  isValidLabelKey,
  isValidLabelValue,
  labelKeyErrors,
  parseSelector,
  Selector,
  selectorFromLabelSelector,
  selectorFromSet,
} from "./labels.ts";

Deno.test("parseSelector() handles equality, inequality and double equals", () => {
  const s = parseSelector("app=web,tier==front,env!=prod");
  assert.equal(s.matches({ app: "web", tier: "front", env: "dev" }), true);
  assert.equal(s.matches({ app: "web", tier: "front" }), true, "!= matches a missing key");
  assert.equal(s.matches({ app: "web", tier: "front", env: "prod" }), false);
  assert.equal(s.matches({ app: "db", tier: "front" }), false);
  assert.equal(s.matches(undefined), false);
});

Deno.test("parseSelector() handles in, notin, exists and !exists with whitespace", () => {
  const s = parseSelector(" tier in ( a , b ) , env notin (prod), canary ,!legacy ");
  assert.equal(s.matches({ tier: "a", canary: "" }), true);
  assert.equal(s.matches({ tier: "b", canary: "x", env: "dev" }), true);
  assert.equal(s.matches({ tier: "c", canary: "x" }), false);
  assert.equal(s.matches({ tier: "a", canary: "x", env: "prod" }), false);
  assert.equal(s.matches({ tier: "a" }), false, "canary must exist");
  assert.equal(s.matches({ tier: "a", canary: "x", legacy: "1" }), false);
});

Deno.test("parseSelector() accepts prefixed keys, empty values and keywords as values", () => {
  assert.equal(parseSelector("example.com/app=web").matches({ "example.com/app": "web" }), true);
  assert.equal(parseSelector("a=").matches({ a: "" }), true);
  assert.equal(parseSelector("a=").matches({ a: "x" }), false);
  assert.equal(parseSelector("a=in").matches({ a: "in" }), true);
  assert.equal(parseSelector("a>3").matches({ a: "4" }), true);
  assert.equal(parseSelector("a<3").matches({ a: "4" }), false);
});

Deno.test("parseSelector() of an empty string selects everything", () => {
  const s = parseSelector("");
  assert.equal(s.empty, true);
  assert.equal(s.matches({}), true);
  assert.equal(s.matches(undefined), true);
  assert.equal(parseSelector("   ").empty, true);
});

Deno.test("parseSelector() rejects bad syntax with BadRequestError", () => {
  for (
    const bad of [
      "a in",
      "a in x",
      "a in (x",
      "a in ()",
      "a,",
      ",a",
      "!",
      "a b",
      "a=b=c",
      "-a=b",
      "a=b c",
      "a notin",
      "(a)",
      "a=-bad",
      "a>x",
    ]
  ) {
    assert.throws(() => parseSelector(bad), BadRequestError, bad);
  }
  assert.throws(
    () => parseSelector("-ltier=x"),
    (e: Error) => e.message.startsWith('unable to parse requirement: invalid label key "-ltier"'),
  );
  assert.throws(
    () => parseSelector("app in (web"),
    { message: "unable to parse requirement: found '', expected: ',' or ')'" },
  );
  // `a==` is the empty value, valid as in Kubernetes.
  assert.equal(parseSelector("a==").matches({ a: "" }), true);
});

Deno.test("Selector.toString() is canonical: sorted by key, values sorted", () => {
  assert.equal(
    parseSelector("z in (b,a),app=web,!x,y,c!=d,e notin (q)").toString(),
    "app=web,c!=d,e notin (q),!x,y,z in (a,b)",
  );
  assert.equal(parseSelector("a==b").toString(), "a==b");
});

Deno.test("selectorFromLabelSelector(): nil matches nothing, {} matches everything", () => {
  assert.equal(selectorFromLabelSelector(null).matches({ a: "b" }), false);
  assert.equal(selectorFromLabelSelector(undefined).matches({}), false);
  assert.equal(selectorFromLabelSelector(undefined).empty, false);
  assert.equal(selectorFromLabelSelector({}).matches({ a: "b" }), true);
  assert.equal(selectorFromLabelSelector({}).empty, true);
});

Deno.test("selectorFromLabelSelector() combines matchLabels and matchExpressions", () => {
  const s = selectorFromLabelSelector({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["front", "back"] },
      { key: "env", operator: "NotIn", values: ["prod"] },
      { key: "team", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  });
  assert.equal(s.toString(), "app=web,env notin (prod),!legacy,team,tier in (back,front)");
  assert.equal(s.matches({ app: "web", tier: "front", team: "x" }), true);
  assert.equal(s.matches({ app: "web", tier: "front", team: "x", env: "prod" }), false);
  assert.equal(s.matches({ app: "web", tier: "front" }), false);
  assert.equal(s.matches({ app: "web", tier: "side", team: "x" }), false);
  assert.throws(
    () =>
      selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }),
    BadRequestError,
  );
  assert.throws(
    () => selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "Foo" }] }),
    BadRequestError,
  );
});

Deno.test("selectorFromSet() and Scale-style text", () => {
  const s = selectorFromSet({ app: "my-nginx", "pod-template-hash": "abc" });
  assert.equal(s.toString(), "app=my-nginx,pod-template-hash=abc");
  assert.equal(s.requiresExactMatch("app"), "my-nginx");
  assert.equal(selectorFromSet({}).empty, true);
  assert.equal(Selector.nothing().toString(), "");
});

Deno.test("label key and value validity", () => {
  assert.equal(isValidLabelKey("app"), true);
  assert.equal(isValidLabelKey("node-role.kubernetes.io/control-plane"), true);
  assert.equal(isValidLabelKey("Example.com/app"), false);
  assert.equal(isValidLabelKey("a/b/c"), false);
  assert.equal(isValidLabelKey("x".repeat(64)), false);
  assert.equal(isValidLabelKey(""), false);
  assert.equal(isValidLabelValue(""), true);
  assert.equal(isValidLabelValue("v1.2_3-x"), true);
  assert.equal(isValidLabelValue("-x"), false);
  assert.equal(isValidLabelValue("a b"), false);
});

Deno.test("labelKeyErrors() says what IsQualifiedName says, every problem of the key", () => {
  const pattern = "name part must consist of alphanumeric characters, '-', '_' or '.', and must " +
    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " +
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  assert.deepEqual(labelKeyErrors("app"), []);
  assert.deepEqual(labelKeyErrors("example.com/app"), []);
  assert.deepEqual(labelKeyErrors(""), ["name part must be non-empty", pattern]);
  assert.deepEqual(labelKeyErrors(`${"a".repeat(63)}-`), [
    "name part must be no more than 63 characters",
    pattern,
  ]);
  assert.deepEqual(labelKeyErrors("Example.com/app"), [
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " +
    "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. " +
    "'example.com', regex used for validation is " +
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.deepEqual(labelKeyErrors("/app"), ["prefix part must be non-empty"]);
});
