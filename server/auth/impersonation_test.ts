import assert from "node:assert/strict";
import { ApiError } from "../../shared/errors.ts";
import { groupsOf, type User } from "./authorizer.ts";
import { impersonate, impersonationRequests } from "./impersonation.ts";
import { authorizerOver, obj } from "./rbac/_rbac_test_util.ts";
import type { Role } from "./token_store.ts";

const G = "rbac.authorization.k8s.io";
const AUTHN = "authentication.k8s.io";

/**
 * alice may impersonate the user jane, the group devs, any `scopes` extra and the uid 1234
 * (cluster-wide); bob may impersonate ServiceAccounts of namespace `a` only.
 */
const rbac = authorizerOver({
  clusterRoles: [
    obj("ClusterRole", "impersonator", undefined, {
      rules: [
        { verbs: ["impersonate"], apiGroups: [""], resources: ["users"], resourceNames: ["jane"] },
        { verbs: ["impersonate"], apiGroups: [""], resources: ["groups"], resourceNames: ["devs"] },
        { verbs: ["impersonate"], apiGroups: [AUTHN], resources: ["userextras/scopes"] },
        {
          verbs: ["impersonate"],
          apiGroups: [AUTHN],
          resources: ["uids"],
          resourceNames: ["1234"],
        },
      ],
    }),
    obj("ClusterRole", "sa-impersonator", undefined, {
      rules: [{ verbs: ["impersonate"], apiGroups: [""], resources: ["serviceaccounts"] }],
    }),
  ],
  clusterRoleBindings: [
    obj("ClusterRoleBinding", "alice", undefined, {
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "impersonator" },
      subjects: [{ kind: "User", apiGroup: G, name: "alice" }],
    }),
  ],
  roleBindings: [
    obj("RoleBinding", "bob", "a", {
      roleRef: { apiGroup: G, kind: "ClusterRole", name: "sa-impersonator" },
      subjects: [{ kind: "User", apiGroup: G, name: "bob" }],
    }),
  ],
});

const roleOf = (name: string): Role | undefined => name === "token:v" ? "view" : undefined;

const token = (role: Role): User => ({
  name: `token:${role}`,
  role,
  groups: groupsOf(role),
  ...(role === "node" ? { nodeName: "n1" } : {}),
});
const rbacUser = (name: string): User => ({
  name,
  role: "serviceaccount",
  groups: ["system:authenticated"],
});
const admin = token("admin");
const alice = rbacUser("alice");
const bob = rbacUser("bob");

const SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:a", "system:authenticated"];

/** What impersonating should give: the user acted as, or a Status code and message. */
type Expected = { user: User } | { code: number; message: string };

