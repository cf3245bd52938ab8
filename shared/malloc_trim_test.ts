import assert from "node:assert/strict";
import { startMallocTrimmer, trimMallocNow } from "./malloc_trim.ts";

Deno.test("trimMallocNow works on glibc (this machine is Debian)", () => {
  assert.equal(trimMallocNow(), true);
});

Deno.test("startMallocTrimmer trims on its interval and stops on abort", async () => {
  const ac = new AbortController();
  assert.ok(startMallocTrimmer(ac.signal, { intervalMs: 10 }));
  await new Promise((r) => setTimeout(r, 50));
  ac.abort();
});
