import { deepStrictEqual } from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { endpointSubsets, serviceBackends } from "./endpoints.ts";

function pod(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    metadata: { name, namespace: "db", uid: `uid-${name}`, labels: { app: "db" } },
    spec: { nodeName: "n1", containers: [], ...spec },
    status: {
      hostIP: `127.0.0.${name.length}`,
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

Deno.test("an address carries the pod's hostname when its subdomain is the Service", () => {
  const svc: KubeObject = { metadata: { name: "pg", namespace: "db" }, spec: { ports: [] } };
  const backends = serviceBackends(svc, [
    pod("pg-0", { hostname: "pg-0", subdomain: "pg" }),
    pod("other", { hostname: "x", subdomain: "not-pg" }),
  ]);
  const subsets = endpointSubsets(backends) as { addresses: { hostname?: string }[] }[];
  deepStrictEqual(subsets[0].addresses.map((a) => a.hostname), ["pg-0", undefined]);
});
