import assert from "node:assert/strict";
import { KeyedLock } from "./keyed_lock.ts";

Deno.test("KeyedLock.run() serialises one key, runs others alongside, survives a throw", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const step = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name} start`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`${name} end`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = lock.run("a", step("a1", 20, true));
  const a2 = lock.run("a", step("a2", 1));
  const b1 = lock.run("b", step("b1", 5));
  await assert.rejects(a1, /a1/);
  assert.equal(await a2, "a2");
  assert.equal(await b1, "b1");
  assert.ok(log.indexOf("a2 start") > log.indexOf("a1 end"), "a2 waits for a1");
  assert.ok(log.indexOf("b1 start") < log.indexOf("a1 end"), "b does not wait for a");
  await Promise.resolve();
  assert.equal(lock.size, 0, "idle keys are forgotten");
});
