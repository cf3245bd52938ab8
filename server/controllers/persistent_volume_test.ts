import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import {
  LOCAL_PATH_CLEANUP_FINALIZER,
  LOCAL_PATH_PROVISIONER,
  LOCAL_PATH_ROOT_ANNOTATION,
  PROVISIONED_BY_ANNOTATION,
} from "../../shared/local_path.ts";
import {
  FakeClock,
  FakeLister,
  FakeRecorder,
  type RecordedCall,
  RecordingClient,
} from "../../shared/testing/mod.ts";
import {
  BIND_COMPLETED_ANNOTATION,
  PersistentVolumeController,
  SELECTED_NODE_ANNOTATION,
} from "./persistent_volume.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** A recorded write in the table's short form: `update pv/x`, `status pvc/y=Bound`, ... */
function short(c: RecordedCall): string {
  const kind = c.resource === "persistentvolumes" ? "pv" : "pvc";
  const obj = c.body as Any;
  const name = c.name ?? obj?.metadata?.name;
  if (c.subresource === "status") return `status ${kind}/${name}=${obj.status.phase}`;
  return `${c.verb} ${kind}/${name}`;
}

function claim(extra: { spec?: Any; metadata?: Any; status?: Any } = {}): KubeObject {
  return {
    metadata: {
      name: "data",
      namespace: "default",
      uid: "c-1",
      resourceVersion: "5",
      ...extra.metadata,
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      volumeMode: "Filesystem",
      ...extra.spec,
    },
    status: { phase: "Pending", ...extra.status },
  };
}

function volume(
  name: string,
  extra: { spec?: Any; metadata?: Any; status?: Any } = {},
): KubeObject {
  return {
    metadata: { name, resourceVersion: "3", ...extra.metadata },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      volumeMode: "Filesystem",
      hostPath: { path: `/srv/${name}` },
      ...extra.spec,
    },
    status: { phase: "Available", ...extra.status },
  };
}

const LOCAL_PATH = {
  metadata: { name: "local-path" },
  provisioner: LOCAL_PATH_PROVISIONER,
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
};
const MANUAL = {
  metadata: { name: "manual" },
  provisioner: "kubernetes.io/no-provisioner",
  volumeBindingMode: "Immediate",
};
const NODE = {
  metadata: {
    name: "pi-1",
    labels: { "kubernetes.io/hostname": "pi-1" },
    annotations: { [LOCAL_PATH_ROOT_ANNOTATION]: "/var/lib/skiff/storage" },
  },
};
const REF = {
  kind: "PersistentVolumeClaim",
  apiVersion: "v1",
  namespace: "default",
  name: "data",
  uid: "c-1",
  resourceVersion: "5",
};

interface Case {
  name: string;
  claims?: KubeObject[];
  volumes?: KubeObject[];
  classes?: Any[];
  sync: ["claim", string] | ["volume", string];
  calls: string[];
  events?: string[];
  check?: (bodies: Any[]) => void;
}

