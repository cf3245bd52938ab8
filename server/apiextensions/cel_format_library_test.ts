import assert from "node:assert/strict";
import { validationRuleEnvironment } from "./cel_library.ts";

const env = validationRuleEnvironment();
const run = (e: string, self: unknown = null) => env.evaluate(e, { self, oldSelf: null });

Deno.test("format.<name>().validate() is none for a valid string and the problems otherwise", () => {
  assert.equal(run(`format.dns1123Label().validate("my-name").hasValue()`), false);
  assert.deepEqual(run(`format.dns1123Label().validate("My_Name").value()`), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " +
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex " +
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.equal(run(`format.dns1123Label().validate("${"a".repeat(64)}").value().size()`), 1n);
  assert.equal(run(`format.dns1123Subdomain().validate("apiextensions.k8s.io").hasValue()`), false);
  assert.equal(run(`format.dns1035Label().validate("1abc").hasValue()`), true);
  assert.equal(run(`format.qualifiedName().validate("example.com/MyName").hasValue()`), false);
  assert.equal(run(`format.qualifiedName().validate("a/b/c").hasValue()`), true);
  assert.equal(run(`format.labelValue().validate("").hasValue()`), false);
  assert.equal(run(`format.labelValue().validate("-x").hasValue()`), true);
});

Deno.test("the prefix formats accept a generateName's trailing dash", () => {
  assert.equal(run(`format.dns1123LabelPrefix().validate("my-prefix-").hasValue()`), false);
  assert.equal(run(`format.dns1123Label().validate("my-prefix-").hasValue()`), true);
  assert.equal(run(`format.dns1123SubdomainPrefix().validate("sub.prefix-").hasValue()`), false);
  assert.equal(run(`format.dns1035LabelPrefix().validate("x-").hasValue()`), false);
});

Deno.test("the OpenAPI formats: uri, uuid, byte, date, datetime", () => {
  const bad = (f: string, s: string) => run(`format.${f}().validate("${s}").value()`);
  const ok = (f: string, s: string) => !run(`format.${f}().validate("${s}").hasValue()`);
  assert.ok(ok("uri", "http://example.com/a?b=c"));
  assert.ok(ok("uri", "/just/a/path"));
  assert.deepEqual(bad("uri", "example.com"), ['parse "example.com": invalid URI for request']);
  assert.ok(ok("uuid", "123e4567-e89b-12d3-a456-426614174000"));
  assert.deepEqual(bad("uuid", "123e4567"), ["does not match the UUID format"]);
  assert.ok(ok("byte", "aGVsbG8="));
  assert.deepEqual(bad("byte", "aGVsbG8"), ["invalid base64"]);
  assert.ok(ok("date", "2024-02-29"));
  assert.deepEqual(bad("date", "2023-02-29"), ["invalid date"]);
  assert.ok(ok("datetime", "2021-01-01T00:00:00Z"));
  assert.ok(ok("datetime", "2021-01-01T10:20:30.5+02:00"));
  assert.deepEqual(bad("datetime", "2021-01-01T25:00:00Z"), ["invalid datetime"]);
  assert.deepEqual(bad("datetime", "2021-01-01"), ["invalid datetime"]);
});

Deno.test("format.named() is the optional format of that name; rules read self through it", () => {
  assert.equal(run(`format.named("uuid").hasValue()`), true);
  assert.equal(run(`format.named("nope").hasValue()`), false);
  assert.equal(run(`format.named("toString").hasValue()`), false);
  assert.equal(run(`format.named("dns1123Label").value().validate(self).hasValue()`, "ok"), false);
  assert.equal(
    run(`format.dns1123Label().validate(self.name).value().join("\\n")`, { name: "Bad_" }).length >
      0,
    true,
  );
});
