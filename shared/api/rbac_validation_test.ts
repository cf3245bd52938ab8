import assert from "node:assert/strict";
import { InvalidError } from "../errors.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

const G = "rbac.authorization.k8s.io";
const info = (plural: string) => findResource(G, "v1", plural)!;

function causes(plural: string, obj: unknown): string[] {
  try {
    validateCreate(info(plural), obj);
    return [];
  } catch (e) {
    if (!(e instanceof InvalidError)) throw e;
    return e.toStatus().details!.causes!.map((c) => `${c.field}: ${c.message}`);
  }
}

Deno.test("RBAC objects are validated as kube-apiserver does", () => {
  const cases: [string, string, unknown, string[]][] = [
    ["role ok", "roles", {
      metadata: { name: "system:a", namespace: "d" },
      rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }],
    }, []],
    ["name is a path segment", "roles", { metadata: { name: "a/b", namespace: "d" } }, [
      `metadata.name: Invalid value: "a/b": may not contain '/'`,
    ]],
    ["rule needs verbs, groups and resources", "roles", {
      metadata: { name: "a", namespace: "d" },
      rules: [{ verbs: [] }],
    }, [
      "rules[0].verbs: Required value: verbs must contain at least one value",
      "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
      "rules[0].resources: Required value: resource rules must supply at least one resource",
    ]],
    ["namespaced rules have no URLs", "roles", {
      metadata: { name: "a", namespace: "d" },
      rules: [{ verbs: ["get"], nonResourceURLs: ["/metrics"] }],
    }, [
      `rules[0].nonResourceURLs: Invalid value: ["/metrics"]: namespaced rules cannot apply to non-resource URLs`,
    ]],
    ["aggregationRule needs a selector", "clusterroles", {
      metadata: { name: "a" },
      aggregationRule: {},
    }, [
      "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil",
    ]],
    ["cluster binding refers to a ClusterRole", "clusterrolebindings", {
      metadata: { name: "a" },
      roleRef: { kind: "Role", name: "r" },
      subjects: [{ kind: "ServiceAccount", name: "sa" }, { kind: "Robot", name: "x" }],
    }, [
      `roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
      "subjects[0].namespace: Required value",
      `subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`,
    ]],
    ["binding subjects default their apiGroup", "rolebindings", {
      metadata: { name: "a", namespace: "d" },
      roleRef: { kind: "Role", name: "r" },
      subjects: [{ kind: "User", name: "u" }, { kind: "ServiceAccount", name: "sa" }],
    }, []],
  ];
  for (const [name, plural, obj, want] of cases) assert.deepEqual(causes(plural, obj), want, name);
});

Deno.test("binding subjects get the RBAC group for users and groups, no group for ServiceAccounts", () => {
  const rb = validateCreate(info("rolebindings"), {
    metadata: { name: "a", namespace: "d" },
    roleRef: { kind: "Role", name: "r", apiGroup: "" },
    subjects: [
      { kind: "User", name: "u" },
      { kind: "Group", name: "g", apiGroup: "" },
      { kind: "ServiceAccount", name: "sa" },
      { kind: "ServiceAccount", name: "sb", apiGroup: "" },
    ],
  });
  assert.deepEqual(rb.subjects, [
    { kind: "User", name: "u", apiGroup: G },
    { kind: "Group", name: "g", apiGroup: G },
    { kind: "ServiceAccount", name: "sa" },
    { kind: "ServiceAccount", name: "sb" },
  ]);
  assert.deepEqual(rb.roleRef, { kind: "Role", name: "r", apiGroup: G });
  const crb = validateCreate(info("clusterrolebindings"), {
    metadata: { name: "a" },
    roleRef: { kind: "ClusterRole", name: "r" },
    subjects: [{ kind: "ServiceAccount", name: "sa", namespace: "d" }],
  });
  assert.deepEqual(crb.roleRef, { kind: "ClusterRole", name: "r", apiGroup: G });
  assert.deepEqual(crb.subjects, [{ kind: "ServiceAccount", name: "sa", namespace: "d" }]);
});

Deno.test("a binding's roleRef cannot change", () => {
  const rb = validateCreate(info("rolebindings"), {
    metadata: { name: "a", namespace: "d" },
    roleRef: { kind: "Role", name: "r" },
  });
  assert.equal(rb.roleRef.apiGroup, G);
  assert.throws(
    () =>
      validateUpdate(info("rolebindings"), { ...rb, roleRef: { ...rb.roleRef, name: "s" } }, rb),
    /roleRef: Invalid value: .*cannot change roleRef/,
  );
});
