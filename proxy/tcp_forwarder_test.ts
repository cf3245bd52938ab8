import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { PortCounters } from "./metrics.ts";
import { readAll, readLine, TcpNameEcho, whoAnswers } from "./_test_backends.ts";
import { TcpForwarder } from "./tcp_forwarder.ts";

const PROXY_ADDRESS = "127.43.0.10";

function countBy(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

Deno.test("TcpForwarder spreads connections round robin over 3 backends on 2 nodes", async () => {
  const backends = [
    new TcpNameEcho("a", "127.0.0.11"),
    new TcpNameEcho("b", "127.0.0.11"),
    new TcpNameEcho("c", "127.0.0.12"),
  ];
  const counters = new PortCounters({
    namespace: "default",
    service: "web",
    port: "",
    protocol: "TCP",
  });
  const fwd = new TcpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: backends.map((b) => b.backend),
    counters,
  });
  fwd.listen();
  try {
    const names: string[] = [];
    for (let i = 0; i < 30; i++) names.push(await whoAnswers(PROXY_ADDRESS, fwd.port));
    deepStrictEqual(countBy(names), { a: 10, b: 10, c: 10 });
    deepStrictEqual(names.slice(0, 3), ["a", "b", "c"]);
    equal(counters.connectionsTotal, 30);
    equal(counters.errors, 0);
  } finally {
    await fwd.close();
    await Promise.all(backends.map((b) => b.close()));
  }
});

Deno.test("TcpForwarder skips a dead backend: new connections reach the others", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const b = new TcpNameEcho("b", "127.0.0.11");
  const c = new TcpNameEcho("c", "127.0.0.12");
  const counters = new PortCounters({ namespace: "d", service: "s", port: "", protocol: "TCP" });
  const fwd = new TcpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: [a.backend, b.backend, c.backend],
    connectTimeoutMs: 500,
    counters,
  });
  fwd.listen();
  try {
    equal(await whoAnswers(PROXY_ADDRESS, fwd.port), "a");
    await b.close(); // b dies; the endpoint list has not caught up yet
    const names: string[] = [];
    for (let i = 0; i < 12; i++) names.push(await whoAnswers(PROXY_ADDRESS, fwd.port));
    ok(!names.includes(""), `every client got an answer: ${names}`);
    // A connection that finds b dead goes on to c, so c takes b's share.
    deepStrictEqual(Object.keys(countBy(names)).sort(), ["a", "c"]);
    ok(counters.errors >= 1, "the refused connects were counted");
  } finally {
    await fwd.close();
    await Promise.all([a.close(), c.close()]);
  }
});

Deno.test("TcpForwarder tries last a backend that hung up without a word", async () => {
  // What a dead pod looks like through Docker's userland proxy: connects, then closes.
  const hangUp = Deno.listen({ hostname: "127.0.0.12", port: 0 });
  const hangUpLoop = (async () => {
    for await (const conn of hangUp) conn.close();
  })();
  const a = new TcpNameEcho("a", "127.0.0.11");
  const c = new TcpNameEcho("c", "127.0.0.12");
  const fwd = new TcpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: [a.backend, { address: "127.0.0.12", port: hangUp.addr.port }, c.backend],
    suspectMs: 60_000,
  });
  fwd.listen();
  try {
    deepStrictEqual(
      [await whoAnswers(PROXY_ADDRESS, fwd.port), await whoAnswers(PROXY_ADDRESS, fwd.port)],
      ["a", ""],
      "the first client to meet it sees the hang-up",
    );
    const names: string[] = [];
    for (let i = 0; i < 12; i++) names.push(await whoAnswers(PROXY_ADDRESS, fwd.port));
    ok(!names.includes(""), `later clients are not sent there first: ${names}`);
    deepStrictEqual(Object.keys(countBy(names)).sort(), ["a", "c"]);
  } finally {
    await fwd.close();
    hangUp.close();
    await hangUpLoop.catch(() => {});
    await Promise.all([a.close(), c.close()]);
  }
});

Deno.test("TcpForwarder closes the client when no backend is left", async () => {
  const fwd = new TcpForwarder({ hostname: PROXY_ADDRESS, port: 0 });
  fwd.listen();
  try {
    const conn = await Deno.connect({ hostname: PROXY_ADDRESS, port: fwd.port });
    equal((await readAll(conn)).length, 0);
    conn.close();
  } finally {
    await fwd.close();
  }
});

Deno.test("TcpForwarder carries 8 MiB both ways intact and honours half-close", async () => {
  const echo = new TcpNameEcho("e", "127.0.0.11");
  const fwd = new TcpForwarder({ hostname: PROXY_ADDRESS, port: 0, backends: [echo.backend] });
  fwd.listen();
  try {
    const conn = await Deno.connect({ hostname: PROXY_ADDRESS, port: fwd.port });
    const payload = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const writer = (async () => {
      let off = 0;
      while (off < payload.length) off += await conn.write(payload.subarray(off));
      await conn.closeWrite(); // the backend must see EOF and end its side
    })();
    const received = await readAll(conn);
    await writer;
    conn.close();
    const head = new TextEncoder().encode("e\n");
    equal(received.length, head.length + payload.length);
    deepStrictEqual(received.subarray(0, head.length), head);
    ok(
      received.subarray(head.length).every((v, i) => v === payload[i]),
      "bytes arrive unchanged",
    );
  } finally {
    await fwd.close();
    await echo.close();
  }
});

