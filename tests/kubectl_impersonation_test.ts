/**
 * Impersonation with the real kubectl (`--as`, `--as-group`, `--as-uid`): an admin acts as
 * alice (and alice in the group devs) and gets exactly what RBAC grants them, `kubectl auth
 * whoami` and `kubectl auth can-i` answer for the impersonated user; a `view` token without the
 * `impersonate` verb is refused with Kubernetes' 403, then may impersonate what a ClusterRole
 * names and nothing else; the bootstrap `edit` ClusterRole lets its holder impersonate the
 * ServiceAccounts of its namespace only, and an `edit` token may impersonate ServiceAccounts
 * but not users.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, waitKubectl } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";
import { TokenStore } from "../server/auth/token_store.ts";

/** The `Username`/`Groups` rows of `kubectl auth whoami`'s table. */
function whoami(stdout: string): { username?: string; groups?: string } {
  const rows = parseTable(stdout);
  return {
    username: rows.find((r) => r.ATTRIBUTE === "Username")?.VALUE,
    groups: rows.find((r) => r.ATTRIBUTE === "Groups")?.VALUE,
  };
}

Deno.test({
  name: "kubectl --as/--as-group: impersonation authorized by RBAC, acted and answered as the " +
    "impersonated user",
  ignore: !haveKubectl(),
  async fn(t) {
    // Controllers run for the ClusterRole aggregation controller (edit's impersonate rule).
    const server = await startTestServer();
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-impersonation-" });
    const admin = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const suffix = crypto.randomUUID().slice(0, 6);
    const a = `a-${suffix}`;
    const b = `b-${suffix}`;
    const tokens = await TokenStore.open(`${server.dataDir}/tokens.json`);
    const viewer = await tokens.create("view", { description: "impersonation test viewer" });
    const viewerName = `token:${viewer.record.id}`;
    const asViewer = (args: string[]) => kubectl(admin, ["--token", viewer.token, ...args]);
    try {
      await kubectlOk(admin, ["create", "namespace", a]);
      await kubectlOk(admin, ["create", "namespace", b]);
      // alice may write ConfigMaps in a; the group devs may list pods there.
      await kubectlOk(admin, [
        "create",
        "role",
        "cm",
        "--verb=create,get",
        "--resource=cm",
        "-n",
        a,
      ]);
      await kubectlOk(admin, ["create", "rolebinding", "cm", "--role=cm", "--user=alice", "-n", a]);
      await kubectlOk(admin, ["create", "role", "pods", "--verb=list", "--resource=pods", "-n", a]);
      await kubectlOk(admin, [
        "create",
        "rolebinding",
        "pods",
        "--role=pods",
        "--group=devs",
        "-n",
        a,
      ]);

      await t.step("an admin acts and asks as alice, and as alice in devs", async () => {
        await waitKubectl(
          admin,
          ["auth", "can-i", "create", "configmaps", "-n", a, "--as=alice"],
          (out) => out.trim() === "yes",
          { what: "alice's RoleBinding in effect" },
        );
        const no = await kubectl(admin, [
          "auth",
          "can-i",
          "create",
          "configmaps",
          "-n",
          b,
          "--as=alice",
        ]);
        assert.equal(no.stdout.trim(), "no");
        assert.equal(no.code, 1);
        await kubectlOk(admin, [
          "create",
          "configmap",
          "c1",
          "--from-literal=k=v",
          "-n",
          a,
          "--as=alice",
        ]);
        const elsewhere = await kubectl(admin, [
          "create",
          "configmap",
          "c1",
          "--from-literal=k=v",
          "-n",
          b,
          "--as=alice",
        ]);
        assert.notEqual(elsewhere.code, 0);
        assert.match(
          elsewhere.stderr,
          new RegExp(
            `configmaps is forbidden: User "alice" cannot create resource "configmaps" in API ` +
              `group "" in the namespace "${b}"`,
          ),
        );
        // The group is what lets alice list pods; the admin's own rights are gone.
        const pods = await kubectl(admin, ["get", "pods", "-n", a, "--as=alice"]);
        assert.match(pods.stderr, /pods is forbidden: User "alice" cannot list resource "pods"/);
        await waitKubectl(
          admin,
          ["auth", "can-i", "list", "pods", "-n", a, "--as=alice", "--as-group=devs"],
          (out) => out.trim() === "yes",
          { what: "the devs RoleBinding in effect" },
        );
        await kubectlOk(admin, ["get", "pods", "-n", a, "--as=alice", "--as-group=devs"]);

        const who = whoami(
          await kubectlOk(admin, ["auth", "whoami", "--as=alice", "--as-group=devs"]),
        );
        assert.deepEqual(who, { username: "alice", groups: "[devs system:authenticated]" });
        const json = JSON.parse(
          await kubectlOk(admin, [
            "auth",
            "whoami",
            "--as=alice",
            "--as-group=devs",
            "--as-group=qa",
            "--as-uid=1234",
            "-o",
            "json",
          ]),
        );
        assert.deepEqual(json.status.userInfo, {
          username: "alice",
          uid: "1234",
          groups: ["devs", "qa", "system:authenticated"],
        });
      });

      await t.step("a caller without the impersonate verb is refused with a 403", async () => {
        const refused = await asViewer(["get", "configmaps", "-n", a, "--as=alice"]);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          new RegExp(
            `Error from server \\(Forbidden\\): users "alice" is forbidden: User "${viewerName}" ` +
              `cannot impersonate resource "users" in API group "" at the cluster scope`,
          ),
        );
        const canI = await asViewer(["auth", "can-i", "impersonate", "users/alice"]);
        assert.equal(canI.stdout.trim(), "no");
      });

      await t.step("RBAC lets the viewer impersonate alice and devs, nothing else", async () => {
        await kubectlOk(admin, [
          "create",
          "clusterrole",
          `impersonate-${suffix}`,
          "--verb=impersonate",
          "--resource=users,groups",
          "--resource-name=alice",
          "--resource-name=devs",
        ]);
        await kubectlOk(admin, [
          "create",
          "clusterrolebinding",
          `impersonate-${suffix}`,
          `--clusterrole=impersonate-${suffix}`,
          `--user=${viewerName}`,
        ]);
        await waitKubectl(
          admin,
          ["--token", viewer.token, "auth", "can-i", "impersonate", "users/alice"],
          (out) => out.trim() === "yes",
          { what: "the viewer's impersonate ClusterRoleBinding in effect" },
        );
        const listed = await asViewer(["get", "pods", "-n", a, "--as=alice", "--as-group=devs"]);
        assert.equal(listed.code, 0, listed.stderr);
        // As alice, the viewer's own `view` role no longer applies.
        const inB = await asViewer(["get", "pods", "-n", b, "--as=alice"]);
        assert.match(inB.stderr, /pods is forbidden: User "alice" cannot list resource "pods"/);
        assert.equal((await asViewer(["get", "pods", "-n", b])).code, 0);
        const bob = await asViewer(["get", "pods", "-n", a, "--as=bob"]);
        assert.match(
          bob.stderr,
          new RegExp(
            `users "bob" is forbidden: User "${viewerName}" cannot impersonate resource "users"`,
          ),
        );
        const ops = await asViewer(["get", "pods", "-n", a, "--as=alice", "--as-group=ops"]);
        assert.match(
          ops.stderr,
          new RegExp(
            `groups "ops" is forbidden: User "${viewerName}" cannot impersonate resource "groups" ` +
              `in API group "" at the cluster scope`,
          ),
        );
      });

      await t.step("edit impersonates the ServiceAccounts of its namespace only", async () => {
        const editor = await tokens.create("view", { description: "impersonation test editor" });
        const editorName = `token:${editor.record.id}`;
        await kubectlOk(admin, [
          "create",
          "rolebinding",
          "editor",
          "--clusterrole=edit",
          `--user=${editorName}`,
          "-n",
          a,
        ]);
        const sa = `system:serviceaccount:${a}:default`;
        await waitKubectl(
          admin,
          ["--token", editor.token, "auth", "can-i", "impersonate", "serviceaccounts", "-n", a],
          (out) => out.trim() === "yes",
          { what: "edit aggregated and bound in the namespace" },
        );
        const who = whoami(
          await kubectlOk(admin, ["--token", editor.token, "auth", "whoami", `--as=${sa}`]),
        );
        assert.deepEqual(who, {
          username: sa,
          groups: `[system:serviceaccounts system:serviceaccounts:${a} system:authenticated]`,
        });
        // The request is the ServiceAccount's, which RBAC grants nothing.
        const asSa = await kubectl(admin, [
          "--token",
          editor.token,
          "get",
          "pods",
          "-n",
          a,
          `--as=${sa}`,
        ]);
        assert.match(
          asSa.stderr,
          new RegExp(`pods is forbidden: User "${sa}" cannot list resource "pods"`),
        );
        const otherNs = await kubectl(admin, [
          "--token",
          editor.token,
          "get",
          "pods",
          "-n",
          b,
          `--as=system:serviceaccount:${b}:default`,
        ]);
        assert.match(
          otherNs.stderr,
          new RegExp(
            `serviceaccounts "default" is forbidden: User "${editorName}" cannot impersonate ` +
              `resource "serviceaccounts" in API group "" in the namespace "${b}"`,
          ),
        );

        // An `edit` token role, like the edit ClusterRole, may impersonate ServiceAccounts only.
        const editToken = (await tokens.create("edit", { description: "impersonation test" }))
          .token;
        const whoSa = await kubectl(admin, ["--token", editToken, "auth", "whoami", `--as=${sa}`]);
        assert.equal(whoami(whoSa.stdout).username, sa, whoSa.stderr);
        // (`auth whoami` would hide the 403 behind "not enabled or no permission".)
        const user = await kubectl(admin, ["--token", editToken, "get", "pods", "--as=alice"]);
        assert.match(
          user.stderr,
          /users "alice" is forbidden: .* cannot impersonate resource "users"/,
        );
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
