import assert from "node:assert/strict";
import { BadRequestError } from "../../../shared/errors.ts";
import { applyStrategicMergePatch } from "./strategic_merge_patch.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const POD = { apiVersion: "v1", kind: "Pod" };
const SERVICE = { apiVersion: "v1", kind: "Service" };

function deployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      labels: { app: "web" },
      annotations: { a: "1" },
      finalizers: ["x", "y"],
    },
    spec: {
      replicas: 2,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "a",
              image: "nginx:1",
              env: [{ name: "E1", value: "1" }, { name: "E2", value: "2" }],
              ports: [{ containerPort: 80, protocol: "TCP" }],
              volumeMounts: [{ name: "v", mountPath: "/data" }],
            },
            { name: "b", image: "busybox", command: ["sleep", "1d"] },
          ],
          volumes: [{ name: "v", emptyDir: {} }],
          tolerations: [{ key: "k1", operator: "Exists" }],
        },
      },
    },
  };
}

type D = ReturnType<typeof deployment>;

Deno.test("SMP: kubectl rollout restart adds a template annotation, nothing else changes", () => {
  const before = deployment();
  const out = applyStrategicMergePatch(before, {
    spec: {
      template: {
        metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-28T16:19:06Z" } },
      },
    },
  }, DEPLOYMENT) as unknown as D & { spec: { template: { metadata: { annotations: object } } } };
  assert.deepEqual(out.spec.template.metadata.annotations, {
    "kubectl.kubernetes.io/restartedAt": "2026-11-28T16:19:06Z",
  });
  assert.deepEqual(out.spec.template.spec, deployment().spec.template.spec);
  assert.deepEqual(before, deployment(), "input untouched");
});

Deno.test("SMP: kubectl set image merges containers by name and keeps $setElementOrder", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
          containers: [{ image: "busybox:2", name: "b" }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  const cs = out.spec.template.spec.containers;
  assert.deepEqual(cs.map((c) => c.name), ["a", "b"]);
  assert.equal(cs[0].image, "nginx:1");
  assert.equal(cs[1].image, "busybox:2");
  assert.deepEqual(cs[1].command, ["sleep", "1d"], "unpatched fields of b stay");
});

Deno.test("SMP: $setElementOrder reorders, interleaving server-only elements", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "c" }, { name: "b" }],
          containers: [{ name: "c", image: "new" }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  // a is server-only (not in the order list) and was first; c is new; then b.
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ["c", "a", "b"]);

  const swapped = applyStrategicMergePatch(deployment(), {
    spec: { template: { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "a" }] } } },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(swapped.spec.template.spec.containers.map((c) => c.name), ["b", "a"]);
});

Deno.test("SMP: $patch: delete removes a container by name (kubectl apply)", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }],
          containers: [{ $patch: "delete", name: "b" }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ["a"]);
});

Deno.test("SMP: env by name, ports by containerPort, volumeMounts by mountPath", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          containers: [{
            name: "a",
            "$setElementOrder/env": [{ name: "E3" }, { name: "E1" }],
            env: [{ name: "E3", value: "3" }, { name: "E2", $patch: "delete" }, {
              name: "E1",
              value: "one",
            }],
            ports: [{ containerPort: 80, name: "http" }, { containerPort: 443 }],
            volumeMounts: [{ mountPath: "/data", readOnly: true }],
          }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  const a = out.spec.template.spec.containers[0];
  assert.deepEqual(a.env, [{ name: "E3", value: "3" }, { name: "E1", value: "one" }]);
  assert.deepEqual(a.ports, [{ containerPort: 80, protocol: "TCP", name: "http" }, {
    containerPort: 443,
  }]);
  assert.deepEqual(a.volumeMounts, [{ name: "v", mountPath: "/data", readOnly: true }]);
  assert.equal(out.spec.template.spec.containers.length, 2, "b untouched");
});

Deno.test("SMP: merged lists follow the patch order, server-only elements keep their place", () => {
  const base = {
    metadata: { name: "p" },
    spec: {
      containers: [{ name: "c", image: "i" }, { name: "s", image: "i" }, { name: "d", image: "i" }],
    },
  };
  const reordered = applyStrategicMergePatch(base, {
    spec: { containers: [{ name: "d", image: "j" }, { name: "c", image: "j" }] },
  }, POD) as typeof base;
  // d and c take the patch order; s preceded d in the live list, so it stays before d.
  assert.deepEqual(reordered.spec.containers.map((c) => c.name), ["s", "d", "c"]);

  // The design example: live C,B,D,A,E with $setElementOrder A,B.
  const live = {
    spec: {
      template: { spec: { containers: ["C", "B", "D", "A", "E"].map((name) => ({ name })) } },
    },
  };
  const out = applyStrategicMergePatch(live, {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "A" }, { name: "B" }],
          containers: [{ name: "A", image: "a" }, { name: "B", image: "b" }],
        },
      },
    },
  }, DEPLOYMENT) as typeof live;
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ["C", "D", "A", "B", "E"]);
});

Deno.test("SMP: lists without a merge key (tolerations, command) are replaced", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          tolerations: [{ key: "k2", operator: "Exists" }],
          containers: [{ name: "b", command: ["sh"] }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(out.spec.template.spec.tolerations, [{ key: "k2", operator: "Exists" }]);
  assert.deepEqual(out.spec.template.spec.containers[1].command, ["sh"]);
});