Deno.test("TcpForwarder keeps open connections across a backend swap", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const b = new TcpNameEcho("b", "127.0.0.12");
  const fwd = new TcpForwarder({ hostname: PROXY_ADDRESS, port: 0, backends: [a.backend] });
  fwd.listen();
  try {
    const conn = await Deno.connect({ hostname: PROXY_ADDRESS, port: fwd.port });
    equal(await readLine(conn), "a");
    fwd.setBackends([b.backend]);
    equal(await whoAnswers(PROXY_ADDRESS, fwd.port), "b");
    await conn.write(new TextEncoder().encode("still here\n"));
    equal(await readLine(conn), "still here");
    conn.close();
  } finally {
    await fwd.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("TcpForwarder.close() ends open connections and frees the port", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const fwd = new TcpForwarder({ hostname: PROXY_ADDRESS, port: 0, backends: [a.backend] });
  fwd.listen();
  const port = fwd.port;
  const conn = await Deno.connect({ hostname: PROXY_ADDRESS, port });
  equal(await readLine(conn), "a");
  equal(fwd.activeConnections, 1);
  await fwd.close();
  equal((await readAll(conn)).length, 0, "the client sees EOF");
  conn.close();
  const again = Deno.listen({ hostname: PROXY_ADDRESS, port });
  again.close();
  await a.close();
});

Deno.test("TcpForwarder with ClientIP affinity sends one client to one backend", async () => {
  const backends = [new TcpNameEcho("a", "127.0.0.11"), new TcpNameEcho("b", "127.0.0.12")];
  const fwd = new TcpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: backends.map((b) => b.backend),
    affinityTimeoutSeconds: 60,
  });
  fwd.listen();
  try {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push(await whoAnswers(PROXY_ADDRESS, fwd.port));
    equal(new Set(names).size, 1, `all from one backend: ${names}`);
    // Without affinity the same client is spread again.
    fwd.setAffinity(undefined);
    const spread: string[] = [];
    for (let i = 0; i < 4; i++) spread.push(await whoAnswers(PROXY_ADDRESS, fwd.port));
    equal(new Set(spread).size, 2);
    // When the pinned backend leaves, the client moves on and is pinned to the new one.
    fwd.setAffinity(60);
    const first = await whoAnswers(PROXY_ADDRESS, fwd.port);
    const other = backends.find((b) => b.name !== first)!;
    fwd.setBackends([other.backend]);
    equal(await whoAnswers(PROXY_ADDRESS, fwd.port), other.name);
    fwd.setBackends(backends.map((b) => b.backend));
    equal(await whoAnswers(PROXY_ADDRESS, fwd.port), other.name);
  } finally {
    await fwd.close();
    await Promise.all(backends.map((b) => b.close()));
  }
});

/**
 * Descriptors of this process that are TCP sockets on one of `ports` (either end). Test files run
 * in parallel in one process, so counting every descriptor would count theirs too.
 */
function openFds(ports: readonly number[]): number {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (addr: string) => parseInt(addr.slice(addr.lastIndexOf(":") + 1), 16);
      if (ports.includes(port(f[1])) || ports.includes(port(f[2]))) inodes.add(f[9]);
    }
  }
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
      if (m && inodes.has(m[1])) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

Deno.test("TcpForwarder leaks no file descriptors over 10,000 short connections", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const b = new TcpNameEcho("b", "127.0.0.12");
  const fwd = new TcpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: [a.backend, b.backend],
  });
  fwd.listen();
  try {
    // Warm up so lazily opened descriptors exist before the baseline.
    for (let i = 0; i < 20; i++) await whoAnswers(PROXY_ADDRESS, fwd.port);
    const ports = [fwd.port, a.backend.port, b.backend.port];
    const before = openFds(ports);
    // The three listeners at least: the count sees this test's sockets.
    ok(before >= 3, `own sockets at the start: ${before}`);
    const total = 10_000;
    const parallel = 50;
    let next = 0;
    let answered = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          next++;
          if ((await whoAnswers(PROXY_ADDRESS, fwd.port)) !== "") answered++;
        }
      }),
    );
    equal(answered, total);
    // Closing is asynchronous on the proxy side; wait (bounded) for the last ones to wind down.
    for (let i = 0; i < 100 && fwd.activeConnections > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    equal(fwd.activeConnections, 0);
    // The backends close their side asynchronously too (same process): give them a bounded moment;
    // a leak never comes back.
    let after = openFds(ports);
    for (let i = 0; i < 100 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = openFds(ports);
    }
    ok(after <= before, `descriptors before ${before}, after ${after}`);
  } finally {
    await fwd.close();
    await Promise.all([a.close(), b.close()]);
  }
});
