import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION } from "../../shared/local_path.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { SchedulerCache } from "./cache.ts";
import { schedule } from "./framework.ts";
import { podInfo } from "./pod_info.ts";
import { defaultProfile } from "./profile.ts";
import { type PodVolumes, VolumeBinding } from "./volume_binding.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function node(name: string): KubeObject {
  return {
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name },
      annotations: { [LOCAL_PATH_ROOT_ANNOTATION]: `/data/${name}/storage` },
    },
    spec: {},
    status: {
      allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

function claim(name: string, extra: { spec?: Any; metadata?: Any } = {}): KubeObject {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, ...extra.metadata },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      ...extra.spec,
    },
  };
}

function onNode(name: string, nodeName: string, extra: Any = {}): KubeObject {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: `/srv/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{
              key: "kubernetes.io/hostname",
              operator: "In",
              values: [nodeName],
            }],
          }],
        },
      },
      ...extra,
    },
    status: { phase: "Available" },
  };
}

const CLASSES = [
  {
    metadata: { name: "local-path" },
    provisioner: LOCAL_PATH_PROVISIONER,
    volumeBindingMode: "WaitForFirstConsumer",
  },
  {
    metadata: { name: "local-static" },
    provisioner: "kubernetes.io/no-provisioner",
    volumeBindingMode: "WaitForFirstConsumer",
  },
  {
    metadata: { name: "immediate" },
    provisioner: "example.com/nas",
    volumeBindingMode: "Immediate",
  },
] as KubeObject[];

function podWith(...claims: string[]): KubeObject {
  return {
    metadata: { name: "db", namespace: "default" },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })),
    },
  };
}

function attempt(
  opts: { claims: KubeObject[]; volumes?: KubeObject[]; pod: KubeObject; pods?: KubeObject[] },
) {
  const client = new RecordingClient();
  const vb = new VolumeBinding({
    listers: {
      claims: new FakeLister(opts.claims),
      volumes: new FakeLister(opts.volumes ?? []),
      classes: new FakeLister(CLASSES),
      pods: new FakeLister(opts.pods ?? []),
    },
    client,
  });
  // The writes PreBind made, short: `pv <name> -> <claim>`, `pvc <name> <patch>`.
  const calls = {
    get list() {
      return client.writes().map((w) =>
        w.resource === "persistentvolumes"
          ? `pv ${w.name} -> ${(w.body as Any).spec.claimRef.name}`
          : `pvc ${w.name} ${JSON.stringify((w.body as Any).metadata.annotations)}`
      );
    },
  };
  const cache = new SchedulerCache();
  for (const n of [node("pi-1"), node("pi-2")]) cache.setNode(n);
  const state = vb.preFilter(opts.pod);
  if (state && "message" in state) return { message: `prefilter: ${state.message}`, calls, vb };
  const info = podInfo(opts.pod);
  info.volumes = state;
  const r = schedule(info, cache.nodes(), { profile: defaultProfile() });
  return {
    node: r.node?.name,
    message: "message" in r ? r.message : undefined,
    calls,
    vb,
    state,
    r,
  };
}

Deno.test("VolumeBinding PreFilter: missing, deleting and unbound immediate claims", () => {
  assert.equal(
    attempt({ claims: [], pod: podWith("data") }).message,
    'prefilter: persistentvolumeclaim "data" not found',
  );
  assert.equal(
    attempt({
      claims: [claim("data", { metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" } })],
      pod: podWith("data"),
    }).message,
    'prefilter: persistentvolumeclaim "data" is being deleted',
  );
  assert.equal(
    attempt({
      claims: [claim("data", { spec: { storageClassName: "immediate" } })],
      pod: podWith("data"),
    })
      .message,
    "prefilter: pod has unbound immediate PersistentVolumeClaims",
  );
});

Deno.test("VolumeBinding Filter: a bound volume pins the pod to its node", () => {
  const r = attempt({
    claims: [claim("data", { spec: { volumeName: "pv-2" } })],
    volumes: [onNode("pv-2", "pi-2")],
    pod: podWith("data"),
  });
  assert.equal(r.node, "pi-2");
  const none = attempt({
    claims: [claim("data", { spec: { volumeName: "pv-x" } })],
    volumes: [onNode("pv-x", "pi-9")],
    pod: podWith("data"),
  });
  assert.equal(
    none.message,
    "0/2 nodes are available: 2 node(s) had volume node affinity conflict.",
  );
});

Deno.test("VolumeBinding: a WFFC claim with a static volume goes to that node and PreBind binds it", async () => {
  const r = attempt({
    claims: [claim("data", { spec: { storageClassName: "local-static" } })],
    volumes: [onNode("pv-1", "pi-1", { storageClassName: "local-static" })],
    pod: podWith("data"),
  });
  assert.equal(r.node, "pi-1");
  await r.vb.preBind(r.state as PodVolumes, node("pi-1"));
  assert.deepEqual(r.calls.list, ["pv pv-1 -> data"]);
  const none = attempt({
    claims: [claim("data", { spec: { storageClassName: "local-static" } })],
    pod: podWith("data"),
  });
  assert.equal(
    none.message,
    "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind.",
  );
});

Deno.test("VolumeBinding: a local-path claim may go anywhere; PreBind selects the node", async () => {
  const r = attempt({
    claims: [claim("data", { spec: { storageClassName: "local-path" } })],
    pod: podWith("data"),
  });
  assert.ok(r.node === "pi-1" || r.node === "pi-2");
  await r.vb.preBind(r.state as PodVolumes, node("pi-2"));
  assert.deepEqual(r.calls.list, ['pvc data {"volume.kubernetes.io/selected-node":"pi-2"}']);
});

Deno.test("VolumeBinding PreFilter: a ReadWriteOncePod claim serves one scheduled pod", () => {
  const rwop = claim("solo", { spec: { accessModes: ["ReadWriteOncePod"], volumeName: "pv-1" } });
  const other = {
    ...podWith("solo"),
    metadata: { name: "first", namespace: "default", uid: "u-first" },
    spec: { ...podWith("solo").spec, nodeName: "pi-1" },
    status: { phase: "Running" },
  } as KubeObject;
  const second = {
    ...podWith("solo"),
    metadata: { name: "second", namespace: "default", uid: "u-2" },
  };
  assert.equal(
    attempt({ claims: [rwop], volumes: [onNode("pv-1", "pi-1")], pod: second, pods: [other] })
      .message,
    "prefilter: node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode",
  );
  const done = { ...other, status: { phase: "Succeeded" } } as KubeObject;
  assert.equal(
    attempt({ claims: [rwop], volumes: [onNode("pv-1", "pi-1")], pod: second, pods: [done] }).node,
    "pi-1",
  );
});