const cases: { name: string; caller: User; headers: [string, string][]; want: Expected }[] = [
  {
    name: "an admin token acts as jane, in system:authenticated",
    caller: admin,
    headers: [["Impersonate-User", "jane"]],
    want: { user: { name: "jane", role: "serviceaccount", groups: ["system:authenticated"] } },
  },
  {
    name: "given groups come first, system:authenticated is added",
    caller: admin,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Group", "devs"], [
      "Impersonate-Group",
      "qa",
    ]],
    want: {
      user: {
        name: "jane",
        role: "serviceaccount",
        groups: ["devs", "qa", "system:authenticated"],
      },
    },
  },
  {
    name: "system:authenticated asked for is not repeated",
    caller: admin,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Group", "system:authenticated"]],
    want: { user: { name: "jane", role: "serviceaccount", groups: ["system:authenticated"] } },
  },
  {
    name: "system:unauthenticated asked for keeps system:authenticated out",
    caller: admin,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Group", "system:unauthenticated"]],
    want: { user: { name: "jane", role: "serviceaccount", groups: ["system:unauthenticated"] } },
  },
  {
    name: "the anonymous user is in system:unauthenticated",
    caller: admin,
    headers: [["Impersonate-User", "system:anonymous"]],
    want: {
      user: {
        name: "system:anonymous",
        role: "serviceaccount",
        groups: ["system:unauthenticated"],
      },
    },
  },
  {
    name: "a ServiceAccount gets its groups",
    caller: admin,
    headers: [["Impersonate-User", "system:serviceaccount:a:app"]],
    want: {
      user: { name: "system:serviceaccount:a:app", role: "serviceaccount", groups: SA_GROUPS },
    },
  },
  {
    name: "given groups replace a ServiceAccount's",
    caller: admin,
    headers: [["Impersonate-User", "system:serviceaccount:a:app"], ["Impersonate-Group", "devs"]],
    want: {
      user: {
        name: "system:serviceaccount:a:app",
        role: "serviceaccount",
        groups: ["devs", "system:authenticated"],
      },
    },
  },
  {
    name: "extras (percent-encoded keys, repeated values) and the uid",
    caller: admin,
    headers: [
      ["Impersonate-User", "jane"],
      ["Impersonate-Extra-Scopes", "view"],
      ["Impersonate-Extra-Scopes", "edit"],
      ["Impersonate-Extra-example.com%2Fteam", "blue"],
      ["Impersonate-Uid", "1234"],
    ],
    want: {
      user: {
        name: "jane",
        role: "serviceaccount",
        groups: ["system:authenticated"],
        uid: "1234",
        extra: { "example.com/team": ["blue"], scopes: ["view", "edit"] },
      },
    },
  },
  {
    name: "an impersonated token user keeps its token role",
    caller: admin,
    headers: [["Impersonate-User", "token:v"]],
    want: { user: { name: "token:v", role: "view", groups: ["system:authenticated"] } },
  },
  {
    name: "RBAC lets alice be jane in devs with scopes and uid 1234",
    caller: alice,
    headers: [
      ["Impersonate-User", "jane"],
      ["Impersonate-Group", "devs"],
      ["Impersonate-Extra-scopes", "view"],
      ["Impersonate-Uid", "1234"],
    ],
    want: {
      user: {
        name: "jane",
        role: "serviceaccount",
        groups: ["devs", "system:authenticated"],
        uid: "1234",
        extra: { scopes: ["view"] },
      },
    },
  },
  {
    name: "an edit token may impersonate a ServiceAccount, as Kubernetes' edit role",
    caller: token("edit"),
    headers: [["Impersonate-User", "system:serviceaccount:a:app"]],
    want: {
      user: { name: "system:serviceaccount:a:app", role: "serviceaccount", groups: SA_GROUPS },
    },
  },
  {
    name: "RBAC in namespace a lets bob be a ServiceAccount of a",
    caller: bob,
    headers: [["Impersonate-User", "system:serviceaccount:a:app"]],
    want: {
      user: { name: "system:serviceaccount:a:app", role: "serviceaccount", groups: SA_GROUPS },
    },
  },
  {
    name: "a view token may not impersonate",
    caller: token("view"),
    headers: [["Impersonate-User", "jane"]],
    want: {
      code: 403,
      message: 'users "jane" is forbidden: User "token:view" cannot impersonate resource ' +
        '"users" in API group "" at the cluster scope',
    },
  },
  {
    name: "an edit token may not impersonate users",
    caller: token("edit"),
    headers: [["Impersonate-User", "jane"]],
    want: {
      code: 403,
      message: 'users "jane" is forbidden: User "token:edit" cannot impersonate resource ' +
        '"users" in API group "" at the cluster scope',
    },
  },
  {
    name: "a node token may not impersonate",
    caller: token("node"),
    headers: [["Impersonate-User", "system:serviceaccount:a:app"]],
    want: {
      code: 403,
      message: 'serviceaccounts "app" is forbidden: User "token:node" cannot impersonate ' +
        'resource "serviceaccounts" in API group "" in the namespace "a"',
    },
  },
  {
    name: "a join token may not impersonate",
    caller: token("join"),
    headers: [["Impersonate-User", "jane"]],
    want: {
      code: 403,
      message: 'users "jane" is forbidden: User "token:join" cannot impersonate resource ' +
        '"users" in API group "" at the cluster scope',
    },
  },
  {
    name: "alice may not be bob",
    caller: alice,
    headers: [["Impersonate-User", "bob"]],
    want: {
      code: 403,
      message: 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" ' +
        'in API group "" at the cluster scope',
    },
  },
  {
    name: "every group is checked: alice may not add ops",
    caller: alice,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Group", "devs"], [
      "Impersonate-Group",
      "ops",
    ]],
    want: {
      code: 403,
      message: 'groups "ops" is forbidden: User "alice" cannot impersonate resource "groups" ' +
        'in API group "" at the cluster scope',
    },
  },
  {
    name: "an extra key is the subresource checked",
    caller: alice,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Extra-team", "blue"]],
    want: {
      code: 403,
      message: 'userextras.authentication.k8s.io "blue" is forbidden: User "alice" cannot ' +
        'impersonate resource "userextras/team" in API group "authentication.k8s.io" at the ' +
        "cluster scope",
    },
  },
  {
    name: "a uid is checked by name",
    caller: alice,
    headers: [["Impersonate-User", "jane"], ["Impersonate-Uid", "999"]],
    want: {
      code: 403,
      message: 'uids.authentication.k8s.io "999" is forbidden: User "alice" cannot ' +
        'impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope',
    },
  },
  {
    name: "bob's RoleBinding does not reach namespace b",
    caller: bob,
    headers: [["Impersonate-User", "system:serviceaccount:b:app"]],
    want: {
      code: 403,
      message: 'serviceaccounts "app" is forbidden: User "bob" cannot impersonate resource ' +
        '"serviceaccounts" in API group "" in the namespace "b"',
    },
  },
  {
    name: "a malformed ServiceAccount name is a user name",
    caller: bob,
    headers: [["Impersonate-User", "system:serviceaccount:A:app"]],
    want: {
      code: 403,
      message: 'users "system:serviceaccount:A:app" is forbidden: User "bob" cannot impersonate ' +
        'resource "users" in API group "" at the cluster scope',
    },
  },
  {
    name: "groups without a user are a bad request",
    caller: admin,
    headers: [["Impersonate-Group", "devs"]],
    want: { code: 400, message: "requested [{Group  devs    }] without impersonating a user" },
  },
  {
    name: "a uid and extras without a user are a bad request",
    caller: admin,
    headers: [["Impersonate-Extra-scopes", "view"], ["Impersonate-Uid", "1234"]],
    want: {
      code: 400,
      message: "requested [{UserExtra  view  authentication.k8s.io/v1  scopes} " +
        "{UID  1234  authentication.k8s.io/v1  }] without impersonating a user",
    },
  },
];

for (const c of cases) {
  Deno.test(`impersonate(): ${c.name}`, () => {
    const headers = new Headers();
    for (const [k, v] of c.headers) headers.append(k, v);
    let got: Expected;
    try {
      got = { user: impersonate(c.caller, headers, { rbac, roleOf }) };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      got = { code: e.code, message: e.message };
    }
    assert.deepEqual(got, c.want);
  });
}

Deno.test("impersonate(): without Impersonate-* headers the caller is unchanged", () => {
  const headers = new Headers({ authorization: "Bearer x", "x-impersonate-user": "jane" });
  assert.deepEqual(impersonationRequests(headers), []);
  const caller = token("view");
  assert.deepEqual(impersonate(caller, headers, { rbac, roleOf }) === caller, true);
});
