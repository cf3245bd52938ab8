import assert from "node:assert/strict";
import type { KubeObject } from "../../../shared/api/object.ts";
import { ForbiddenError, NotFoundError } from "../../../shared/errors.ts";
import type { AdmissionAttributes } from "../../admission/admission.ts";
import type { User } from "../authorizer.ts";
import { fixture } from "./_rbac_test_util.ts";
import { compactRules, confirmNoEscalation, rbacEscalationAdmission } from "./escalation.ts";

const G = "rbac.authorization.k8s.io";
const alice: User = { name: "alice", role: "serviceaccount", groups: ["system:authenticated"] };

function write(
  resource: string,
  object: Record<string, unknown>,
  options: { user?: User; namespace?: string; old?: KubeObject } = {},
): AdmissionAttributes {
  return {
    operation: options.old ? "UPDATE" : "CREATE",
    resource,
    group: G,
    kind: "",
    namespace: options.namespace,
    name: "x",
    object: { metadata: { name: "x", namespace: options.namespace }, ...object } as KubeObject,
    oldObject: options.old,
    dryRun: false,
    warnings: [],
    user: "user" in options ? options.user : alice,
  };
}

const cmCreate = [{ verbs: ["create"], apiGroups: [""], resources: ["configmaps"] }];
const podDelete = [{ verbs: ["delete"], apiGroups: [""], resources: ["pods"] }];

Deno.test("confirmNoEscalation() allows held rules and names the missing ones as Kubernetes", () => {
  const rbac = fixture();
  assert.equal(confirmNoEscalation(alice, cmCreate, "a", rbac), undefined);
  assert.equal(
    confirmNoEscalation(alice, cmCreate, "c", rbac),
    `user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions ` +
      `not currently held:\n{APIGroups:[""], Resources:["configmaps"], Verbs:["create"]}`,
  );
  // Token roles count as held: a view token holds get on pods, not delete.
  const viewer: User = { name: "token:v", role: "view", groups: ["system:authenticated"] };
  const get = [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }];
  assert.equal(confirmNoEscalation(viewer, get, "c", rbac), undefined);
  assert.match(confirmNoEscalation(viewer, podDelete, "c", rbac)!, /Verbs:\["delete"\]/);
});

Deno.test("compactRules() merges atoms that differ only by verb", () => {
  assert.deepEqual(
    compactRules([
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      { verbs: ["list"], apiGroups: [""], resources: ["pods"] },
      { verbs: ["get"], nonResourceURLs: ["/x"] },
    ]),
    [
      { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] },
      { verbs: ["get"], nonResourceURLs: ["/x"] },
    ],
  );
});

Deno.test("rbacEscalationAdmission() refuses what the writer does not hold, as Kubernetes", async () => {
  const admit = rbacEscalationAdmission(fixture());
  const cases: [string, AdmissionAttributes, string | undefined][] = [
    ["role with held rules", write("roles", { rules: cmCreate }, { namespace: "a" }), undefined],
    ["role with more", write("roles", { rules: podDelete }, { namespace: "a" }), "Forbidden"],
    ["server's own write", write("roles", { rules: podDelete }, { user: undefined }), undefined],
    [
      "system:masters",
      write("clusterroles", { rules: podDelete }, {
        user: { name: "root", role: "serviceaccount", groups: ["system:masters"] },
      }),
      undefined,
    ],
    [
      "admin token role holds everything",
      write("clusterroles", { rules: podDelete }, {
        user: { name: "token:a", role: "admin", groups: [] },
      }),
      undefined,
    ],
    [
      "aggregationRule needs everything",
      write("clusterroles", {
        rules: [],
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "b" } }] },
      }),
      "Forbidden",
    ],
    [
      "binding to a held role",
      write("rolebindings", { roleRef: { apiGroup: G, kind: "Role", name: "cm-writer" } }, {
        namespace: "a",
      }),
      undefined,
    ],
    [
      "binding to a role not held",
      write("clusterrolebindings", {
        roleRef: { apiGroup: G, kind: "ClusterRole", name: "pod-reader" },
      }),
      "Forbidden",
    ],
    [
      "binding to a missing role",
      write("clusterrolebindings", { roleRef: { apiGroup: G, kind: "ClusterRole", name: "no" } }),
      "NotFound",
    ],
    [
      "update changing only finalizers",
      write("roles", { rules: podDelete }, {
        namespace: "a",
        old: { metadata: { name: "x", namespace: "a", finalizers: ["f"] }, rules: podDelete },
      }),
      undefined,
    ],
  ];
  for (const [name, attrs, want] of cases) {
    try {
      await admit(attrs);
      assert.equal(want, undefined, `${name}: admitted`);
    } catch (e) {
      const got = e instanceof ForbiddenError
        ? "Forbidden"
        : e instanceof NotFoundError
        ? "NotFound"
        : String(e);
      assert.equal(got, want, name);
    }
  }
});

Deno.test("an edit token may not escalate or bind: those verbs are admin's", async () => {
  const admit = rbacEscalationAdmission(fixture());
  const edit: User = { name: "token:e", role: "edit", groups: ["system:authenticated"] };
  // edit holds pod deletion itself, so it may write a role granting it ...
  await admit(write("roles", { rules: podDelete }, { namespace: "a", user: edit }));
  // ... but not one granting `bind`, nor a binding of cluster-admin-like rules it does not hold.
  await assert.rejects(
    async () =>
      await admit(write("roles", {
        rules: [{ verbs: ["bind"], apiGroups: [G], resources: ["clusterroles"] }],
      }, { namespace: "a", user: edit })),
    ForbiddenError,
  );
});
