import assert from "node:assert/strict";
import type { KubeObject } from "../../../shared/api/object.ts";
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./bootstrap_policy.ts";
import { reconcileBinding, reconcileRole } from "./bootstrap.ts";

const roles = () => bootstrapClusterRoles() as KubeObject[];

Deno.test("the bootstrap policy has Kubernetes' user-facing roles and their bindings", () => {
  const byName = new Map(roles().map((r) => [r.metadata.name, r]));
  for (
    const n of ["cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user"]
  ) {
    assert.ok(byName.has(n), n);
  }
  assert.equal(
    byName.get("edit")!.metadata.labels!["rbac.authorization.k8s.io/aggregate-to-admin"],
    "true",
  );
  assert.equal(
    byName.get("view")!.metadata.labels!["rbac.authorization.k8s.io/aggregate-to-edit"],
    "true",
  );
  const bindings = bootstrapClusterRoleBindings();
  assert.deepEqual(
    bindings.find((b) => b.metadata.name === "cluster-admin")!.subjects,
    [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:masters" }],
  );
});

Deno.test("reconcileRole() adds back missing rules and labels, keeps additions, leaves aggregated rules", () => {
  const expected = roles().find((r) => r.metadata.name === "system:basic-user")!;
  const extra = { verbs: ["get"], apiGroups: [""], resources: ["pods"] };
  const trimmed = { ...structuredClone(expected), rules: [extra] };
  trimmed.metadata.labels = {};
  const next = reconcileRole(trimmed, expected)!;
  assert.deepEqual(next.rules, [extra, ...expected.rules]);
  assert.equal(next.metadata.labels!["kubernetes.io/bootstrapping"], "rbac-defaults");
  assert.equal(reconcileRole(next, expected), undefined);

  const view = roles().find((r) => r.metadata.name === "view")!;
  const filled = { ...structuredClone(view), rules: [extra] };
  assert.equal(reconcileRole(filled, view), undefined);
});

Deno.test("reconcileBinding() adds missing subjects and restores the roleRef", () => {
  const expected = bootstrapClusterRoleBindings()[0] as KubeObject;
  const changed = structuredClone(expected);
  changed.subjects = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "bob" }];
  changed.roleRef = { ...changed.roleRef, name: "view" };
  const next = reconcileBinding(changed, expected)!;
  assert.deepEqual(next.subjects.map((s: { name: string }) => s.name), ["bob", "system:masters"]);
  assert.equal(next.roleRef.name, "cluster-admin");
});
