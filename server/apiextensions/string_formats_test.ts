import assert from "node:assert/strict";
import { isBase64, isDate, isDateTime, isUUID } from "./string_formats.ts";

Deno.test("string formats check as kube-openapi's strfmt: dates that exist, UUIDs with or without dashes", () => {
  assert.ok(isDateTime("2024-01-02T03:04:05Z"));
  assert.ok(isDateTime("2024-02-29 23:59:59.5+01:00"));
  assert.ok(!isDateTime("2026-02-30T10:00:00Z"));
  assert.ok(!isDateTime("2026-01-01T24:00:00Z"));
  assert.ok(!isDateTime("yesterday"));
  assert.ok(isDate("2024-02-29"));
  assert.ok(!isDate("2026-02-29"));
  assert.ok(!isDate("2026-04-31"));
  assert.ok(isUUID("123e4567-e89b-12d3-a456-426614174000"));
  assert.ok(isUUID("123E4567E89B12D3A456426614174000"));
  assert.ok(!isUUID("123e4567-e89b-12d3-a456"));
  assert.ok(isBase64("aGVsbG8="));
  assert.ok(!isBase64("aGVsbG8"));
});
