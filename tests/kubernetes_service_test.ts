import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { ENDPOINTS, ENDPOINTSLICES, SERVICES } from "../shared/client/refs.ts";
import { isNotFound } from "../shared/errors.ts";
import { runKubernetesServiceReconciler } from "../server/kubernetes_service.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

Deno.test("the server keeps the kubernetes Service: first ClusterIP, 443/https → the API's address", async () => {
  const server = await startTestServer({ controllers: false });
  const ac = new AbortController();
  let loop: Promise<void> | undefined;
  try {
    const port = Number(new URL(server.url).port);
    const svc = await waitFor(
      "kubernetes Service",
      () =>
        server.client.get(SERVICES, "kubernetes", { namespace: "default" }).catch(() => undefined),
    );
    equal(svc.spec.clusterIP, "127.43.0.1");
    deepStrictEqual(
      svc.spec.ports.map((
        p: { name: string; port: number; protocol: string; targetPort: number },
      ) => [p.name, p.port, p.protocol, p.targetPort]),
      [["https", 443, "TCP", port]],
    );
    const ep = await waitFor(
      "kubernetes Endpoints",
      () =>
        server.client.get(ENDPOINTS, "kubernetes", { namespace: "default" }).catch(() => undefined),
    );
    deepStrictEqual(ep.subsets, [{
      addresses: [{ ip: "127.0.0.1" }],
      ports: [{ name: "https", port, protocol: "TCP" }],
    }]);
    const slice = await server.client.get(ENDPOINTSLICES, "kubernetes", { namespace: "default" });
    deepStrictEqual(slice.endpoints.map((e: { addresses: string[] }) => e.addresses), [[
      "127.0.0.1",
    ]]);

    // Deleted or changed, it comes back (a faster loop than the server's 10 s, same job).
    loop = runKubernetesServiceReconciler({
      client: server.client,
      serviceIP: "127.43.0.1",
      address: "127.0.0.1",
      port,
      intervalMs: 100,
    }, ac.signal);
    await server.client.delete(SERVICES, "kubernetes", { namespace: "default" });
    await server.client.update(ENDPOINTS, { ...ep, subsets: [] });
    await waitFor(
      "kubernetes Service recreated",
      () =>
        server.client.get(SERVICES, "kubernetes", { namespace: "default" }).catch((e) => {
          if (!isNotFound(e)) throw e;
          return undefined;
        }),
    );
    await waitFor("Endpoints put back", async () => {
      const again = await server.client.get(ENDPOINTS, "kubernetes", { namespace: "default" });
      return again.subsets?.[0]?.addresses?.[0]?.ip === "127.0.0.1";
    });

    // The serving certificate names the Service.
    const cert = new x509.X509Certificate(
      await Deno.readTextFile(`${server.dataDir}/tls/server.crt`),
    );
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    const names = san.names.items.map((n) => n.value);
    for (
      const want of [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "127.43.0.1",
      ]
    ) ok(names.includes(want), `certificate names ${want}: ${names.join(", ")}`);
  } finally {
    ac.abort();
    await loop;
    await server.stop();
  }
});
