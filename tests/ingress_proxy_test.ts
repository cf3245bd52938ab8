/**
 * The proxy's ingress against the real API server (in process, no controllers): Ingress,
 * Service and Endpoints objects drive the routing of a real listener; a port held by another
 * socket is a FailedToBindPort event on the Ingress and is bound once freed; endpoints leaving
 * turn answers into 503.
 */
import assert from "node:assert/strict";
import { ENDPOINTS, EVENTS, INGRESSES, SERVICES } from "../shared/client/refs.ts";
import { silentLogger } from "../shared/log.ts";
import { FAILED_TO_BIND_PORT, runProxy } from "../proxy/run.ts";
import { ProxyConfig } from "../proxy/config.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

const NODE = "127.0.0.48";

Deno.test("proxy ingress: a busy port is an event on the Ingress, then served; endpoints drive 200/503", async () => {
  const server = await startTestServer({ controllers: false });
  const backendAc = new AbortController();
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: backendAc.signal, onListen: () => {} },
    () => new Response("from-backend"),
  );
  // Someone else holds the ingress port at first (the port it bound is the one asked for).
  let squatter: Deno.Listener | undefined = Deno.listen({ hostname: NODE, port: 0 });
  const port = (squatter.addr as Deno.NetAddr).port;
  const ac = new AbortController();
  const run = runProxy(
    ProxyConfig.parse({
      server: server.url,
      token: server.token,
      nodeName: "node-48",
      nodeAddress: NODE,
      serviceCidr: "127.43.0.0/16",
      clusterWideListeners: false,
      bindRetryMs: 200,
      ingressHttpPort: port,
      ingressHttpsPort: 0,
    }),
    ac.signal,
    { fetch: server.fetch, logger: silentLogger },
  );
  const client = Deno.createHttpClient({ allowHost: true });
  const get = async () => {
    try {
      const res = await fetch(`http://${NODE}:${port}/`, { client, headers: { host: "a.test" } });
      return `${res.status} ${await res.text()}`;
    } catch {
      return "unreachable";
    }
  };
  try {
    const api = server.client;
    await api.create(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: { ports: [{ name: "http", port: 80 }] },
    });
    await api.create(ENDPOINTS, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [{
        addresses: [{ ip: "127.0.0.1" }],
        ports: [{ name: "http", port: backend.addr.port }],
      }],
    });
    await api.create(INGRESSES, {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web", namespace: "default" },
      spec: {
        rules: [{
          host: "a.test",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "web", port: { name: "http" } } },
            }],
          },
        }],
      },
    });
    const event = await waitFor("FailedToBindPort on the Ingress", async () => {
      const list = await api.list(EVENTS, { namespace: "default" });
      return list.items.find((e) =>
        e.reason === FAILED_TO_BIND_PORT && e.involvedObject?.kind === "Ingress" &&
        e.involvedObject?.name === "web"
      );
    });
    assert.equal(event.type, "Warning");
    assert.ok(String(event.message).includes(`${NODE}:${port}`), event.message);

    squatter.close();
    squatter = undefined;
    await waitFor("served once the port is free", async () => (await get()) === "200 from-backend");

    await api.patch(ENDPOINTS, "web", { subsets: [] }, { namespace: "default", type: "merge" });
    await waitFor("503 without endpoints", async () => (await get()).startsWith("503"));
  } finally {
    squatter?.close();
    client.close();
    ac.abort();
    await run;
    backendAc.abort();
    await backend.finished;
    await server.stop();
  }
});
