/**
 * The real kubectl changing live objects: scale (the /scale subresource), label, annotate,
 * set image, edit (a scripted EDITOR), and patch in its three flavours — strategic merge (list
 * merge keys, `$patch: delete`), JSON merge and JSON patch — plus `--dry-run=server` on them.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, waitKubectl, writeManifest } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: skiff.local/busybox:1
          command: ["httpd", "-f", "-p", "80", "-h", "/www"]
          ports: [{ containerPort: 80 }]
          env:
            - { name: A, value: "1" }
            - { name: B, value: "2" }
        - name: side
          image: skiff.local/pause:1
`;

Deno.test({
  name: "kubectl scale, label, annotate, set image, edit and patch change live objects",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11"] });
    const k = cluster.kubectl;
    const tmp = await Deno.makeTempDir({ prefix: "skiff-kubectl-patch-" });
    const deploy = async (): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", "deploy", "web", "-o", "json"]));
    try {
      await kubectlOk(k, ["create", "-f", "-"], { stdin: DEPLOYMENT });

      await t.step("scale through /scale, and --dry-run=server leaves it", async () => {
        assert.equal(
          await kubectlOk(k, ["scale", "deployment", "web", "--replicas=3"]),
          "deployment.apps/web scaled\n",
        );
        assert.equal((await deploy()).spec.replicas, 3);
        assert.equal(
          await kubectlOk(k, ["scale", "deployment", "web", "--replicas=5", "--dry-run=server"]),
          "deployment.apps/web scaled (server dry run)\n",
        );
        assert.equal((await deploy()).spec.replicas, 3);
        // --current-replicas is a precondition kubectl checks against the Scale it reads.
        const wrong = await kubectl(k, [
          "scale",
          "deployment",
          "web",
          "--current-replicas=2",
          "--replicas=1",
        ]);
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /Expected replicas to be 2, was 3/);
        await kubectlOk(k, ["scale", "deployment", "web", "--replicas=1"]);
        await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
      });

      await t.step("label and annotate add, overwrite and remove", async () => {
        assert.equal(
          await kubectlOk(k, ["label", "deployment", "web", "tier=front"]),
          "deployment.apps/web labeled\n",
        );
        const clash = await kubectl(k, ["label", "deployment", "web", "tier=back"]);
        assert.equal(clash.code, 1);
        assert.match(
          clash.stderr,
          /'tier' already has a value \(front\), and --overwrite is false/,
        );
        await kubectlOk(k, ["label", "deployment", "web", "tier=back", "--overwrite"]);
        assert.equal((await deploy()).metadata.labels.tier, "back");
        await kubectlOk(k, ["label", "deployment", "web", "tier-"]);
        assert.deepEqual((await deploy()).metadata.labels, { app: "web" });

        await kubectlOk(k, ["annotate", "deployment", "web", "owner=edge-team"]);
        assert.equal((await deploy()).metadata.annotations.owner, "edge-team");
        // Once the scale-down is over, label the remaining pod through a selector.
        await waitKubectl(
          k,
          ["get", "pods", "-l", "app=web", "-o", "name"],
          (s) => s.trim().split("\n").length === 1 && s.trim() !== "",
        );
        const pods = await kubectlOk(k, ["label", "pods", "-l", "app=web", "checked=yes"]);
        assert.match(pods, /^pod\/web-\S+ labeled$/m);
        await kubectlOk(k, ["annotate", "deployment", "web", "owner-"]);
        assert.equal((await deploy()).metadata.annotations?.owner, undefined);
      });

      await t.step("set image rolls the deployment to the new image", async () => {
        const generation = (await deploy()).metadata.generation;
        assert.equal(
          await kubectlOk(k, ["set", "image", "deployment/web", "side=skiff.local/busybox:1"]),
          "deployment.apps/web image updated\n",
        );
        const d = await deploy();
        assert.deepEqual(
          d.spec.template.spec.containers.map((c: Json) => [c.name, c.image]),
          [["web", "skiff.local/busybox:1"], ["side", "skiff.local/busybox:1"]],
        );
        assert.equal(d.metadata.generation, generation + 1);
      });

      await t.step("set resources changes the container's limits and requests", async () => {
        assert.equal(
          await kubectlOk(k, [
            "set",
            "resources",
            "deployment/web",
            "-c=web",
            "--limits=cpu=200m,memory=64Mi",
            "--requests=cpu=100m",
          ]),
          "deployment.apps/web resource requirements updated\n",
        );
        const c = (await deploy()).spec.template.spec.containers[0];
        assert.deepEqual(c.resources, {
          limits: { cpu: "200m", memory: "64Mi" },
          requests: { cpu: "100m" },
        });
      });

      await t.step("edit with a scripted EDITOR saves the edited object", async () => {
        // kubectl writes the object as YAML to a temp file and runs $EDITOR on it.
        const editor = await writeManifest(
          tmp,
          "editor.sh",
          '#!/bin/sh\nsed -i -e \'s/value: "2"/value: "edited"/\' "$1"\n',
        );
        await Deno.chmod(editor, 0o755);
        const out = await kubectlOk(k, ["edit", "deployment", "web"], {
          env: { EDITOR: editor, KUBE_EDITOR: editor },
        });
        assert.equal(out, "deployment.apps/web edited\n");
        const env = (await deploy()).spec.template.spec.containers[0].env;
        assert.deepEqual(env, [{ name: "A", value: "1" }, { name: "B", value: "edited" }]);
      });

      await t.step("patch: strategic merge by container name, $patch delete", async () => {
        await kubectlOk(k, [
          "patch",
          "deployment",
          "web",
          "-p",
          JSON.stringify({
            spec: {
              template: {
                spec: {
                  containers: [{ name: "web", env: [{ name: "C", value: "3" }] }],
                },
              },
            },
          }),
        ]);
        let containers = (await deploy()).spec.template.spec.containers;
        assert.deepEqual(containers.map((c: Json) => c.name), ["web", "side"]);
        // env merges by name: C joins A and B.
        assert.deepEqual(containers[0].env.map((e: Json) => e.name).sort(), ["A", "B", "C"]);
        assert.equal(containers[0].image, "skiff.local/busybox:1");

        await kubectlOk(k, [
          "patch",
          "deployment",
          "web",
          "--type=strategic",
          "-p",
          '{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}',
        ]);
        containers = (await deploy()).spec.template.spec.containers;
        assert.deepEqual(containers.map((c: Json) => c.name), ["web"]);
      });

      await t.step("patch: JSON merge replaces lists, JSON patch edits by path", async () => {
        await kubectlOk(k, [
          "patch",
          "deployment",
          "web",
          "--type=merge",
          "-p",
          '{"metadata":{"labels":{"merged":"yes"}},"spec":{"minReadySeconds":2}}',
        ]);
        let d = await deploy();
        assert.equal(d.metadata.labels.merged, "yes");
        assert.equal(d.spec.minReadySeconds, 2);

        await kubectlOk(k, [
          "patch",
          "deployment",
          "web",
          "--type=json",
          "-p",
          JSON.stringify([
            { op: "replace", path: "/spec/replicas", value: 2 },
            { op: "remove", path: "/metadata/labels/merged" },
            { op: "test", path: "/spec/minReadySeconds", value: 2 },
          ]),
        ]);
        d = await deploy();
        assert.equal(d.spec.replicas, 2);
        assert.equal(d.metadata.labels.merged, undefined);

        const failed = await kubectl(k, [
          "patch",
          "deployment",
          "web",
          "--type=json",
          "-p",
          '[{"op":"test","path":"/spec/replicas","value":9}]',
        ]);
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /testing value \/spec\/replicas failed/);
        assert.equal((await deploy()).spec.replicas, 2);
      });

      await t.step("patch and label with --dry-run=server change nothing", async () => {
        const before = await deploy();
        assert.equal(
          await kubectlOk(k, [
            "patch",
            "deployment",
            "web",
            "--dry-run=server",
            "-p",
            '{"spec":{"replicas":7}}',
          ]),
          // kubectl patch prints no dry-run suffix; the server still must not write.
          "deployment.apps/web patched\n",
        );
        await kubectlOk(k, ["label", "deployment", "web", "dry=run", "--dry-run=server"]);
        const after = await deploy();
        assert.equal(after.spec.replicas, 2);
        assert.equal(after.metadata.labels.dry, undefined);
        assert.equal(after.metadata.generation, before.metadata.generation);
      });
    } finally {
      await cluster.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
