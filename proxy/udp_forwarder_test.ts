import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { PortCounters } from "./metrics.ts";
import { UdpClient, UdpNameEcho } from "./_test_backends.ts";
import { UdpForwarder } from "./udp_forwarder.ts";

const PROXY_ADDRESS = "127.43.0.20";

function counters(): PortCounters {
  return new PortCounters({ namespace: "d", service: "dns", port: "", protocol: "UDP" });
}

Deno.test("UdpForwarder relays echoes for several clients, each pinned to one backend", async () => {
  const a = await UdpNameEcho.start("a", "127.0.0.11");
  const b = await UdpNameEcho.start("b", "127.0.0.12");
  const c = counters();
  const fwd = new UdpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: [a.backend, b.backend],
    counters: c,
  });
  await fwd.listen();
  const service = { address: PROXY_ADDRESS, port: fwd.port };
  const clients = await Promise.all([1, 2, 3, 4].map(() => UdpClient.open("127.0.0.1")));
  try {
    const first = await Promise.all(clients.map((cl, i) => cl.ask(service, `hello ${i}`)));
    deepStrictEqual(first, ["a:hello 0", "b:hello 1", "a:hello 2", "b:hello 3"]);
    for (let round = 0; round < 3; round++) {
      const again = await Promise.all(clients.map((cl, i) => cl.ask(service, `r${round} ${i}`)));
      deepStrictEqual(again.map((r) => r[0]), ["a", "b", "a", "b"], "a session keeps its backend");
    }
    equal(fwd.sessionCount, 4);
    equal(c.connectionsTotal, 4);
    equal(c.active, 4);
    ok(c.bytesIn > 0 && c.bytesOut > c.bytesIn);
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
    await fwd.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("UdpForwarder replies come from the service address", async () => {
  const a = await UdpNameEcho.start("a", "127.0.0.11");
  const fwd = new UdpForwarder({ hostname: PROXY_ADDRESS, port: 0, backends: [a.backend] });
  await fwd.listen();
  const { default: dgram } = await import("node:dgram");
  const socket = dgram.createSocket("udp4");
  try {
    const from = await new Promise<{ address: string; port: number }>((resolve) => {
      socket.on("message", (_msg, rinfo) => resolve({ address: rinfo.address, port: rinfo.port }));
      socket.send("x", fwd.port, PROXY_ADDRESS);
    });
    deepStrictEqual(from, { address: PROXY_ADDRESS, port: fwd.port });
  } finally {
    await new Promise<void>((r) => socket.close(() => r()));
    await fwd.close();
    await a.close();
  }
});

Deno.test("UdpForwarder closes idle sessions and bounds the session table", async () => {
  const a = await UdpNameEcho.start("a", "127.0.0.11");
  const c = counters();
  const fwd = new UdpForwarder({
    hostname: PROXY_ADDRESS,
    port: 0,
    backends: [a.backend],
    idleTimeoutMs: 100,
    maxSessions: 2,
    counters: c,
  });
  await fwd.listen();
  const service = { address: PROXY_ADDRESS, port: fwd.port };
  const clients = await Promise.all([1, 2, 3].map(() => UdpClient.open("127.0.0.1")));
  try {
    for (const cl of clients) equal(await cl.ask(service, "x"), "a:x");
    equal(fwd.sessionCount, 2, "the third client evicted the first");
    equal(c.udpEvictions, 1);
    // Bounded wait for the sweeper (idle 100 ms, sweep every 50 ms).
    for (let i = 0; i < 100 && fwd.sessionCount > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    equal(fwd.sessionCount, 0);
    equal(c.active, 0);
    equal(await clients[0].ask(service, "back"), "a:back", "a new session after expiry");
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
    await fwd.close();
    await a.close();
  }
});

Deno.test("UdpForwarder moves sessions off a removed backend", async () => {
  const a = await UdpNameEcho.start("a", "127.0.0.11");
  const b = await UdpNameEcho.start("b", "127.0.0.12");
  const fwd = new UdpForwarder({ hostname: PROXY_ADDRESS, port: 0, backends: [a.backend] });
  await fwd.listen();
  const service = { address: PROXY_ADDRESS, port: fwd.port };
  const client = await UdpClient.open("127.0.0.1");
  try {
    equal(await client.ask(service, "1"), "a:1");
    fwd.setBackends([b.backend]);
    equal(await client.ask(service, "2"), "b:2");
  } finally {
    await client.close();
    await fwd.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("UdpForwarder.listen() rejects when the port is taken", async () => {
  const first = new UdpForwarder({ hostname: PROXY_ADDRESS, port: 0 });
  await first.listen();
  const second = new UdpForwarder({ hostname: PROXY_ADDRESS, port: first.port });
  try {
    let error: unknown;
    try {
      await second.listen();
    } catch (err) {
      error = err;
    }
    ok(error instanceof Deno.errors.AddrInUse, `bind failed with AddrInUse, got ${error}`);
  } finally {
    await second.close();
    await first.close();
  }
});
