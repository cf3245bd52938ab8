import assert from "node:assert/strict";
import { rfc3339, rfc3339Micro } from "./time.ts";

Deno.test("rfc3339() drops the fraction; rfc3339Micro() keeps six digits", () => {
  const at = Date.parse("2026-01-02T03:04:05.678Z");
  assert.equal(rfc3339(at), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339(new Date(at)), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339Micro(at), "2026-01-02T03:04:05.678000Z");
});

Deno.test("rfc3339() formats each second anew (the one-second cache never serves a stale one)", () => {
  const at = Date.parse("2026-01-02T03:04:05.999Z");
  assert.equal(rfc3339(at), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339(at + 1), "2026-01-02T03:04:06Z");
  assert.equal(rfc3339(at - 999), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339(at - 1000), "2026-01-02T03:04:04Z");
  assert.equal(rfc3339(-1), "1969-12-31T23:59:59Z");
  assert.throws(() => rfc3339(NaN), RangeError);
});
