import assert from "node:assert/strict";
import { tableFor } from "./mod.ts";

const now = new Date("2026-01-01T00:10:00Z");
const created = "2026-01-01T00:00:00Z";

Deno.test("kubectl get pv prints capacity, modes, policy, status, claim and class", () => {
  const table = tableFor({ group: "", kind: "PersistentVolume", plural: "persistentvolumes" }, [{
    metadata: { name: "pvc-1", creationTimestamp: created },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteMany", "ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      claimRef: { namespace: "default", name: "data" },
      storageClassName: "local-path",
      volumeMode: "Filesystem",
    },
    status: { phase: "Bound" },
  }], { now });
  assert.deepEqual(table.columnDefinitions.map((c) => c.name), [
    "Name",
    "Capacity",
    "Access Modes",
    "Reclaim Policy",
    "Status",
    "Claim",
    "StorageClass",
    "VolumeAttributesClass",
    "Reason",
    "Age",
    "VolumeMode",
  ]);
  assert.deepEqual(table.rows[0].cells, [
    "pvc-1",
    "1Gi",
    "RWO,RWX",
    "Delete",
    "Bound",
    "default/data",
    "local-path",
    "<unset>",
    "",
    "10m",
    "Filesystem",
  ]);
});

Deno.test("kubectl get pvc shows capacity and modes only once bound; deleting shows Terminating", () => {
  const info = { group: "", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims" };
  const pending = {
    metadata: { name: "data", creationTimestamp: created },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      storageClassName: "local-path",
    },
    status: { phase: "Pending" },
  };
  const bound = {
    ...pending,
    metadata: { ...pending.metadata, deletionTimestamp: created },
    spec: { ...pending.spec, volumeName: "pvc-1" },
    status: { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] },
  };
  const table = tableFor(info, [pending, bound], { now });
  assert.deepEqual(table.columnDefinitions.map((c) => c.name), [
    "Name",
    "Status",
    "Volume",
    "Capacity",
    "Access Modes",
    "StorageClass",
    "VolumeAttributesClass",
    "Age",
    "VolumeMode",
  ]);
  assert.deepEqual(table.rows[0].cells.slice(0, 6), ["data", "Pending", "", "", "", "local-path"]);
  assert.deepEqual(table.rows[1].cells.slice(0, 6), [
    "data",
    "Terminating",
    "pvc-1",
    "1Gi",
    "RWO",
    "local-path",
  ]);
});

Deno.test("kubectl get sc marks the default class", () => {
  const table = tableFor({
    group: "storage.k8s.io",
    kind: "StorageClass",
    plural: "storageclasses",
  }, [{
    metadata: {
      name: "local-path",
      creationTimestamp: created,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: "skiff.io/local-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  }], { now });
  assert.deepEqual(table.rows[0].cells, [
    "local-path (default)",
    "skiff.io/local-path",
    "Delete",
    "WaitForFirstConsumer",
    false,
    "10m",
  ]);
});
