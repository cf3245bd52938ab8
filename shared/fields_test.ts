import assert from "node:assert/strict";
import { BadRequestError } from "./errors.ts";
import { fieldSelectorFromSet, parseFieldSelector, supportedFields } from "./fields.ts";

const pod = {
  metadata: { name: "web-1", namespace: "default" },
  spec: { nodeName: "n1", schedulerName: "default-scheduler" },
  status: { phase: "Running", podIPs: [{ ip: "10.0.0.5" }] },
};

Deno.test("parseFieldSelector() matches =, == and != by dotted path", () => {
  assert.equal(parseFieldSelector("metadata.name=web-1").matches(pod), true);
  assert.equal(parseFieldSelector("metadata.name==web-2").matches(pod), false);
  assert.equal(parseFieldSelector("spec.nodeName=n1,status.phase!=Failed").matches(pod), true);
  assert.equal(parseFieldSelector("spec.nodeName=n1,status.phase!=Running").matches(pod), false);
  assert.equal(parseFieldSelector("status.podIPs=10.0.0.5").matches(pod), true);
});

Deno.test("absent fields read as empty, absent booleans as false", () => {
  const unscheduled = { metadata: { name: "p" }, spec: {} };
  assert.equal(parseFieldSelector("spec.nodeName=").matches(unscheduled), true);
  assert.equal(parseFieldSelector("spec.nodeName!=").matches(unscheduled), false);
  assert.equal(parseFieldSelector("spec.unschedulable=false").matches({ spec: {} }), true);
  assert.equal(
    parseFieldSelector("spec.unschedulable=true").matches({ spec: { unschedulable: true } }),
    true,
  );
});

Deno.test("event selectors as kubectl describe sends them, in any order", () => {
  const event = {
    metadata: { name: "e1", namespace: "default" },
    involvedObject: { kind: "Pod", name: "hello", namespace: "default", uid: "u-1" },
    reason: "Scheduled",
    type: "Normal",
    source: { component: "default-scheduler" },
  };
  const sel = parseFieldSelector(
    "involvedObject.namespace=default,involvedObject.uid=u-1,involvedObject.name=hello",
  );
  assert.equal(sel.matches(event), true);
  sel.validate(supportedFields("Event"));
  assert.equal(parseFieldSelector("source=default-scheduler,type=Normal").matches(event), true);
  assert.equal(parseFieldSelector("involvedObject.uid=u-2").matches(event), false);
});

Deno.test("valueFor() exposes exact-match terms for indexing", () => {
  const sel = parseFieldSelector("spec.nodeName=n1,status.phase!=Failed");
  assert.equal(sel.valueFor("spec.nodeName"), "n1");
  assert.equal(sel.valueFor("status.phase"), undefined);
  assert.deepEqual(sel.fields, ["spec.nodeName", "status.phase"]);
});

Deno.test("empty selector matches everything", () => {
  assert.equal(parseFieldSelector("").empty, true);
  assert.equal(parseFieldSelector("").matches({}), true);
});

Deno.test("escaped values round-trip", () => {
  const sel = parseFieldSelector("metadata.name=a\\,b\\=c");
  assert.equal(sel.valueFor("metadata.name"), "a,b=c");
  assert.equal(sel.toString(), "metadata.name=a\\,b\\=c");
  assert.equal(fieldSelectorFromSet({ "metadata.name": "x" }).toString(), "metadata.name=x");
});

Deno.test("bad syntax and unsupported fields are 400s with Kubernetes' wording", () => {
  assert.throws(() => parseFieldSelector("foo"), BadRequestError);
  assert.throws(
    () => parseFieldSelector("foo"),
    { message: "invalid selector: 'foo'; can't understand 'foo'" },
  );
  assert.throws(() => parseFieldSelector("=x"), BadRequestError);
  assert.throws(
    () => parseFieldSelector("foo=bar").validate(supportedFields("Pod")),
    { message: "field label not supported: foo" },
  );
  parseFieldSelector("metadata.name=x,metadata.namespace=y").validate(supportedFields("ConfigMap"));
  parseFieldSelector("spec.nodeName=x").validate(supportedFields("Pod"));
});
