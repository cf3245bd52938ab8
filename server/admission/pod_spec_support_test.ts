import assert from "node:assert/strict";
import { InvalidError } from "../../shared/errors.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { AdmissionAttributes } from "./admission.ts";
import { podSpecSupportAdmission } from "./pod_spec_support.ts";

const nfs = { name: "data", nfs: { server: "nfs.example", path: "/x" } };

function pod(volumes: unknown[], extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: { containers: [{ name: "c", image: "nginx" }], volumes, ...extra },
  };
}

function attrs(operation: "CREATE" | "UPDATE", object: KubeObject, oldObject?: KubeObject) {
  const a: AdmissionAttributes = {
    operation,
    resource: "pods",
    group: "",
    kind: "Pod",
    namespace: "default",
    name: "web",
    object,
    oldObject,
    dryRun: false,
    warnings: [],
  };
  return a;
}

Deno.test("pod spec support refuses a field the node does not honour on create and when an update adds it", () => {
  const admit = podSpecSupportAdmission();
  assert.throws(() => admit(attrs("CREATE", pod([nfs]))), InvalidError);
  assert.throws(() => admit(attrs("UPDATE", pod([nfs]), pod([]))), InvalidError);
});

Deno.test("pod spec support lets updates through that keep what was stored (same spec, or other changes)", () => {
  const admit = podSpecSupportAdmission();
  const stored = pod([nfs]);
  // A finalizer or label change: the spec is the stored one.
  const relabelled = { ...structuredClone(stored), metadata: { name: "web", labels: { a: "b" } } };
  admit(attrs("UPDATE", relabelled, stored));
  // A binding: the spec changes, but the refused field was there before.
  admit(attrs("UPDATE", pod([nfs], { nodeName: "n1" }), stored));
});

Deno.test("pod spec support on update names only what the update adds, in a field it changes", () => {
  const admit = podSpecSupportAdmission();
  const stored = pod([nfs]);
  const iscsi = { name: "disk", iscsi: { targetPortal: "10.0.0.1", iqn: "iqn.x", lun: 0 } };
  assert.throws(
    () => admit(attrs("UPDATE", pod([nfs, iscsi], { hostUsers: false }), stored)),
    (e: unknown) => {
      assert.ok(e instanceof InvalidError);
      assert.deepEqual(e.causes.map((c) => c.field).sort(), [
        "spec.hostUsers",
        "spec.volumes[1].iscsi",
      ]);
      return true;
    },
  );
});
