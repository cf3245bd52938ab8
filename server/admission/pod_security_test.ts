/** Tests of the Pod Security admission plugin's request handling (no server). */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import type { AdmissionAttributes } from "./admission.ts";
import { podSecurityAdmission } from "./pod_security.ts";
import { SKIFF_POD_SECURITY } from "./pod_security_configuration.ts";

const admit = podSecurityAdmission({
  config: SKIFF_POD_SECURITY,
  namespace: (name) => ({ metadata: { name } }),
  pods: () => [],
});

const hostPod = (image: string): KubeObject => ({
  metadata: { name: "p", namespace: "default" },
  spec: { hostPID: true, containers: [{ name: "c", image }] },
});

function attrs(over: Partial<AdmissionAttributes>): AdmissionAttributes {
  return {
    operation: "CREATE",
    resource: "pods",
    group: "",
    kind: "Pod",
    namespace: "default",
    name: "p",
    object: hostPod("a"),
    dryRun: false,
    warnings: [],
    ...over,
  };
}

Deno.test("pod updates are checked only when an image changes, as upstream", () => {
  // A stored violating pod (e.g. from before the namespace's level rose) can still be relabelled.
  const relabelled = hostPod("a");
  relabelled.metadata.labels = { x: "y" };
  admit(attrs({ operation: "UPDATE", object: relabelled, oldObject: hostPod("a") }));
  assert.throws(
    () => admit(attrs({ operation: "UPDATE", object: hostPod("b"), oldObject: hostPod("a") })),
    /violates PodSecurity "baseline:latest": host namespaces \(hostPID=true\)/,
  );
});

Deno.test("pod templates of every workload kind are warned about, not refused", () => {
  const template = { metadata: {}, spec: hostPod("a").spec };
  const objects: [string, string, KubeObject][] = [
    ["deployments", "apps", { metadata: { name: "w" }, spec: { template } }],
    ["statefulsets", "apps", { metadata: { name: "w" }, spec: { template } }],
    ["jobs", "batch", { metadata: { name: "w" }, spec: { template } }],
    [
      "cronjobs",
      "batch",
      { metadata: { name: "w" }, spec: { jobTemplate: { spec: { template } } } },
    ],
  ];
  for (const [resource, group, object] of objects) {
    const a = attrs({ resource, group, kind: "X", name: "w", object });
    admit(a);
    assert.deepEqual(a.warnings, [
      'would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)',
    ], resource);
  }
  // Other kinds are not Pod Security's business.
  const cm = attrs({ resource: "configmaps", object: { metadata: { name: "c" } } });
  admit(cm);
  assert.deepEqual(cm.warnings, []);
});
