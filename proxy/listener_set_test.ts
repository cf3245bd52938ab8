import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { TcpNameEcho, UdpClient, UdpNameEcho, whoAnswers } from "./_test_backends.ts";
import { ListenerSet } from "./listener_set.ts";
import { type DesiredListener, listenerKey } from "./service_table.ts";
import type { Backend } from "./round_robin.ts";

function listener(
  name: string,
  address: string,
  port: number,
  backends: Backend[],
  protocol: "TCP" | "UDP" = "TCP",
): DesiredListener {
  return {
    key: listenerKey(protocol, address, port),
    protocol,
    address,
    port,
    source: "clusterIP",
    service: { namespace: "default", name },
    portName: "",
    backends,
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
  };
}

function table(...ls: DesiredListener[]): Map<string, DesiredListener> {
  return new Map(ls.map((l) => [l.key, l]));
}

function freePort(hostname: string): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("ListenerSet opens, updates, re-binds and closes listeners live", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const b = new TcpNameEcho("b", "127.0.0.12");
  const set = new ListenerSet();
  const [p1, p2] = [freePort("127.43.0.30"), freePort("127.43.0.30")];
  try {
    await set.reconcile(table(listener("web", "127.43.0.30", p1, [a.backend])));
    equal(await whoAnswers("127.43.0.30", p1), "a");

    // Backends change in place.
    await set.reconcile(table(listener("web", "127.43.0.30", p1, [b.backend])));
    equal(await whoAnswers("127.43.0.30", p1), "b");

    // The port changes: the old one closes, the new one answers.
    await set.reconcile(table(listener("web", "127.43.0.30", p2, [b.backend])));
    deepStrictEqual(set.bound, [listenerKey("TCP", "127.43.0.30", p2)]);
    equal(await whoAnswers("127.43.0.30", p2), "b");
    let refused = false;
    try {
      (await Deno.connect({ hostname: "127.43.0.30", port: p1 })).close();
    } catch (err) {
      refused = err instanceof Deno.errors.ConnectionRefused;
    }
    ok(refused, "the old port is closed");

    // The service goes away.
    await set.reconcile(table());
    deepStrictEqual(set.bound, []);
    deepStrictEqual(set.metrics.snapshot(), [], "its counters go too");
  } finally {
    await set.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("ListenerSet reports a busy port once, keeps serving the others and retries", async () => {
  const a = new TcpNameEcho("a", "127.0.0.11");
  const squatter = Deno.listen({ hostname: "127.43.0.31", port: 0 });
  const busyPort = squatter.addr.port;
  const okPort = freePort("127.43.0.31");
  const reported: string[] = [];
  const set = new ListenerSet({
    onBindError: (l, err) => reported.push(`${l.service.name} ${err.name}`),
  });
  const desired = table(
    listener("busy", "127.43.0.31", busyPort, [a.backend]),
    listener("fine", "127.43.0.31", okPort, [a.backend]),
  );
  let squatterOpen = true;
  try {
    await set.reconcile(desired);
    await set.reconcile(desired);
    deepStrictEqual(reported, ["busy AddrInUse"], "reported once, not on every retry");
    deepStrictEqual([...set.failed.keys()], [listenerKey("TCP", "127.43.0.31", busyPort)]);
    equal(await whoAnswers("127.43.0.31", okPort), "a");

    squatter.close();
    squatterOpen = false;
    await set.reconcile(desired);
    equal(set.failed.size, 0);
    equal(await whoAnswers("127.43.0.31", busyPort), "a", "bound on the retry");
  } finally {
    if (squatterOpen) squatter.close();
    await set.close();
    await a.close();
  }
});

Deno.test("ListenerSet serves UDP service ports", async () => {
  const echo = await UdpNameEcho.start("u", "127.0.0.12");
  const set = new ListenerSet();
  const port = freePort("127.43.0.32");
  const client = await UdpClient.open();
  try {
    await set.reconcile(table(listener("dns", "127.43.0.32", port, [echo.backend], "UDP")));
    equal(await client.ask({ address: "127.43.0.32", port }, "q"), "u:q");
    equal(set.metrics.snapshot()[0].udpSessions, 1);
  } finally {
    await client.close();
    await set.close();
    await echo.close();
  }
});