const CASES: Case[] = [
  {
    name: "an unbound claim takes the smallest matching free volume (volume side first)",
    claims: [claim({ spec: { storageClassName: "manual" } })],
    volumes: [
      volume("big", { spec: { storageClassName: "manual", capacity: { storage: "10Gi" } } }),
      volume("small", { spec: { storageClassName: "manual", capacity: { storage: "2Gi" } } }),
      volume("tiny", { spec: { storageClassName: "manual", capacity: { storage: "500Mi" } } }),
      volume("rox", { spec: { storageClassName: "manual", accessModes: ["ReadOnlyMany"] } }),
      volume("other-class", { spec: { storageClassName: "fast" } }),
    ],
    sync: ["claim", "default/data"],
    calls: ["update pv/small", "status pv/small=Bound"],
    check: (calls) => {
      assert.deepEqual(calls[0].spec.claimRef, REF);
      assert.equal(
        calls[0].metadata.annotations["pv.kubernetes.io/bound-by-controller"],
        "yes",
      );
    },
  },
  {
    name: "the claim's selector limits the volumes it can bind",
    claims: [
      claim({ spec: { storageClassName: "manual", selector: { matchLabels: { disk: "ssd" } } } }),
    ],
    volumes: [
      volume("hdd", {
        spec: { storageClassName: "manual" },
        metadata: { labels: { disk: "hdd" } },
      }),
      volume("ssd", {
        spec: { storageClassName: "manual", capacity: { storage: "5Gi" } },
        metadata: { labels: { disk: "ssd" } },
      }),
    ],
    sync: ["claim", "default/data"],
    calls: ["update pv/ssd", "status pv/ssd=Bound"],
  },
  {
    name: "a volume whose claimRef names the claim completes the claim's side and status",
    claims: [claim({ spec: { storageClassName: "manual" } })],
    volumes: [
      volume("pv-1", {
        spec: { storageClassName: "manual", claimRef: REF },
        status: { phase: "Bound" },
      }),
    ],
    sync: ["claim", "default/data"],
    calls: ["update pvc/data", "status pvc/data=Bound"],
    check: (calls) => {
      assert.equal(calls[0].spec.volumeName, "pv-1");
      assert.equal(calls[0].metadata.annotations[BIND_COMPLETED_ANNOTATION], "yes");
      assert.deepEqual(calls[1].status.capacity, { storage: "1Gi" });
      assert.deepEqual(calls[1].status.accessModes, ["ReadWriteOnce"]);
    },
  },
  {
    name: "no matching volume and no class: the claim stays Pending with FailedBinding",
    claims: [claim({ spec: { storageClassName: "" } })],
    volumes: [volume("small-one", { spec: { capacity: { storage: "100Mi" } } })],
    sync: ["claim", "default/data"],
    calls: [],
    events: [
      "Normal FailedBinding no persistent volumes available for this claim and no storage class is set",
    ],
  },
  {
    name: "a WaitForFirstConsumer claim without a selected node waits",
    claims: [claim({ spec: { storageClassName: "local-path" } })],
    sync: ["claim", "default/data"],
    calls: [],
    events: ["Normal WaitForFirstConsumer waiting for first consumer to be created before binding"],
  },
  {
    name: "a local-path claim with a selected node gets a provisioned volume on that node",
    claims: [
      claim({
        spec: { storageClassName: "local-path" },
        metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "pi-1" } },
      }),
    ],
    sync: ["claim", "default/data"],
    calls: ["create pv/pvc-c-1"],
    events: [
      "Normal ProvisioningSucceeded Successfully provisioned volume pvc-c-1 using skiff.io/local-path",
    ],
    check: (calls) => {
      const pv = calls[0];
      assert.deepEqual(pv.spec.hostPath, {
        path: "/var/lib/skiff/storage/pvc-c-1",
        type: "DirectoryOrCreate",
      });
      assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Delete");
      assert.equal(pv.spec.storageClassName, "local-path");
      assert.deepEqual(pv.spec.claimRef, REF);
      assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions, [
        { key: "kubernetes.io/hostname", operator: "In", values: ["pi-1"] },
      ]);
      assert.deepEqual(pv.metadata.finalizers, [LOCAL_PATH_CLEANUP_FINALIZER]);
      assert.equal(pv.metadata.annotations[PROVISIONED_BY_ANNOTATION], LOCAL_PATH_PROVISIONER);
    },
  },
  {
    name: "a claim created without a class gets the default class once there is one",
    claims: [claim()],
    classes: [{
      ...LOCAL_PATH,
      metadata: {
        name: "local-path",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
    }],
    sync: ["claim", "default/data"],
    calls: ["update pvc/data"],
    check: (calls) => assert.equal(calls[0].spec.storageClassName, "local-path"),
  },
  {
    name: "a bound claim whose volume is gone is Lost",
    claims: [claim({ spec: { volumeName: "gone" }, status: { phase: "Bound" } })],
    sync: ["claim", "default/data"],
    calls: ["status pvc/data=Lost"],
    events: [
      "Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!",
    ],
  },
  {
    name: "a free volume is Available",
    volumes: [volume("pv-1", { status: { phase: "Pending" } })],
    sync: ["volume", "pv-1"],
    calls: ["status pv/pv-1=Available"],
  },
  {
    name: "a Retain volume whose claim is gone is Released and kept",
    volumes: [volume("pv-1", { spec: { claimRef: REF }, status: { phase: "Bound" } })],
    sync: ["volume", "pv-1"],
    calls: ["status pv/pv-1=Released"],
  },
  {
    name: "a provisioned Delete volume whose claim is gone is Released and deleted",
    volumes: [volume("pvc-c-1", {
      spec: { claimRef: REF, persistentVolumeReclaimPolicy: "Delete" },
      metadata: { annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER } },
      status: { phase: "Bound" },
    })],
    sync: ["volume", "pvc-c-1"],
    calls: ["status pv/pvc-c-1=Released", "delete pv/pvc-c-1"],
  },
  {
    name: "a manual Delete volume cannot be deleted: Failed, as without a deleter plugin",
    volumes: [
      volume("pv-1", {
        spec: { claimRef: REF, persistentVolumeReclaimPolicy: "Delete" },
        status: { phase: "Bound" },
      }),
    ],
    sync: ["volume", "pv-1"],
    calls: ["status pv/pv-1=Released", "status pv/pv-1=Failed"],
    events: [
      'Warning VolumeFailedDelete error getting deleter volume plugin for volume "pv-1": no deletable volume plugin matched',
    ],
  },
  {
    name: "a claim re-created with the same name does not take the released volume",
    claims: [claim({ metadata: { uid: "c-2" } })],
    volumes: [volume("pv-1", { spec: { claimRef: REF }, status: { phase: "Bound" } })],
    sync: ["volume", "pv-1"],
    calls: ["status pv/pv-1=Released"],
  },
];

for (const c of CASES) {
  Deno.test(`PersistentVolumeController: ${c.name}`, async () => {
    const client = new RecordingClient();
    const recorder = new FakeRecorder();
    const controller = new PersistentVolumeController({
      listers: {
        claims: new FakeLister(c.claims),
        volumes: new FakeLister(c.volumes),
        classes: new FakeLister((c.classes ?? [LOCAL_PATH, MANUAL]) as KubeObject[]),
        nodes: new FakeLister([NODE] as KubeObject[]),
      },
      client,
      recorder,
      clock: new FakeClock("2026-01-01T00:00:00Z"),
    });
    if (c.sync[0] === "claim") await controller.syncClaim(c.sync[1]);
    else await controller.syncVolume(c.sync[1]);
    assert.deepEqual(client.writes().map(short), c.calls);
    if (c.events) {
      assert.deepEqual(recorder.events.map((e) => `${e.type} ${e.reason} ${e.message}`), c.events);
    }
    c.check?.(client.writes().map((w) => w.body));
  });
}
