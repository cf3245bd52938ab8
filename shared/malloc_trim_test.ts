import { assert, assertEquals } from "./_assert_test_util.ts";
import { startMallocTrimmer, trimMallocNow } from "./malloc_trim.ts";

Deno.test("trimMallocNow works on glibc (this machine is Debian)", () => {
  assertEquals(trimMallocNow(), true);
});

Deno.test("startMallocTrimmer trims on its interval and stops on abort", async () => {
  const ac = new AbortController();
  assert(startMallocTrimmer(ac.signal, { intervalMs: 10 }));
  await new Promise((r) => setTimeout(r, 50));
  ac.abort();
});
