import assert from "node:assert/strict";
import { rfc3339, rfc3339Micro } from "./time.ts";

Deno.test("rfc3339() drops the fraction; rfc3339Micro() keeps six digits", () => {
  const at = Date.parse("2026-01-02T03:04:05.678Z");
  assert.equal(rfc3339(at), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339(new Date(at)), "2026-01-02T03:04:05Z");
  assert.equal(rfc3339Micro(at), "2026-01-02T03:04:05.678000Z");
});
