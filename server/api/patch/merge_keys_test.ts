import assert from "node:assert/strict";
import { fieldPatchMeta, rootTypeFor } from "./merge_keys.ts";

function at(kind: string, path: string[]) {
  let type = rootTypeFor(kind);
  let meta = {};
  for (const field of path) {
    meta = fieldPatchMeta(type, field);
    type = (meta as { type: typeof type }).type;
  }
  const { strategy, mergeKey } = meta as { strategy?: string; mergeKey?: string };
  return { strategy, mergeKey };
}

Deno.test("merge keys come from the schemas' Kubernetes patch annotations", () => {
  assert.deepEqual(at("Pod", ["spec", "containers"]), { strategy: "merge", mergeKey: "name" });
  assert.deepEqual(at("Pod", ["spec", "volumes"]), { strategy: "merge", mergeKey: "name" });
  assert.deepEqual(at("Deployment", ["spec", "template", "spec", "containers", "ports"]), {
    strategy: "merge",
    mergeKey: "containerPort",
  });
  assert.deepEqual(at("ReplicaSet", ["spec", "template", "spec", "containers", "env"]), {
    strategy: "merge",
    mergeKey: "name",
  });
  assert.deepEqual(at("Pod", ["spec", "containers", "volumeMounts"]), {
    strategy: "merge",
    mergeKey: "mountPath",
  });
  assert.deepEqual(at("Service", ["spec", "ports"]), { strategy: "merge", mergeKey: "port" });
  assert.deepEqual(at("Service", ["metadata", "ownerReferences"]), {
    strategy: "merge",
    mergeKey: "uid",
  });
  assert.deepEqual(at("Node", ["metadata", "finalizers"]), {
    strategy: "merge",
    mergeKey: undefined,
  });
  assert.deepEqual(at("Node", ["status", "conditions"]), { strategy: "merge", mergeKey: "type" });
});

Deno.test("lists without annotations are replaced; unknown kinds keep ObjectMeta semantics", () => {
  assert.deepEqual(at("Pod", ["spec", "tolerations"]), {
    strategy: undefined,
    mergeKey: undefined,
  });
  assert.deepEqual(at("Node", ["spec", "taints"]), { strategy: undefined, mergeKey: undefined });
  assert.deepEqual(at("Pod", ["spec", "containers", "command"]), {
    strategy: undefined,
    mergeKey: undefined,
  });
  assert.deepEqual(at("Widget", ["metadata", "ownerReferences"]), {
    strategy: "merge",
    mergeKey: "uid",
  });
  assert.deepEqual(at("Widget", ["spec", "items"]), { strategy: undefined, mergeKey: undefined });
});
