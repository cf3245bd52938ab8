/**
 * The service proxy against the real API server: Services and Endpoints objects drive real
 * listeners; backends are plain TCP/UDP echo servers on the simulated node addresses.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { ENDPOINTS, EVENTS, SERVICES } from "../shared/client/refs.ts";
import { Logger } from "../shared/log.ts";
import { TcpNameEcho, UdpClient, UdpNameEcho, whoAnswers } from "../proxy/_test_backends.ts";
import { ProxyMetrics } from "../proxy/metrics.ts";
import type { Backend } from "../proxy/round_robin.ts";
import { FAILED_TO_BIND_PORT, runProxy } from "../proxy/run.ts";
import { ProxyConfig } from "../proxy/config.ts";
import { startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const NODE = "127.0.0.11";

interface Harness {
  server: TestServer;
  metrics: ProxyMetrics;
  /** The proxy's most recent log lines (debug level), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

async function startProxy(): Promise<Harness> {
  const server = await startTestServer({ controllers: false, serviceCidr: "127.43.0.0/16" });
  const ac = new AbortController();
  const metrics = new ProxyMetrics();
  const config = ProxyConfig.parse({
    server: server.url,
    token: server.token,
    nodeName: "node-11",
    nodeAddress: NODE,
    serviceCidr: "127.43.0.0/16",
    connectTimeoutMs: 500,
    bindRetryMs: 200,
    ingressHttpPort: 0,
    ingressHttpsPort: 0,
  });
  const lines: string[] = [];
  const logger = new Logger({
    level: "debug",
    sink: (line) => {
      lines.push(line);
      if (lines.length > 60) lines.shift();
    },
  });
  const run = runProxy(config, ac.signal, { fetch: server.fetch, metrics, logger });
  return {
    server,
    metrics,
    log: () => lines.join("\n"),
    async stop() {
      ac.abort();
      await run;
      await server.stop();
    },
  };
}

function serviceObject(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

function endpointsObject(
  name: string,
  subsets: { backends: Backend[]; name?: string; protocol?: string }[],
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, namespace: "default" },
    // One subset per backend port, as the endpoints controller groups them.
    subsets: subsets.flatMap((s) => {
      const byPort = new Map<number, string[]>();
      for (const b of s.backends) byPort.set(b.port, [...(byPort.get(b.port) ?? []), b.address]);
      return [...byPort].map(([port, ips]) => ({
        addresses: ips.map((ip) => ({ ip })),
        ports: [{ name: s.name, port, protocol: s.protocol ?? "TCP" }],
      }));
    }),
  };
}

async function refused(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

function countBy(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

Deno.test({
  name: "proxy: round robin over 3 backends on 2 nodes via ClusterIP and NodePort, " +
    "a killed backend, a port change and a deletion, live",
  async fn() {
    const h = await startProxy();
    const { client } = h.server;
    const backends = [
      new TcpNameEcho("a", "127.0.0.11"),
      new TcpNameEcho("b", "127.0.0.11"),
      new TcpNameEcho("c", "127.0.0.12"),
    ];
    const alive = new Set(backends);
    try {
      const svc = await client.create(
        SERVICES,
        serviceObject("web", { type: "NodePort", ports: [{ name: "http", port: 80 }] }),
        { namespace: "default" },
      );
      const clusterIP: string = svc.spec.clusterIP;
      const nodePort: number = svc.spec.ports[0].nodePort;
      ok(clusterIP.startsWith("127.43."), clusterIP);
      await client.create(
        ENDPOINTS,
        endpointsObject("web", [{ name: "http", backends: backends.map((b) => b.backend) }]),
        { namespace: "default" },
      );
      await waitFor("ClusterIP answers", async () => (await whoAnswers(clusterIP, 80)) !== "");

      const names: string[] = [];
      for (let i = 0; i < 30; i++) names.push(await whoAnswers(clusterIP, 80));
      deepStrictEqual(countBy(names), { a: 10, b: 10, c: 10 });
      const viaNodePort: string[] = [];
      for (let i = 0; i < 6; i++) viaNodePort.push(await whoAnswers(NODE, nodePort));
      deepStrictEqual(countBy(viaNodePort), { a: 2, b: 2, c: 2 });

      // Kill b: before the Endpoints catch up, the connect retry hides it from clients.
      const acceptedBefore = backends[1].accepted;
      await backends[1].close();
      alive.delete(backends[1]);
      const during: string[] = [];
      for (let i = 0; i < 12; i++) during.push(await whoAnswers(clusterIP, 80));
      ok(
        !during.includes("") && !during.includes("b"),
        `no client error: ${during}; b accepted ${acceptedBefore} then ${
          backends[1].accepted
        }; proxy log:\n${h.log()}`,
      );
      // Then the Endpoints drop it.
      const current = await client.get(ENDPOINTS, "web", { namespace: "default" });
      await client.update(ENDPOINTS, {
        ...endpointsObject("web", [{
          name: "http",
          backends: [backends[0].backend, backends[2].backend],
        }]),
        metadata: current.metadata,
      });
      const web = () => h.metrics.snapshot().find((p) => p.service === "web")!;
      const errorsBefore = web().errors;
      await waitFor("b leaves the rotation", async () => {
        const seen = [await whoAnswers(clusterIP, 80), await whoAnswers(clusterIP, 80)];
        return seen.includes("a") && seen.includes("c") &&
          web().errors === errorsBefore;
      });

      // The port changes 80 → 81.
      const s = await client.get(SERVICES, "web", { namespace: "default" });
      s.spec.ports[0].port = 81;
      await client.update(SERVICES, s);
      await waitFor("port 81 answers", async () => (await whoAnswers(clusterIP, 81)) !== "");
      ok(await refused(clusterIP, 80), "port 80 closed");
      ok((await whoAnswers(NODE, nodePort)) !== "", "the node port stays");

      // The service is deleted.
      await client.delete(SERVICES, "web", { namespace: "default" });
      await waitFor(
        "listeners closed",
        async () => (await refused(clusterIP, 81)) && (await refused(NODE, nodePort)),
      );
      // (The server's own `kubernetes` Service keeps its counters.)
      await waitFor(
        "counters dropped",
        () => h.metrics.snapshot().filter((p) => p.service === "web").length === 0,
      );
    } finally {
      await Promise.all([...alive].map((b) => b.close()));
      await h.stop();
    }
  },
});

Deno.test("proxy: UDP echo through the ClusterIP for several clients", async () => {
  const h = await startProxy();
  const { client } = h.server;
  const echoes = [
    await UdpNameEcho.start("u1", "127.0.0.11"),
    await UdpNameEcho.start("u2", "127.0.0.12"),
  ];
  const clients = await Promise.all([1, 2, 3, 4, 5, 6].map(() => UdpClient.open()));
  try {
    const svc = await client.create(
      SERVICES,
      serviceObject("dns", { ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
      { namespace: "default" },
    );
    const target = { address: svc.spec.clusterIP as string, port: 53 };
    await client.create(
      ENDPOINTS,
      endpointsObject("dns", [{
        name: "dns",
        protocol: "UDP",
        backends: echoes.map((e) => e.backend),
      }]),
      { namespace: "default" },
    );
    await waitFor("UDP listener", () => h.metrics.snapshot().some((r) => r.service === "dns"));
    const replies = await Promise.all(clients.map((c, i) => c.ask(target, `q${i}`)));
    for (const [i, r] of replies.entries()) ok(r === `u1:q${i}` || r === `u2:q${i}`, r);
    deepStrictEqual(
      countBy(replies.map((r) => r.split(":")[0])),
      { u1: 3, u2: 3 },
      "sessions spread round robin",
    );
    const again = await Promise.all(clients.map((c, i) => c.ask(target, `again${i}`)));
    deepStrictEqual(again.map((r) => r.split(":")[0]), replies.map((r) => r.split(":")[0]));
    equal(h.metrics.snapshot().find((p) => p.service === "dns")!.udpSessions, 6);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(echoes.map((e) => e.close()));
    await h.stop();
  }
});

Deno.test("proxy: sessionAffinity ClientIP pins a client to one backend", async () => {
  const h = await startProxy();
  const { client } = h.server;
  const backends = [new TcpNameEcho("a", "127.0.0.11"), new TcpNameEcho("b", "127.0.0.12")];
  try {
    const svc = await client.create(
      SERVICES,
      serviceObject("sticky", {
        ports: [{ port: 8080 }],
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      }),
      { namespace: "default" },
    );
    const ip: string = svc.spec.clusterIP;
    await client.create(
      ENDPOINTS,
      endpointsObject("sticky", [{ backends: backends.map((b) => b.backend) }]),
      { namespace: "default" },
    );
    await waitFor("listener", async () => (await whoAnswers(ip, 8080)) !== "");
    const names: string[] = [];
    for (let i = 0; i < 10; i++) names.push(await whoAnswers(ip, 8080));
    equal(new Set(names).size, 1, `one backend: ${names}`);

    // Affinity off again: the same client is spread.
    const s = await client.get(SERVICES, "sticky", { namespace: "default" });
    s.spec.sessionAffinity = "None";
    delete s.spec.sessionAffinityConfig;
    await client.update(SERVICES, s);
    await waitFor("spread again", async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await whoAnswers(ip, 8080));
      return seen.size === 2;
    });
  } finally {
    await Promise.all(backends.map((b) => b.close()));
    await h.stop();
  }
});

Deno.test("proxy: a busy node port is reported as an event, not fatal, and bound once free", async () => {
  const h = await startProxy();
  const { client } = h.server;
  const a = new TcpNameEcho("a", "127.0.0.11");
  // Something else on the node holds a node port the service then asks for.
  let squatter: Deno.TcpListener | undefined;
  for (let port = 30000 + Math.floor(Math.random() * 2000); !squatter && port < 32767; port++) {
    try {
      squatter = Deno.listen({ hostname: NODE, port });
    } catch { /* taken: try the next */ }
  }
  ok(squatter, "found a free node port");
  const busyPort = squatter.addr.port;
  let squatterOpen = true;
  try {
    const busy = await client.create(
      SERVICES,
      serviceObject("busy", { type: "NodePort", ports: [{ port: 80, nodePort: busyPort }] }),
      { namespace: "default" },
    );
    equal(busy.spec.ports[0].nodePort, busyPort);
    const fine = await client.create(
      SERVICES,
      serviceObject("fine", { ports: [{ port: 80 }] }),
      { namespace: "default" },
    );
    for (const name of ["busy", "fine"]) {
      await client.create(ENDPOINTS, endpointsObject(name, [{ backends: [a.backend] }]), {
        namespace: "default",
      });
    }
    const event = await waitFor("FailedToBindPort event", async () => {
      const list = await client.list(EVENTS, { namespace: "default" });
      return list.items.find((e) =>
        e.reason === FAILED_TO_BIND_PORT && e.involvedObject?.name === "busy"
      );
    });
    equal(event.type, "Warning");
    ok(String(event.message).includes(`${busyPort}`), event.message);
    equal(await whoAnswers(fine.spec.clusterIP, 80), "a", "the other service is served");

    if (squatterOpen) {
      squatter.close();
      squatterOpen = false;
    }
    await waitFor(
      "bound after the port is freed",
      async () => (await whoAnswers(NODE, busy.spec.ports[0].nodePort)) === "a",
    );
  } finally {
    if (squatterOpen) squatter.close();
    await a.close();
    await h.stop();
  }
});
