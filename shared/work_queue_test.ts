import assert from "node:assert/strict";
import { WorkQueue } from "./work_queue.ts";

Deno.test("add() de-duplicates a key that is already queued", async () => {
  const q = new WorkQueue();
  q.add("default/a");
  q.add("default/b");
  q.add("default/a");
  assert.equal(q.len, 2);
  assert.equal(await q.get(), "default/a");
  assert.equal(await q.get(), "default/b");
  assert.equal(q.len, 0);
  q.shutDown();
});

Deno.test("a key re-added while processing is handed out again only after done()", async () => {
  const q = new WorkQueue();
  q.add("k");
  const first = await q.get();
  assert.equal(first, "k");
  q.add("k");
  q.add("k");
  // Not queued while in process: a second worker must not get it.
  assert.equal(q.len, 0);
  const ac = new AbortController();
  const second = q.get(ac.signal);
  let got: string | undefined = "pending";
  second.then((k) => got = k);
  await Promise.resolve();
  assert.equal(got, "pending");
  q.done("k");
  assert.equal(await second, "k");
  q.done("k");
  assert.equal(q.len, 0);
  q.shutDown();
});

Deno.test("two workers never process the same key at the same time", async () => {
  const q = new WorkQueue();
  const active = new Set<string>();
  let overlaps = 0;
  let processed = 0;
  const ac = new AbortController();
  const worker = async () => {
    while (true) {
      const key = await q.get(ac.signal);
      if (key === undefined) return;
      if (active.has(key)) overlaps++;
      active.add(key);
      await new Promise((r) => setTimeout(r, 1));
      active.delete(key);
      processed++;
      q.done(key);
    }
  };
  const workers = [worker(), worker(), worker()];
  for (let i = 0; i < 50; i++) {
    q.add(`k${i % 3}`);
    await new Promise((r) => setTimeout(r, 0));
  }
  while (q.len > 0 || active.size > 0) await new Promise((r) => setTimeout(r, 2));
  q.shutDown();
  await Promise.all(workers);
  assert.equal(overlaps, 0);
  assert.equal(processed > 3, true);
});

Deno.test("addRateLimited() back-off doubles per failure up to the max, forget() resets it", () => {
  const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 100 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => q.backoffFor(n)), [
    5,
    10,
    20,
    40,
    80,
    100,
    100,
  ]);
  q.addRateLimited("k");
  q.addRateLimited("k");
  q.addRateLimited("k");
  assert.equal(q.numRequeues("k"), 3);
  q.forget("k");
  assert.equal(q.numRequeues("k"), 0);
  q.shutDown();
});

Deno.test("addRateLimited() re-queues the key after its delay", async () => {
  const q = new WorkQueue({ baseDelayMs: 5 });
  q.addRateLimited("k");
  assert.equal(q.len, 0);
  assert.equal(await q.get(), "k");
  q.done("k");
  q.shutDown();
});

Deno.test("addAfter() delivers the key later, and an earlier time wins over a later one", async () => {
  const q = new WorkQueue();
  q.addAfter("late", 60_000);
  q.addAfter("late", 10);
  q.addAfter("late", 30_000);
  assert.equal(q.len, 0);
  assert.equal(await q.get(), "late");
  q.done("late");
  // shutDown() must clear the remaining timer, or the sanitizer fails this test.
  q.addAfter("never", 60_000);
  q.shutDown();
});

Deno.test("shutDown() wakes waiting get()s with undefined and ignores later adds", async () => {
  const q = new WorkQueue();
  const waiting = [q.get(), q.get()];
  q.shutDown();
  assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
  q.add("k");
  assert.equal(q.len, 0);
  assert.equal(await q.get(), undefined);
  assert.equal(q.shuttingDown, true);
});

Deno.test("get() resolves undefined when its signal aborts and hands the key to another waiter", async () => {
  const q = new WorkQueue();
  const ac = new AbortController();
  const aborted = q.get(ac.signal);
  const other = q.get();
  ac.abort();
  assert.equal(await aborted, undefined);
  q.add("k");
  assert.equal(await other, "k");
  assert.ok(!(q.len > 0));
  q.shutDown();
});

Deno.test("with an order, get() hands out the first key in that order, re-adds included", async () => {
  const rank: Record<string, number> = { a: 5, b: 1, c: 3, d: 4, e: 2, f: 0 };
  const q = new WorkQueue({ order: (x, y) => rank[x] - rank[y] });
  for (const k of ["a", "b", "c", "d", "e"]) q.add(k);
  q.add("b"); // de-duplicated
  assert.equal(q.len, 5);
  const first = await q.get();
  assert.equal(first, "b");
  q.add("b"); // re-added while processing: queued again on done()
  q.add("f");
  q.done("b");
  const out: string[] = [];
  while (q.len > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  assert.deepEqual(out, ["f", "b", "e", "c", "d", "a"]);
});
