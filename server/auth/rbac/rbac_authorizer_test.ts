import assert from "node:assert/strict";
import { fixture } from "./_rbac_test_util.ts";
import type { AuthorizationAttributes } from "./policy_rule.ts";

const alice = { name: "alice", groups: ["system:authenticated"] };
const sa = {
  name: "system:serviceaccount:a:app",
  groups: ["system:serviceaccounts", "system:serviceaccounts:a", "system:authenticated"],
};

function req(verb: string, resource: string, namespace?: string): AuthorizationAttributes {
  return { verb, resourceRequest: true, apiGroup: "", resource, namespace };
}

Deno.test("RbacAuthorizer allows by User, ServiceAccount and Group subjects, per namespace", () => {
  const rbac = fixture();
  const cases: [string, { name: string; groups: string[] }, AuthorizationAttributes, boolean][] = [
    ["user in its namespace", alice, req("create", "configmaps", "a"), true],
    ["user elsewhere", alice, req("create", "configmaps", "c"), false],
    ["user other verb", alice, req("delete", "configmaps", "a"), false],
    ["SA via its binding's namespace", sa, req("list", "pods", "a"), true],
    ["SA in another namespace", sa, req("list", "pods", "b"), false],
    [
      "SA of another namespace",
      { ...sa, name: "system:serviceaccount:b:app" },
      req("list", "pods", "a"),
      false,
    ],
    [
      "group, non-resource URL",
      { name: "prom", groups: ["system:monitoring"] },
      { verb: "get", resourceRequest: false, path: "/metrics" },
      true,
    ],
  ];
  for (const [name, user, attrs, want] of cases) {
    assert.equal(rbac.authorize(user, attrs).allowed, want, name);
  }
});

Deno.test("RbacAuthorizer names the binding that allowed and the role it could not find", () => {
  const rbac = fixture();
  assert.equal(
    rbac.authorize(alice, req("create", "configmaps", "a")).reason,
    `RBAC: allowed by RoleBinding "cm-writer/a" of Role "cm-writer" to User "alice"`,
  );
  assert.deepEqual(rbac.authorize(alice, req("get", "pods", "b")), {
    allowed: false,
    reason: `RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found`,
  });
  assert.deepEqual(rbac.rulesFor(sa, "a").rules, [
    { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] },
  ]);
});
