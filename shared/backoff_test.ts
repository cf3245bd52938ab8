import assert from "node:assert/strict";
import { Backoff, delay } from "./backoff.ts";

Deno.test("Backoff grows by its factor with bounded jitter, stops at the cap and resets", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 });
  const bases = [100, 200, 400, 800, 1000, 1000];
  for (const base of bases) {
    const d = b.next();
    assert.ok(d >= base && d <= Math.min(base * 1.5, 1000), `delay ${d} for base ${base}`);
  }
  assert.equal(b.attempt, 6);
  b.reset();
  assert.equal(b.attempt, 0);
  const first = b.next();
  assert.ok(first >= 100 && first <= 150, `delay after reset ${first}`);
});

Deno.test("delay() resolves true after the time, false at once when aborted, leaving no timer", async () => {
  assert.equal(await delay(1), true);
  const ac = new AbortController();
  const waiting = delay(60_000, ac.signal);
  ac.abort();
  assert.equal(await waiting, false);
  assert.equal(await delay(60_000, ac.signal), false);
});
