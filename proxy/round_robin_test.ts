import { deepStrictEqual, equal } from "node:assert/strict";
import { type Backend, backendKey, RoundRobin } from "./round_robin.ts";
import { SessionAffinity } from "./session_affinity.ts";

const a: Backend = { address: "127.0.0.11", port: 1 };
const b: Backend = { address: "127.0.0.11", port: 2 };
const c: Backend = { address: "127.0.0.12", port: 3 };

Deno.test("RoundRobin.next() cycles through the backends in order", () => {
  const rr = new RoundRobin([a, b, c]);
  deepStrictEqual([rr.next(), rr.next(), rr.next(), rr.next()], [a, b, c, a]);
});

Deno.test("RoundRobin.attempts() starts at the next in turn and lists each backend once", () => {
  const rr = new RoundRobin([a, b, c]);
  deepStrictEqual(rr.attempts(), [a, b, c]);
  deepStrictEqual(rr.attempts(), [b, c, a]);
  deepStrictEqual(rr.next(), c);
});

Deno.test("RoundRobin.set() swaps the list and keeps the cursor in range", () => {
  const rr = new RoundRobin([a, b, c]);
  rr.next();
  rr.next();
  rr.set([a]);
  deepStrictEqual(rr.next(), a);
  rr.set([]);
  equal(rr.next(), undefined);
  deepStrictEqual(rr.attempts(), []);
});

Deno.test("backendKey() brackets IPv6 addresses", () => {
  equal(backendKey(a), "127.0.0.11:1");
  equal(backendKey({ address: "::1", port: 80 }), "[::1]:80");
});

Deno.test("SessionAffinity pins a client until the timeout or until its backend leaves", () => {
  let now = 0;
  const aff = new SessionAffinity({ timeoutSeconds: 10, now: () => now });
  aff.record("10.0.0.1", b);
  deepStrictEqual(aff.lookup("10.0.0.1", [a, b, c]), b);
  now = 9_000;
  deepStrictEqual(aff.lookup("10.0.0.1", [a, b, c]), b, "seen again within the timeout");
  now = 18_000;
  deepStrictEqual(aff.lookup("10.0.0.1", [a, b, c]), b, "the timeout counts from last seen");
  now = 28_001;
  equal(aff.lookup("10.0.0.1", [a, b, c]), undefined, "expired");
  aff.record("10.0.0.1", b);
  equal(aff.lookup("10.0.0.1", [a, c]), undefined, "backend removed");
  equal(aff.size, 0);
});

Deno.test("SessionAffinity evicts the least recently seen client when full", () => {
  const aff = new SessionAffinity({ maxEntries: 2 });
  aff.record("1", a);
  aff.record("2", a);
  aff.lookup("1", [a]);
  aff.record("3", a);
  deepStrictEqual(aff.lookup("1", [a]), a);
  equal(aff.lookup("2", [a]), undefined);
  deepStrictEqual(aff.lookup("3", [a]), a);
});
