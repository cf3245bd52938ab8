/**
 * A node cut off from its server keeps answering cluster DNS from its last known state: while
 * running (its informers keep their caches when the watch fails) and after a restart during the
 * outage (the informers start from the node's local copy under `<dataDir>/state`).
 */
import assert from "node:assert/strict";
import { InformerSnapshot } from "../agent/informer_snapshot.ts";
import { DnsConfig, type NodeLocalDns, runNodeLocalDns } from "../dns/mod.ts";
import { query, randomLoopback } from "../dns/_test_dns.ts";
import type { Endpoints, Service } from "../shared/api/core_v1.ts";
import { ApiClient } from "../shared/client/client.ts";
import { ENDPOINTS, SERVICES } from "../shared/client/refs.ts";
import { Informer } from "../shared/informer.ts";
import { Logger } from "../shared/log.ts";
import { randomServiceCidr, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

/**
 * A node's DNS half: Services/Endpoints informers with their local copies, and the DNS, on a
 * port of `address` it binds itself (`port()` is undefined until then).
 */
function startNodeDns(client: ApiClient, stateDir: string, address: string) {
  let dns: NodeLocalDns | undefined;
  const lines: string[] = [];
  const logger = new Logger({ level: "warn", sink: (l) => lines.push(l) });
  const services = new Informer<Service>(client, SERVICES, {
    logger,
    backoff: { initialMs: 100, maxMs: 500 },
  });
  const endpoints = new Informer<Endpoints>(client, ENDPOINTS, {
    logger,
    backoff: { initialMs: 100, maxMs: 500 },
  });
  const snapshots = [
    new InformerSnapshot(services, { dir: stateDir, name: "services", debounceMs: 50 }),
    new InformerSnapshot(endpoints, { dir: stateDir, name: "endpoints", debounceMs: 50 }),
  ];
  const ac = new AbortController();
  const running = (async () => {
    await Promise.all(snapshots.map((s) => s.seed()));
    await Promise.all([
      services.run(ac.signal),
      endpoints.run(ac.signal),
      ...snapshots.map((s) => s.run(ac.signal)),
      runNodeLocalDns(DnsConfig.parse({ port: 0, resolvConf: "/dev/null" }), ac.signal, {
        services,
        endpoints,
        addresses: () => [address],
        upstreams: [],
        onServer: (server) => dns = server,
      }),
    ]);
  })();
  return {
    lines,
    port: () => dns?.boundPort(`${address}:0`),
    async stop() {
      ac.abort();
      await running;
    },
  };
}

Deno.test("a node's DNS answers from its last known Services while the server is down, also after a restart", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "skiff-state-" });
  const address = randomLoopback();
  let server: TestServer | undefined = await startTestServer({
    controllers: false,
    serviceCidr: randomServiceCidr(),
  });
  const client = new ApiClient({ server: server.url, token: server.token, caData: server.caPem });
  let node = startNodeDns(client, stateDir, address);
  const name = `web-${crypto.randomUUID().slice(0, 6)}`;
  const fqdn = `${name}.default.svc.cluster.local`;
  try {
    const svc = await server.client.create<Service>(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default" },
      spec: { ports: [{ port: 80 }] },
    } as unknown as Service);
    const ip = svc.spec!.clusterIP!;
    const answer = async () => {
      const port = node.port();
      if (port === undefined) return undefined;
      const r = await query({ hostname: address, port }, fqdn, "A", { timeoutMs: 1000 });
      return r?.answers?.find((a: { type: string }) => a.type === "A")?.data;
    };
    await waitFor("the DNS answers the Service", async () => (await answer()) === ip);
    await waitFor(
      "the local copy has the Service",
      async () =>
        (await Deno.readTextFile(`${stateDir}/services.json`).catch(() => "")).includes(name),
    );

    // The server goes away: once the informers noticed, the DNS still answers.
    await server.stop();
    server = undefined;
    await waitFor("the informers noticed", () => node.lines.some((l) => l.includes("failed")));
    assert.equal(await answer(), ip);

    // The node restarts during the outage: the answer comes from the local copy.
    await node.stop();
    node = startNodeDns(client, stateDir, address);
    await waitFor(
      "the restarted DNS answers from the local copy",
      async () => (await answer()) === ip,
    );
    await waitFor(
      "the restarted node's list failed",
      () => node.lines.some((l) => l.includes("list failed")),
    );
  } finally {
    await node.stop();
    client.close();
    await server?.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});
