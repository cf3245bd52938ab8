import assert from "node:assert/strict";
import type { Pod } from "../shared/api/core_v1.ts";
import { policyPod, trimPod } from "./network_policies.ts";

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web",
    namespace: "shop",
    uid: "u1",
    resourceVersion: "7",
    labels: { app: "web" },
    annotations: { big: "x".repeat(1000) },
  },
  spec: {
    nodeName: "hnp-a",
    containers: [{
      name: "app",
      image: "busybox",
      env: [{ name: "SECRET", value: "s3cr3t" }],
      ports: [{ name: "http", containerPort: 8080 }, { containerPort: 9000 }],
    }],
  },
  status: { phase: "Running", podIP: "10.155.1.5" },
} as unknown as Pod;

Deno.test("trimPod() keeps what policies read and drops the rest", () => {
  const kept = trimPod(POD) as Pod;
  assert.deepEqual(kept.metadata, {
    name: "web",
    namespace: "shop",
    uid: "u1",
    resourceVersion: "7",
    labels: { app: "web" },
  });
  assert.ok(!JSON.stringify(kept).includes("s3cr3t"));
  assert.deepEqual(policyPod(kept), {
    namespace: "shop",
    name: "web",
    labels: { app: "web" },
    ip: "10.155.1.5",
    nodeName: "hnp-a",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  });
});

Deno.test("policyPod() leaves out pods without an address, finished and host-network pods", () => {
  const variant = (spec: object, status: object) =>
    policyPod(trimPod({ ...POD, spec: { ...POD.spec, ...spec }, status } as Pod) as Pod);
  assert.equal(variant({}, { phase: "Pending" }), undefined);
  assert.equal(variant({}, { phase: "Succeeded", podIP: "10.155.1.5" }), undefined);
  assert.equal(
    variant({ hostNetwork: true }, { phase: "Running", podIP: "192.168.1.2" }),
    undefined,
  );
  assert.ok(variant({}, { phase: "Running", podIP: "10.155.1.5" }));
});
