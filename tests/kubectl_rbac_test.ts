/**
 * RBAC with the real kubectl: a `view` user token bound by a RoleBinding to a Role that allows
 * creating ConfigMaps may create them in that namespace and nowhere else; `kubectl auth can-i`
 * (incl. `--list`) and `kubectl auth whoami` answer for the token; escalation is refused with
 * Kubernetes' message; an exporter-style install (ClusterRole, ClusterRoleBinding to a
 * ServiceAccount, Role, RoleBinding) applies cleanly; aggregated ClusterRoles grow by label.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl, writeManifest } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";
import { TokenStore } from "../server/auth/token_store.ts";

const EXPORTER = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: exporter-SUFFIX
  labels: { app.kubernetes.io/name: exporter }
rules:
- apiGroups: [""]
  resources: [nodes, pods, services, endpoints]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, daemonsets]
  verbs: [list, watch]
- nonResourceURLs: [/metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: exporter-SUFFIX }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exporter-SUFFIX }
subjects:
- kind: ServiceAccount
  name: exporter
  namespace: mon-SUFFIX
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: exporter-leader, namespace: mon-SUFFIX }
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
  resourceNames: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: exporter-leader, namespace: mon-SUFFIX }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: exporter-leader }
subjects:
- { kind: ServiceAccount, name: exporter }
`;

/** kubectl posts `create --raw` bodies as they are: JSON. */
const SAR = JSON.stringify({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SubjectAccessReview",
  spec: {
    user: "system:serviceaccount:mon-SUFFIX:exporter",
    groups: ["system:serviceaccounts", "system:serviceaccounts:mon-SUFFIX", "system:authenticated"],
    resourceAttributes: { verb: "list", resource: "pods", namespace: "default" },
  },
});

