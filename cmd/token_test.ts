import { assertEquals } from "../shared/_assert_test_util.ts";
import { UsageError } from "../shared/cli_flags.ts";
import { parseDuration } from "./token.ts";

Deno.test("parseDuration() reads s/m/h/d terms and 0 = never", () => {
  assertEquals(parseDuration("0", "--ttl"), 0);
  assertEquals(parseDuration("90s", "--ttl"), 90);
  assertEquals(parseDuration("1h30m", "--ttl"), 5400);
  assertEquals(parseDuration("7d", "--ttl"), 604_800);
  for (const bad of ["", "5", "1x", "h", "-1h", "0h"]) {
    let err: unknown;
    try {
      parseDuration(bad, "--ttl");
    } catch (e) {
      err = e;
    }
    assertEquals(err instanceof UsageError, true, bad);
  }
});
