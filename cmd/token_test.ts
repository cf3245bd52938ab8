import assert from "node:assert/strict";
import { UsageError } from "../shared/cli_flags.ts";
import { parseDuration } from "./token.ts";

Deno.test("parseDuration() reads s/m/h/d terms and 0 = never", () => {
  assert.equal(parseDuration("0", "--ttl"), 0);
  assert.equal(parseDuration("90s", "--ttl"), 90);
  assert.equal(parseDuration("1h30m", "--ttl"), 5400);
  assert.equal(parseDuration("7d", "--ttl"), 604_800);
  for (const bad of ["", "5", "1x", "h", "-1h", "0h"]) {
    let err: unknown;
    try {
      parseDuration(bad, "--ttl");
    } catch (e) {
      err = e;
    }
    assert.equal(err instanceof UsageError, true, bad);
  }
});
