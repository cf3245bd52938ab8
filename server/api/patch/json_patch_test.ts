import assert from "node:assert/strict";
import { ApiError, BadRequestError } from "../../../shared/errors.ts";
import { applyJsonPatch } from "./json_patch.ts";

const is422 = (e: unknown) => e instanceof ApiError && e.code === 422;

Deno.test("applyJsonPatch() add: object member, array insert, append with -", () => {
  const doc = { foo: ["bar", "baz"], obj: {} };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: "add", path: "/foo/1", value: "qux" },
      { op: "add", path: "/foo/-", value: "end" },
      { op: "add", path: "/obj/k", value: { x: 1 } },
    ]),
    { foo: ["bar", "qux", "baz", "end"], obj: { k: { x: 1 } } },
  );
  assert.deepEqual(doc, { foo: ["bar", "baz"], obj: {} }, "input untouched");
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "add", path: "", value: [1] }]), [1]);
});

Deno.test("applyJsonPatch() remove and replace", () => {
  assert.deepEqual(
    applyJsonPatch({ a: 1, b: [1, 2, 3] }, [
      { op: "remove", path: "/a" },
      { op: "remove", path: "/b/0" },
      { op: "replace", path: "/b/1", value: 9 },
    ]),
    { b: [2, 9] },
  );
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: "remove", path: "/nope" }]), is422);
  assert.throws(
    () => applyJsonPatch({ a: 1 }, [{ op: "replace", path: "/nope", value: 1 }]),
    is422,
  );
  assert.throws(
    () => applyJsonPatch({ a: [1] }, [{ op: "replace", path: "/a/5", value: 1 }]),
    is422,
  );
  assert.throws(() => applyJsonPatch({ a: [1] }, [{ op: "add", path: "/a/01", value: 1 }]), is422);
  assert.throws(() => applyJsonPatch({}, [{ op: "add", path: "/x/y", value: 1 }]), is422);
});

Deno.test("applyJsonPatch() move and copy", () => {
  assert.deepEqual(
    applyJsonPatch({ a: { b: 1 }, c: [1, 2] }, [
      { op: "move", from: "/a/b", path: "/d" },
      { op: "copy", from: "/c", path: "/e" },
      { op: "move", from: "/c/0", path: "/c/-" },
    ]),
    { a: {}, d: 1, c: [2, 1], e: [1, 2] },
  );
  assert.throws(
    () => applyJsonPatch({ a: { b: {} } }, [{ op: "move", from: "/a", path: "/a/b/c" }]),
    is422,
  );
});

Deno.test("applyJsonPatch() decodes ~0 and ~1 in pointers (annotation keys with /)", () => {
  const pod = { metadata: { annotations: { "example.com/x~y": "1" } } };
  assert.deepEqual(
    applyJsonPatch(pod, [
      { op: "test", path: "/metadata/annotations/example.com~1x~0y", value: "1" },
      { op: "replace", path: "/metadata/annotations/example.com~1x~0y", value: "2" },
    ]),
    { metadata: { annotations: { "example.com/x~y": "2" } } },
  );
});

Deno.test("applyJsonPatch() test op: pass lets the patch through, failure is 422", () => {
  const doc = { spec: { replicas: 2, list: [{ a: 1, b: 2 }] } };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: "test", path: "/spec/list/0", value: { b: 2, a: 1 } },
      { op: "replace", path: "/spec/replicas", value: 3 },
    ]),
    { spec: { replicas: 3, list: [{ a: 1, b: 2 }] } },
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: "test", path: "/spec/replicas", value: 3 }]),
    (e: unknown) =>
      is422(e) && (e as Error).message === "testing value /spec/replicas failed: test failed",
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: "test", path: "/spec/missing", value: 3 }]),
    is422,
  );
});

Deno.test("applyJsonPatch() rejects malformed patches with 400", () => {
  assert.throws(() => applyJsonPatch({}, { op: "add" }), BadRequestError);
  assert.throws(() => applyJsonPatch({}, [{ op: "frob", path: "/a" }]), BadRequestError);
  assert.throws(() => applyJsonPatch({}, [{ op: "add", path: "/a" }]), BadRequestError);
  assert.throws(() => applyJsonPatch({}, [{ op: "add", path: "a", value: 1 }]), BadRequestError);
  assert.throws(() => applyJsonPatch({}, [{ op: "move", path: "/a" }]), BadRequestError);
});

Deno.test("applyJsonPatch() stops a copy-doubling bomb after ~3 MiB of copies, in milliseconds", () => {
  const ops: unknown[] = [{ op: "add", path: "/data/seed", value: "y".repeat(1000) }];
  for (let i = 0; i < 40; i++) ops.push({ op: "copy", from: "/data", path: `/data/c${i}` });
  const start = performance.now();
  assert.throws(
    () => applyJsonPatch({ data: {} }, ops),
    (e) => is422(e) && /accumulated size increase of copy/.test((e as Error).message),
  );
  const ms = performance.now() - start;
  assert.ok(ms < 500, `took ${ms} ms`);
  // Copies below the limit still work.
  const small = applyJsonPatch({ a: { b: 1 } }, [{ op: "copy", from: "/a", path: "/c" }]);
  assert.deepEqual(small, { a: { b: 1 }, c: { b: 1 } });
});

Deno.test("applyJsonPatch() refuses more than 10,000 operations (413) and __proto__ tokens (400)", () => {
  const ops = Array.from({ length: 10_001 }, () => ({ op: "test", path: "/a", value: 1 }));
  assert.throws(
    () => applyJsonPatch({ a: 1 }, ops),
    (e) => e instanceof ApiError && e.code === 413,
  );
  assert.throws(
    () => applyJsonPatch({}, [{ op: "add", path: "/__proto__/polluted", value: 1 }]),
    BadRequestError,
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
