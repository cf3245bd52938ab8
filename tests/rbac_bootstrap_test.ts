/**
 * The bootstrap RBAC policy across restarts: a built-in ClusterRole or binding a user trimmed is
 * restored at the next start, one annotated `rbac.authorization.kubernetes.io/autoupdate:
 * "false"` is left as the user made it, and a user's own additions survive.
 */
import assert from "node:assert/strict";
import { CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES } from "../shared/client/refs.ts";
import { startTestServer } from "./test_utils.ts";

Deno.test("bootstrap ClusterRoles are reconciled at start unless autoupdate is false", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-rbac-bootstrap-" });
  try {
    const first = await startTestServer({ dataDir, controllers: false });
    try {
      const c = first.client;
      const extra = { verbs: ["get"], apiGroups: ["example.com"], resources: ["widgets"] };
      const basic = await c.get(CLUSTER_ROLES, "system:basic-user");
      await c.update(CLUSTER_ROLES, { ...basic, rules: [extra] });
      const discovery = await c.get(CLUSTER_ROLES, "system:discovery");
      await c.update(CLUSTER_ROLES, {
        ...discovery,
        metadata: {
          ...discovery.metadata,
          annotations: { "rbac.authorization.kubernetes.io/autoupdate": "false" },
        },
        rules: [{ verbs: ["get"], nonResourceURLs: ["/version"] }],
      });
      const admins = await c.get(CLUSTER_ROLE_BINDINGS, "cluster-admin");
      await c.update(CLUSTER_ROLE_BINDINGS, { ...admins, subjects: [] });
    } finally {
      await first.stop();
    }
    const second = await startTestServer({ dataDir, controllers: false });
    try {
      const c = second.client;
      const basic = await c.get(CLUSTER_ROLES, "system:basic-user");
      const resources = basic.rules.flatMap((r: { resources: string[] }) => r.resources);
      assert.ok(resources.includes("widgets"), "the user's addition stays");
      assert.ok(resources.includes("selfsubjectaccessreviews"), "the built-in rules are back");
      const discovery = await c.get(CLUSTER_ROLES, "system:discovery");
      assert.deepEqual(discovery.rules, [{ verbs: ["get"], nonResourceURLs: ["/version"] }]);
      const admins = await c.get(CLUSTER_ROLE_BINDINGS, "cluster-admin");
      assert.deepEqual(admins.subjects.map((s: { name: string }) => s.name), ["system:masters"]);
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