Deno.test({
  name: "kubectl: RBAC grants, can-i, whoami, escalation refusal and packaged RBAC manifests",
  ignore: !haveKubectl(),
  async fn(t) {
    // Controllers run for the ClusterRole aggregation controller (admin/edit/view).
    const server = await startTestServer();
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-rbac-" });
    const admin = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const suffix = crypto.randomUUID().slice(0, 6);
    const a = `a-${suffix}`;
    const b = `b-${suffix}`;
    const tokens = await TokenStore.open(`${server.dataDir}/tokens.json`);
    const { token, record } = await tokens.create("view", { description: "rbac test" });
    const userName = `token:${record.id}`;
    const as = (args: string[]) => kubectl(admin, ["--token", token, ...args]);
    try {
      await kubectlOk(admin, ["create", "namespace", a]);
      await kubectlOk(admin, ["create", "namespace", b]);

      await t.step(
        "kubectl create role/rolebinding (protobuf bodies) and their columns",
        async () => {
          await kubectlOk(admin, [
            "create",
            "role",
            "cm-writer",
            "--verb=create",
            "--resource=configmaps",
            "-n",
            a,
          ]);
          await kubectlOk(admin, [
            "create",
            "rolebinding",
            "cm-writer",
            "--role=cm-writer",
            `--user=${userName}`,
            "-n",
            a,
          ]);
          const rows = parseTable(
            await kubectlOk(admin, ["get", "rolebindings", "-n", a, "-o", "wide"]),
          );
          const row = rowNamed(rows, "cm-writer");
          assert.equal(row.ROLE, "Role/cm-writer");
          assert.equal(row.USERS, userName);
          const roles = parseTable(await kubectlOk(admin, ["get", "roles", "-n", a]));
          assert.match(rowNamed(roles, "cm-writer")["CREATED AT"], /^\d{4}-\d\d-\d\dT/);
        },
      );

      await t.step(
        "the view token may create configmaps where bound, and nowhere else",
        async () => {
          const ok = await as(["create", "configmap", "c1", "--from-literal=k=v", "-n", a]);
          assert.equal(ok.code, 0, ok.stderr);
          const refused = await as(["create", "configmap", "c1", "--from-literal=k=v", "-n", b]);
          assert.notEqual(refused.code, 0);
          assert.match(
            refused.stderr,
            new RegExp(
              `configmaps is forbidden: User "${userName}" cannot create resource "configmaps" ` +
                `in API group "" in the namespace "${b}"`,
            ),
          );
          // Its token role still applies: view reads, never writes pods.
          assert.equal((await as(["get", "configmaps", "-n", b])).code, 0);
        },
      );

      await t.step("kubectl auth can-i answers yes/no, and --list shows the rules", async () => {
        const yes = await as(["auth", "can-i", "create", "configmaps", "-n", a]);
        assert.equal(yes.stdout.trim(), "yes");
        assert.equal(yes.code, 0);
        const no = await as(["auth", "can-i", "create", "configmaps", "-n", b]);
        assert.equal(no.stdout.trim(), "no");
        assert.equal(no.code, 1);
        assert.equal((await as(["auth", "can-i", "list", "pods", "-n", b])).stdout.trim(), "yes");
        assert.equal((await as(["auth", "can-i", "get", "secrets", "-n", a])).stdout.trim(), "no");
        const list = parseTable((await as(["auth", "can-i", "--list", "-n", a])).stdout);
        const cm = list.find((r) => r.Resources === "configmaps");
        assert.ok(cm, JSON.stringify(list));
        assert.match(cm.Verbs, /create/);
        assert.match(cm.Verbs, /get list watch/);
        const inB = parseTable((await as(["auth", "can-i", "--list", "-n", b])).stdout);
        assert.doesNotMatch(inB.find((r) => r.Resources === "configmaps")!.Verbs, /create/);
      });

      await t.step("kubectl auth whoami names the token and its groups", async () => {
        const out = await as(["auth", "whoami"]);
        assert.equal(out.code, 0, out.stderr);
        const rows = parseTable(out.stdout);
        assert.equal(rows.find((r) => r.ATTRIBUTE === "Username")?.VALUE, userName);
        assert.equal(rows.find((r) => r.ATTRIBUTE === "Groups")?.VALUE, "[system:authenticated]");
        const adminWho = await kubectlOk(admin, ["auth", "whoami", "-o", "json"]);
        assert.ok(JSON.parse(adminWho).status.userInfo.groups.includes("system:masters"));
      });

      await t.step("escalation is refused with Kubernetes' message", async () => {
        await kubectlOk(admin, [
          "create",
          "role",
          "rbac-writer",
          "--verb=create",
          "--resource=roles,rolebindings",
          "-n",
          a,
        ]);
        await kubectlOk(admin, [
          "create",
          "rolebinding",
          "rbac-writer",
          "--role=rbac-writer",
          `--user=${userName}`,
          "-n",
          a,
        ]);
        // What the user holds (view's reads) it may grant ...
        const held = await as([
          "create",
          "role",
          "reader",
          "--verb=get,list",
          "--resource=pods",
          "-n",
          a,
        ]);
        assert.equal(held.code, 0, held.stderr);
        // ... not what it does not.
        const role = await as([
          "create",
          "role",
          "deleter",
          "--verb=delete",
          "--resource=pods",
          "-n",
          a,
        ]);
        assert.notEqual(role.code, 0);
        assert.match(
          role.stderr,
          new RegExp(
            `roles.rbac.authorization.k8s.io "deleter" is forbidden: user "${userName}" ` +
              `\\(groups=\\["system:authenticated"\\]\\) is attempting to grant RBAC permissions ` +
              `not currently held:\\n\\{APIGroups:\\[""\\], Resources:\\["pods"\\], Verbs:\\["delete"\\]\\}`,
          ),
        );
        const bind = await as([
          "create",
          "rolebinding",
          "self-admin",
          "--clusterrole=admin",
          `--user=${userName}`,
          "-n",
          a,
        ]);
        assert.notEqual(bind.code, 0);
        assert.match(
          bind.stderr,
          /rolebindings.rbac.authorization.k8s.io "self-admin" is forbidden: .* is attempting to grant RBAC permissions not currently held/,
        );
        // Its RoleBinding grants nothing in the other namespace.
        const elsewhere = await as([
          "create",
          "role",
          "reader",
          "--verb=get",
          "--resource=pods",
          "-n",
          b,
        ]);
        assert.match(elsewhere.stderr, /cannot create resource "roles"/);
      });

      await t.step(
        "an exporter's RBAC manifests apply cleanly and authorize its ServiceAccount",
        async () => {
          await kubectlOk(admin, ["create", "namespace", `mon-${suffix}`]);
          const file = await writeManifest(
            cacheDir,
            "exporter.yaml",
            EXPORTER.replaceAll("SUFFIX", suffix),
          );
          const out = await kubectlOk(admin, ["apply", "-f", file]);
          assert.match(
            out,
            new RegExp(`clusterrole.rbac.authorization.k8s.io/exporter-${suffix} created`),
          );
          assert.match(out, /rolebinding.rbac.authorization.k8s.io\/exporter-leader created/);
          // Applying again is a no-op (round trip of what the server stored).
          assert.match(await kubectlOk(admin, ["apply", "-f", file]), /unchanged/);
          const crb = rowNamed(
            parseTable(
              await kubectlOk(admin, [
                "get",
                "clusterrolebinding",
                `exporter-${suffix}`,
                "-o",
                "wide",
              ]),
            ),
            `exporter-${suffix}`,
          );
          assert.equal(crb.SERVICEACCOUNTS, `mon-${suffix}/exporter`);
          // `create --raw`: kubectl's client-side check of a create-only kind lists CRDs,
          // which this branch does not serve.
          const sar = await writeManifest(cacheDir, "sar.json", SAR.replaceAll("SUFFIX", suffix));
          const review = JSON.parse(
            await kubectlOk(admin, [
              "create",
              "--raw",
              "/apis/authorization.k8s.io/v1/subjectaccessreviews",
              "-f",
              sar,
            ]),
          );
          assert.equal(review.status.allowed, true);
          assert.match(review.status.reason, new RegExp(`ClusterRoleBinding "exporter-${suffix}"`));
        },
      );

      await t.step("ClusterRoles labelled aggregate-to-view extend view", async () => {
        await waitKubectl(admin, ["get", "clusterrole", "view", "-o", "json"], (out) => {
          try {
            return JSON.parse(out).rules?.some((r: { resources?: string[] }) =>
              r.resources?.includes("pods")
            );
          } catch {
            return false;
          }
        }, { what: "view aggregated from system:aggregate-to-view" });
        const file = await writeManifest(
          cacheDir,
          "widgets.yaml",
          `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view-${suffix}
  labels: { rbac.authorization.k8s.io/aggregate-to-view: "true" }
rules:
- { apiGroups: [example.com], resources: [widgets-${suffix}], verbs: [get] }
`,
        );
        await kubectlOk(admin, ["apply", "-f", file]);
        for (const role of ["view", "edit", "admin"]) {
          await waitKubectl(
            admin,
            ["get", "clusterrole", role, "-o", "json"],
            (out) => out.includes(`widgets-${suffix}`),
            { what: `${role} aggregates widgets` },
          );
        }
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
