import assert from "node:assert/strict";
import { InvalidError } from "../errors.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

const pvInfo = findResource("", "v1", "persistentvolumes")!;
const pvcInfo = findResource("", "v1", "persistentvolumeclaims")!;
const scInfo = findResource("storage.k8s.io", "v1", "storageclasses")!;

function causes(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidError) {
      return e.causes.map((c) => `${c.field}: ${c.message}`);
    }
    throw e;
  }
  assert.fail("expected an InvalidError");
}

const PV = {
  metadata: { name: "pv-a" },
  spec: {
    capacity: { storage: "1Gi" },
    accessModes: ["ReadWriteOnce"],
    hostPath: { path: "/srv/a" },
  },
};

Deno.test("a PersistentVolume defaults to Retain and Filesystem, status Pending", () => {
  const pv = validateCreate(pvInfo, PV);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
  assert.equal(pv.spec.volumeMode, "Filesystem");
  assert.equal(pv.status.phase, "Pending");
});

Deno.test("PersistentVolume validation: modes, capacity, one supported source", () => {
  const table: [string, unknown, string[]][] = [
    ["no modes", { ...PV, spec: { ...PV.spec, accessModes: [] } }, [
      "spec.accessModes: Required value: at least 1 access mode is required",
    ]],
    ["no capacity", { ...PV, spec: { ...PV.spec, capacity: undefined } }, [
      "spec.capacity: Required value",
    ]],
    ["zero capacity", { ...PV, spec: { ...PV.spec, capacity: { storage: "0" } } }, [
      'spec.capacity[storage]: Invalid value: "0": must be greater than zero',
    ]],
    ["no source", { ...PV, spec: { ...PV.spec, hostPath: undefined } }, [
      "spec: Required value: must specify a volume type",
    ]],
    ["nfs", { ...PV, spec: { ...PV.spec, hostPath: undefined, nfs: { server: "s", path: "/" } } }, [
      "spec.nfs: Forbidden: nfs volumes are not supported by Skiff (hostPath and local are)",
    ]],
    ["relative path", { ...PV, spec: { ...PV.spec, hostPath: { path: "a" } } }, [
      'spec.hostPath.path: Invalid value: "a": must be an absolute path',
    ]],
    ["local without affinity", {
      ...PV,
      spec: { ...PV.spec, hostPath: undefined, local: { path: "/srv/a" } },
    }, ["spec.nodeAffinity: Required value: Local volumes require node affinity"]],
    ["Recycle", { ...PV, spec: { ...PV.spec, persistentVolumeReclaimPolicy: "Recycle" } }, [
      'spec.persistentVolumeReclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
    ]],
    ["Block", { ...PV, spec: { ...PV.spec, volumeMode: "Block" } }, [
      'spec.volumeMode: Unsupported value: "Block": supported values: "Filesystem"',
    ]],
  ];
  for (const [name, obj, want] of table) {
    assert.deepEqual(causes(() => validateCreate(pvInfo, obj)), want, name);
  }
});

Deno.test("a PersistentVolume's source and node affinity are immutable", () => {
  const pv = validateCreate(pvInfo, PV);
  const moved = structuredClone(pv);
  moved.spec.hostPath.path = "/srv/b";
  assert.deepEqual(causes(() => validateUpdate(pvInfo, moved, pv)), [
    "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
  ]);
  const bound = structuredClone(pv);
  bound.spec.claimRef = { namespace: "default", name: "data", uid: "u" };
  assert.equal(validateUpdate(pvInfo, bound, pv).spec.claimRef.name, "data");
});

const PVC = {
  metadata: { name: "data", namespace: "default" },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
};

Deno.test("PersistentVolumeClaim validation: modes and a storage request", () => {
  const table: [string, unknown, string[]][] = [
    ["no request", { ...PVC, spec: { accessModes: ["ReadWriteOnce"] } }, [
      "spec.resources[storage]: Required value",
    ]],
    ["RWOP with others", {
      ...PVC,
      spec: { ...PVC.spec, accessModes: ["ReadWriteOncePod", "ReadWriteOnce"] },
    }, ["spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"]],
    ["clone", {
      ...PVC,
      spec: { ...PVC.spec, dataSource: { kind: "PersistentVolumeClaim", name: "x" } },
    }, [
      "spec.dataSource: Forbidden: volume populators and cloning are not supported by Skiff",
    ]],
  ];
  for (const [name, obj, want] of table) {
    assert.deepEqual(causes(() => validateCreate(pvcInfo, obj)), want, name);
  }
});

Deno.test("a claim's volumeName and an unset class may be filled in once; the rest is fixed", () => {
  const pvc = validateCreate(pvcInfo, PVC);
  const bound = structuredClone(pvc);
  bound.spec.volumeName = "pv-a";
  bound.spec.storageClassName = "local-path";
  const ok = validateUpdate(pvcInfo, bound, pvc);
  assert.equal(ok.spec.volumeName, "pv-a");
  const rebound = structuredClone(ok);
  rebound.spec.volumeName = "pv-b";
  assert.deepEqual(causes(() => validateUpdate(pvcInfo, rebound, ok)), [
    "spec: Forbidden: spec is immutable after creation except resources.requests and " +
    "volumeAttributesClassName for bound claims",
  ]);
  const bigger = structuredClone(ok);
  bigger.spec.resources.requests.storage = "2Gi";
  assert.deepEqual(causes(() => validateUpdate(pvcInfo, bigger, ok)), [
    "spec.resources.requests.storage: Forbidden: resizing a claim is not supported by Skiff",
  ]);
});

Deno.test("StorageClass defaults, required provisioner and immutable policies", () => {
  const sc = validateCreate(scInfo, {
    metadata: { name: "fast" },
    provisioner: "skiff.io/local-path",
  });
  assert.equal(sc.reclaimPolicy, "Delete");
  assert.equal(sc.volumeBindingMode, "Immediate");
  assert.deepEqual(
    causes(() => validateCreate(scInfo, { metadata: { name: "x" }, provisioner: "" })),
    [
      "provisioner: Required value",
    ],
  );
  const changed = { ...structuredClone(sc), reclaimPolicy: "Retain" };
  assert.deepEqual(causes(() => validateUpdate(scInfo, changed, sc)), [
    "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
  ]);
});
