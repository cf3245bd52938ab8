import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { StorageProtectionController } from "./storage_protection.ts";

const DELETING = "2026-01-01T00:00:00Z";

function claim(deleting: boolean): KubeObject {
  return {
    metadata: {
      name: "data",
      namespace: "default",
      finalizers: ["kubernetes.io/pvc-protection"],
      ...(deleting ? { deletionTimestamp: DELETING } : {}),
    },
    spec: {},
  };
}

function pod(phase: string, claimName = "data"): KubeObject {
  return {
    metadata: { name: "p", namespace: "default" },
    spec: { volumes: [{ name: "v", persistentVolumeClaim: { claimName } }] },
    status: { phase },
  };
}

function volume(phase: string): KubeObject {
  return {
    metadata: {
      name: "pv-1",
      finalizers: ["kubernetes.io/pv-protection"],
      deletionTimestamp: DELETING,
    },
    spec: {},
    status: { phase },
  };
}

const CASES: {
  name: string;
  claim?: KubeObject;
  pods?: KubeObject[];
  volume?: KubeObject;
  want: string[];
}[] = [
  {
    name: "a deleted claim no pod uses loses its finalizer",
    claim: claim(true),
    want: ["pvc data []"],
  },
  {
    name: "a deleted claim a running pod uses keeps it",
    claim: claim(true),
    pods: [pod("Running")],
    want: [],
  },
  {
    name: "a pending pod holds the claim too",
    claim: claim(true),
    pods: [pod("Pending")],
    want: [],
  },
  {
    name: "a finished pod does not hold the claim",
    claim: claim(true),
    pods: [pod("Succeeded")],
    want: ["pvc data []"],
  },
  {
    name: "a pod of another claim does not hold it",
    claim: claim(true),
    pods: [pod("Running", "other")],
    want: ["pvc data []"],
  },
  { name: "a claim not being deleted is left alone", claim: claim(false), want: [] },
  {
    name: "a deleted Released volume loses its finalizer",
    volume: volume("Released"),
    want: ["pv pv-1 []"],
  },
  { name: "a deleted Bound volume keeps it", volume: volume("Bound"), want: [] },
];

for (const c of CASES) {
  Deno.test(`StorageProtectionController: ${c.name}`, async () => {
    const client = new RecordingClient();
    const controller = new StorageProtectionController({
      listers: {
        claims: new FakeLister(c.claim ? [c.claim] : []),
        volumes: new FakeLister(c.volume ? [c.volume] : []),
        pods: new FakeLister(c.pods ?? []),
      },
      client,
    });
    if (c.claim) await controller.syncClaim("default/data");
    if (c.volume) await controller.syncVolume("pv-1");
    const calls = client.writes().map((w) => {
      const o = w.body as KubeObject;
      const kind = w.resource === "persistentvolumes" ? "pv" : "pvc";
      return `${kind} ${o.metadata.name} ${JSON.stringify(o.metadata.finalizers)}`;
    });
    assert.deepEqual(calls, c.want);
  });
}