Deno.test("SMP: $retainKeys drops unlisted keys (strategy Recreate, volume source change)", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null },
      template: {
        spec: {
          volumes: [{ $retainKeys: ["hostPath", "name"], name: "v", hostPath: { path: "/tmp" } }],
        },
      },
    },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  assert.deepEqual(out.spec.template.spec.volumes, [{ name: "v", hostPath: { path: "/tmp" } }]);
});

Deno.test("SMP: finalizers merge as a set; $deleteFromPrimitiveList removes values", () => {
  const out = applyStrategicMergePatch(deployment(), {
    metadata: { finalizers: ["z", "x"], "$deleteFromPrimitiveList/finalizers": ["y"] },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(out.metadata.finalizers, ["z", "x"], "patch order wins for patched values");
  const ordered = applyStrategicMergePatch(deployment(), {
    metadata: { "$setElementOrder/finalizers": ["y", "x"] },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(ordered.metadata.finalizers, ["y", "x"]);
});

Deno.test("SMP: $patch: replace on a map and on a list; $patch: delete on a map; null deletes", () => {
  const replacedMap = applyStrategicMergePatch(deployment(), {
    metadata: { labels: { $patch: "replace", tier: "front" } },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(replacedMap.metadata.labels, { tier: "front" });

  const replacedList = applyStrategicMergePatch(deployment(), {
    spec: {
      template: { spec: { containers: [{ name: "only", image: "x" }, { $patch: "replace" }] } },
    },
  }, DEPLOYMENT) as unknown as D;
  assert.deepEqual(replacedList.spec.template.spec.containers, [{ name: "only", image: "x" }]);

  const deletedMap = applyStrategicMergePatch(deployment(), {
    spec: { strategy: { $patch: "delete" } },
    metadata: { annotations: null },
  }, DEPLOYMENT) as unknown as D;
  assert.equal("strategy" in deletedMap.spec, false);
  assert.equal("annotations" in deletedMap.metadata, false);
});

Deno.test("SMP: Service ports merge by port; ownerReferences by uid; conditions by type", () => {
  const svc = {
    metadata: {
      name: "s",
      ownerReferences: [{ uid: "u1", name: "o1", kind: "X", apiVersion: "v1" }],
    },
    spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 53, protocol: "UDP" }] },
  };
  const out = applyStrategicMergePatch(svc, {
    metadata: { ownerReferences: [{ uid: "u2", name: "o2", kind: "X", apiVersion: "v1" }] },
    spec: { ports: [{ port: 80, targetPort: 9090 }] },
  }, SERVICE) as typeof svc;
  assert.deepEqual(out.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 53, protocol: "UDP" }]);
  // A new element cannot be placed relative to the live ones: like Kubernetes, it goes first.
  assert.deepEqual(out.metadata.ownerReferences.map((o) => o.uid), ["u2", "u1"]);

  const pod = {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "i" }] },
    status: {
      conditions: [{ type: "Ready", status: "False" }, { type: "PodScheduled", status: "True" }],
    },
  };
  const ready = applyStrategicMergePatch(pod, {
    status: { conditions: [{ type: "Ready", status: "True" }] },
  }, POD) as typeof pod;
  assert.deepEqual(ready.status.conditions, [{ type: "Ready", status: "True" }, {
    type: "PodScheduled",
    status: "True",
  }]);
});

Deno.test("SMP: pod spec containers merge directly under Pod spec", () => {
  const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i1" }] } };
  const out = applyStrategicMergePatch(pod, {
    spec: { containers: [{ name: "c", image: "i2" }] },
  }, POD) as typeof pod;
  assert.deepEqual(out.spec.containers, [{ name: "c", image: "i2" }]);
});

Deno.test("SMP: unknown kinds merge maps and replace lists", () => {
  const cm = { metadata: { name: "c" }, data: { a: "1", b: "2" }, list: [1, 2] };
  const out = applyStrategicMergePatch(cm, { data: { b: null, c: "3" }, list: [3] }, {
    apiVersion: "v1",
    kind: "ConfigMap",
  });
  assert.deepEqual(out, { metadata: { name: "c" }, data: { a: "1", c: "3" }, list: [3] });
});

Deno.test("SMP: new elements and maps are added without directives or nulls", () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: {
      template: {
        spec: {
          containers: [{
            name: "c",
            image: "i",
            env: [{ name: "X", value: "1", $patch: "merge" }],
          }],
          nodeSelector: { disk: "ssd", gone: null },
        },
      },
    },
  }, DEPLOYMENT) as unknown as D & { spec: { template: { spec: { nodeSelector: object } } } };
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ["c", "a", "b"]);
  assert.deepEqual(out.spec.template.spec.containers[0], {
    name: "c",
    image: "i",
    env: [{ name: "X", value: "1" }],
  });
  assert.deepEqual(out.spec.template.spec.nodeSelector, { disk: "ssd" });
});

Deno.test("SMP: malformed patches are 400s", () => {
  assert.throws(() => applyStrategicMergePatch(deployment(), [1], DEPLOYMENT), BadRequestError);
  assert.throws(
    () =>
      applyStrategicMergePatch(deployment(), {
        spec: { template: { spec: { containers: [{ image: "no-name" }] } } },
      }, DEPLOYMENT),
    { message: 'map: {"image":"no-name"} does not contain declared merge key: name' },
  );
  assert.throws(
    () => applyStrategicMergePatch(deployment(), { metadata: { $patch: "frob" } }, DEPLOYMENT),
    BadRequestError,
  );
});
