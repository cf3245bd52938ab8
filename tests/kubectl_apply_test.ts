/**
 * The real kubectl's declarative path on a real cluster: `apply -f` of a multi-document
 * two-tier app in one command, a re-apply with changes (replicas, image, env, RollingUpdate →
 * Recreate, which needs `$retainKeys`), `apply --server-side`, `--dry-run=server` (also on
 * DELETE, whose dryRun travels in the body), field validation, and the delete forms
 * (`delete -f`, `delete service,deployment NAME`, `delete -l`); `apply --prune` by label and
 * `cluster-info dump` with the pods' logs.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const APP_V1 = new URL("./fixtures/multi_tier.yaml", import.meta.url).pathname;
const APP_V2 = new URL("./fixtures/multi_tier_v2.yaml", import.meta.url).pathname;
/** The backend image of multi_tier_v2.yaml: a second tag of the busybox test image. */
const V2_IMAGE = "skiff.local/busybox-kubectl:2";

const SSA = (replicas: number) =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "ssa", labels: { app: "ssa" } },
    spec: {
      replicas,
      selector: { matchLabels: { app: "ssa" } },
      template: {
        metadata: { labels: { app: "ssa" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "pause", image: TEST_IMAGES.pause }],
        },
      },
    },
  });

async function dockerTag(source: string, target: string): Promise<void> {
  const out = await new Deno.Command("docker", { args: ["tag", source, target] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "kubectl apply, server-side apply, dry runs and deletes of a multi-tier app",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const getJson = async (...args: string[]): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", ...args, "-o", "json"]));
    await dockerTag(TEST_IMAGES.busybox, V2_IMAGE);
    try {
      await t.step("apply -f creates frontend, backend and their services at once", async () => {
        const out = await kubectlOk(k, ["apply", "-f", APP_V1]);
        assert.deepEqual(out.trim().split("\n"), [
          "deployment.apps/backend created",
          "service/backend created",
          "deployment.apps/frontend created",
          "service/frontend created",
        ]);
        await kubectlOk(k, ["rollout", "status", "deployment/backend", "--timeout=60s"]);
        await kubectlOk(k, ["rollout", "status", "deployment/frontend", "--timeout=60s"]);
        const rows = parseTable(await kubectlOk(k, ["get", "deploy", "-l", "app=shop"]));
        assert.equal(rowNamed(rows, "backend").READY, "1/1");
        assert.equal(rowNamed(rows, "frontend").READY, "2/2");
        const backend = await getJson("svc", "backend");
        assert.equal(backend.spec.ports[0].targetPort, "http");
        // The named targetPort resolves to the backend pod's published port.
        await waitKubectl(
          k,
          ["get", "ep", "backend", "-o", "jsonpath={.subsets[*].ports[*].port}"],
          (s) => /^\d+$/.test(s),
        );
        const last = (await getJson("deploy", "frontend")).metadata.annotations[
          "kubectl.kubernetes.io/last-applied-configuration"
        ];
        assert.equal(JSON.parse(last).spec.replicas, 2);
      });

      await t.step("re-apply unchanged says unchanged", async () => {
        const out = await kubectlOk(k, ["apply", "-f", APP_V1]);
        assert.deepEqual(out.trim().split("\n"), [
          "deployment.apps/backend unchanged",
          "service/backend unchanged",
          "deployment.apps/frontend unchanged",
          "service/frontend unchanged",
        ]);
      });

      await t.step("--dry-run=server of the changed file changes nothing", async () => {
        const out = await kubectlOk(k, ["apply", "-f", APP_V2, "--dry-run=server"]);
        assert.match(out, /^deployment\.apps\/backend configured \(server dry run\)$/m);
        const backend = await getJson("deploy", "backend");
        assert.equal(backend.spec.replicas, 1);
        assert.equal(backend.metadata.generation, 1);
      });

      await t.step("diff shows what the changed file would change", async () => {
        // kubectl diff asks the server for a dry-run of the apply and diffs it with the live one.
        const diff = await kubectl(k, ["diff", "-f", APP_V2]);
        assert.equal(diff.code, 1, diff.stderr);
        assert.match(diff.stdout, /^- {2}replicas: 1$/m);
        assert.match(diff.stdout, /^\+ {2}replicas: 2$/m);
        assert.match(diff.stdout, /^\+ {4}type: Recreate$/m);
        assert.match(diff.stdout, /^\+ {8}image: skiff\.local\/busybox-kubectl:2$/m);
        assert.equal((await getJson("deploy", "backend")).spec.replicas, 1);
      });

      await t.step("re-apply with replicas, image, env and strategy changed", async () => {
        const out = await kubectlOk(k, ["apply", "-f", APP_V2]);
        assert.match(out, /^deployment\.apps\/backend configured$/m);
        assert.match(out, /^deployment\.apps\/frontend unchanged$/m);
        const backend = await getJson("deploy", "backend");
        assert.equal(backend.spec.replicas, 2);
        // The defaulted rollingUpdate went with RollingUpdate ($retainKeys).
        assert.deepEqual(backend.spec.strategy, { type: "Recreate" });
        const c = backend.spec.template.spec.containers[0];
        assert.equal(c.image, V2_IMAGE);
        assert.deepEqual(c.env, [{ name: "MODE", value: "two" }]);
        await kubectlOk(k, ["rollout", "status", "deployment/backend", "--timeout=60s"]);
        await waitKubectl(
          k,
          [
            "get",
            "pods",
            "-l",
            "tier=backend",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
          ],
          (s) => s === `${V2_IMAGE} ${V2_IMAGE}`,
          { what: "only new backend pods" },
        );

        // Switching back to RollingUpdate with the defaulted rollingUpdate again.
        const frontend = await Deno.readTextFile(APP_V1);
        const recreate = frontend.replace(
          "spec:\n  replicas: 2\n",
          "spec:\n  replicas: 2\n  strategy: { type: Recreate }\n",
        );
        assert.notEqual(recreate, frontend);
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: recreate });
        assert.deepEqual((await getJson("deploy", "frontend")).spec.strategy, { type: "Recreate" });
      });

      await t.step("apply --server-side creates, then updates, recording the manager", async () => {
        assert.equal(
          await kubectlOk(k, ["apply", "--server-side", "-f", "-"], { stdin: SSA(2) }),
          "deployment.apps/ssa serverside-applied\n",
        );
        let d = await getJson("deploy", "ssa", "--show-managed-fields");
        assert.equal(d.spec.replicas, 2);
        assert.ok(
          d.metadata.managedFields.some((m: Json) =>
            m.manager === "kubectl" && m.operation === "Apply"
          ),
          JSON.stringify(d.metadata.managedFields),
        );
        await kubectlOk(k, ["apply", "--server-side", "-f", "-"], { stdin: SSA(1) });
        d = await getJson("deploy", "ssa");
        assert.equal(d.spec.replicas, 1);
        await kubectlOk(k, ["apply", "--server-side", "--dry-run=server", "-f", "-"], {
          stdin: SSA(3),
        });
        assert.equal((await getJson("deploy", "ssa")).spec.replicas, 1);
        // Field ownership: `kubectl scale` took .spec.replicas; applying another value conflicts.
        await kubectlOk(k, ["scale", "deploy", "ssa", "--replicas=3"]);
        const conflict = await kubectl(k, ["apply", "--server-side", "-f", "-"], { stdin: SSA(1) });
        assert.equal(conflict.code, 1);
        assert.match(
          conflict.stderr,
          /Apply failed with 1 conflict: conflict with "kubectl" using apps\/v1: \.spec\.replicas/,
        );
        await kubectlOk(k, ["apply", "--server-side", "--force-conflicts", "-f", "-"], {
          stdin: SSA(1),
        });
        assert.equal((await getJson("deploy", "ssa")).spec.replicas, 1);
        // A field left out of the next apply is removed (nobody else owns it).
        const cm = (data: Record<string, string>) =>
          JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" }, data });
        await kubectlOk(k, ["apply", "--server-side", "-f", "-"], {
          stdin: cm({ a: "1", b: "2" }),
        });
        await kubectlOk(k, ["apply", "--server-side", "-f", "-"], { stdin: cm({ a: "1" }) });
        assert.deepEqual((await getJson("cm", "ssa")).data, { a: "1" });
      });

      await t.step(
        "Strict field validation refuses unknown fields, --validate=false drops them",
        async () => {
          const withUnknown = JSON.stringify({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "strict", colour: "blue" },
            data: { a: "1" },
          });
          const refused = await kubectl(k, ["apply", "-f", "-"], { stdin: withUnknown });
          assert.equal(refused.code, 1);
          assert.match(
            refused.stderr,
            /Error from server \(BadRequest\).*strict decoding error: unknown field "metadata\.colour"/,
          );
          await kubectlOk(k, ["apply", "--validate=false", "-f", "-"], { stdin: withUnknown });
          const cm = await getJson("cm", "strict");
          assert.equal(cm.metadata.colour, undefined);
          assert.deepEqual(cm.data, { a: "1" });
        },
      );

      await t.step(
        "apply --prune deletes the labelled objects the manifests no longer hold",
        async () => {
          const cm = (name: string) =>
            `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, labels: { set: pr } }\n` +
            `data: { a: "1" }\n`;
          const deploy = `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: pr, labels: ` +
            `{ set: pr } }\nspec:\n  replicas: 0\n  selector: { matchLabels: { set: pr } }\n` +
            `  template:\n    metadata: { labels: { set: pr } }\n    spec: { containers: ` +
            `[{ name: c, image: ${TEST_IMAGES.pause} }] }\n`;
          await kubectlOk(k, ["apply", "--prune", "-l", "set=pr", "-f", "-"], {
            stdin: [cm("keep"), cm("drop"), deploy].join("---\n"),
          });
          const out = await kubectlOk(k, ["apply", "--prune", "-l", "set=pr", "-f", "-"], {
            stdin: cm("keep"),
          });
          assert.match(out, /^configmap\/keep unchanged$/m);
          assert.match(out, /^configmap\/drop pruned$/m);
          assert.match(out, /^deployment\.apps\/pr pruned$/m);
          assert.equal(
            await kubectlOk(k, ["get", "cm,deploy", "-l", "set=pr", "-o", "name"]),
            "configmap/keep\n",
          );
          // Objects without the label are never pruned: the app's Deployments are still there.
          await kubectlOk(k, ["get", "deploy", "backend", "frontend"]);
          await kubectlOk(k, ["delete", "cm", "keep"]);
        },
      );

      await t.step(
        "cluster-info dump writes every namespace's objects and the pods' logs",
        async () => {
          const dir = await Deno.makeTempDir({ prefix: "skiff-dump-" });
          try {
            await kubectlOk(k, [
              "cluster-info",
              "dump",
              "--namespaces=default",
              `--output-directory=${dir}`,
            ]);
            const pods = JSON.parse(await Deno.readTextFile(`${dir}/default/pods.json`));
            const names: string[] = pods.items.map((p: Json) => p.metadata.name);
            assert.ok(names.some((n) => n.startsWith("backend-")), names.join(" "));
            for (const name of names) {
              await Deno.stat(`${dir}/default/${name}/logs.txt`);
            }
            const nodes = JSON.parse(await Deno.readTextFile(`${dir}/nodes.json`));
            assert.equal(nodes.items.length, 2);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      );

      await t.step("delete --dry-run=server keeps the objects", async () => {
        const out = await kubectlOk(k, ["delete", "deployment", "ssa", "--dry-run=server"]);
        assert.match(out, /deployment\.apps "ssa" deleted \(server dry run\)/);
        await kubectlOk(k, ["get", "deploy", "ssa"]);
        await kubectlOk(k, ["delete", "-f", APP_V2, "--dry-run=server"]);
        await kubectlOk(k, ["get", "deploy", "backend", "frontend"]);
      });

      await t.step("delete service,deployment NAME and delete -l", async () => {
        await kubectlOk(k, ["expose", "deployment", "ssa", "--port=80"]);
        const out = await kubectlOk(k, ["delete", "service,deployment", "ssa"]);
        assert.deepEqual(out.trim().split("\n"), [
          'service "ssa" deleted',
          'deployment.apps "ssa" deleted',
        ]);
        // Background propagation: the ReplicaSet and pods go too.
        await waitKubectl(k, ["get", "rs,pods", "-l", "app=ssa", "-o", "name"], (s) => s === "");

        await kubectlOk(k, ["create", "configmap", "one", "--from-literal=a=1"]);
        await kubectlOk(k, ["create", "configmap", "two", "--from-literal=a=2"]);
        await kubectlOk(k, ["label", "cm", "one", "two", "batch=old"]);
        const deleted = await kubectlOk(k, ["delete", "cm", "-l", "batch=old"]);
        assert.deepEqual(deleted.trim().split("\n").sort(), [
          'configmap "one" deleted',
          'configmap "two" deleted',
        ]);
      });

      await t.step("delete -f removes everything the file made", async () => {
        const out = await kubectlOk(k, ["delete", "-f", APP_V2]);
        assert.deepEqual(out.trim().split("\n"), [
          'deployment.apps "backend" deleted',
          'service "backend" deleted',
          'deployment.apps "frontend" deleted',
          'service "frontend" deleted',
        ]);
        await waitKubectl(
          k,
          ["get", "deploy,rs,pods,svc,ep", "-l", "app=shop", "-o", "name"],
          (s) => s === "",
          { what: "nothing of the app left" },
        );
      });
    } finally {
      await cluster.stop();
      await new Deno.Command("docker", { args: ["rmi", V2_IMAGE], stderr: "null", stdout: "null" })
        .output();
    }
  },
});
