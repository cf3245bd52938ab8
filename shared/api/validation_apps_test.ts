import assert from "node:assert/strict";
import { InvalidError, type StatusCause } from "../errors.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const DAEMONSETS = findResource("apps", "v1", "daemonsets")!;
const STATEFULSETS = findResource("apps", "v1", "statefulsets")!;
const REVISIONS = findResource("apps", "v1", "controllerrevisions")!;

function causes(fn: () => unknown): StatusCause[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidError) return e.causes;
    throw e;
  }
  return [];
}

const template = (extra: Any = {}) => ({
  metadata: { labels: { app: "x" } },
  spec: { containers: [{ name: "c", image: "busybox" }], ...extra },
});

function ds(spec: Any = {}): Any {
  return {
    metadata: { name: "x", namespace: "default" },
    spec: { selector: { matchLabels: { app: "x" } }, template: template(), ...spec },
  };
}

function sts(spec: Any = {}): Any {
  return {
    metadata: { name: "web", namespace: "default" },
    spec: {
      serviceName: "nginx",
      selector: { matchLabels: { app: "x" } },
      template: template(),
      ...spec,
    },
  };
}

Deno.test("a DaemonSet gets Kubernetes' defaults", () => {
  const d = validateCreate(DAEMONSETS, ds()) as Any;
  assert.deepEqual(d.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  const onDelete = validateCreate(DAEMONSETS, ds({ updateStrategy: { type: "OnDelete" } })) as Any;
  assert.deepEqual(onDelete.spec.updateStrategy, { type: "OnDelete" });
});

Deno.test("DaemonSet validation names the field, as kube-apiserver", () => {
  const cases: [Any, string, RegExp][] = [
    [ds({ selector: { matchLabels: { app: "y" } } }), "spec.template.metadata.labels", /selector/],
    [
      ds({ updateStrategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }),
      "spec.updateStrategy.rollingUpdate.maxUnavailable",
      /may not be 0 when `maxSurge` is 0/,
    ],
    [
      ds({ updateStrategy: { type: "OnDelete", rollingUpdate: { maxUnavailable: 1 } } }),
      "spec.updateStrategy.rollingUpdate",
      /OnDelete/,
    ],
    [
      ds({ template: template({ restartPolicy: "Never" }) }),
      "spec.template.spec.restartPolicy",
      /Always/,
    ],
  ];
  for (const [obj, field, message] of cases) {
    const c = causes(() => validateCreate(DAEMONSETS, obj)).find((x) => x.field === field);
    assert.ok(c, `no cause on ${field}`);
    assert.match(c.message, message);
  }
});

Deno.test("a StatefulSet gets defaults, and its claim templates are mountable and validated", () => {
  const s = validateCreate(
    STATEFULSETS,
    sts({
      template: template({
        containers: [{
          name: "c",
          image: "busybox",
          volumeMounts: [{ name: "www", mountPath: "/www" }],
        }],
      }),
      volumeClaimTemplates: [{
        metadata: { name: "www" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      }],
    }),
  ) as Any;
  assert.equal(s.spec.replicas, 1);
  assert.equal(s.spec.podManagementPolicy, "OrderedReady");
  assert.deepEqual(s.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { partition: 0 },
  });
  assert.deepEqual(s.spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Retain",
    whenScaled: "Retain",
  });

  const bad = causes(() =>
    validateCreate(
      STATEFULSETS,
      sts({
        volumeClaimTemplates: [{ metadata: { name: "www" }, spec: { volumeMode: "Block" } }],
        updateStrategy: { rollingUpdate: { maxUnavailable: 2 } },
      }),
    )
  );
  assert.ok(bad.some((c) => c.field === "spec.volumeClaimTemplates[0].spec.volumeMode"));
  assert.ok(bad.some((c) => c.field === "spec.updateStrategy.rollingUpdate.maxUnavailable"));
});

Deno.test("only some StatefulSet spec fields may change; a revision's data never", () => {
  const old = validateCreate(STATEFULSETS, sts()) as Any;
  const scaled = structuredClone(old);
  scaled.spec.replicas = 5;
  assert.equal((validateUpdate(STATEFULSETS, scaled, old) as Any).spec.replicas, 5);
  const renamed = structuredClone(old);
  renamed.spec.serviceName = "other";
  const c = causes(() => validateUpdate(STATEFULSETS, renamed, old));
  assert.equal(c[0]?.field, "spec");
  assert.match(c[0].message, /updates to statefulset spec for fields other than 'replicas'/);

  const rev = validateCreate(REVISIONS, {
    metadata: { name: "web-1", namespace: "default" },
    data: { spec: { template: { $patch: "replace" } } },
    revision: 1,
  }) as Any;
  const renumbered = { ...structuredClone(rev), revision: 3 };
  assert.equal((validateUpdate(REVISIONS, renumbered, rev) as Any).revision, 3);
  const changed = { ...structuredClone(rev), data: { spec: {} } };
  assert.equal(causes(() => validateUpdate(REVISIONS, changed, rev))[0]?.field, "data");
});
