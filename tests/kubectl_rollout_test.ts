/**
 * The real kubectl's `rollout` family on a real Deployment: status, history with change causes
 * and per-revision templates, undo (to the previous and to a given revision), pause/resume and
 * restart — all read from ReplicaSet revisions the Deployment controller keeps.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: { kubernetes.io/change-cause: "first release" }
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: ${TEST_IMAGES.pause}
`;

Deno.test({
  name: "kubectl rollout status, history, undo, pause, resume and restart",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const deploy = async (): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", "deploy", "web", "-o", "json"]));
    const envOf = async () =>
      (await deploy()).spec.template.spec.containers[0].env?.map((e: Json) =>
        `${e.name}=${e.value}`
      ) ?? [];
    const history = async () =>
      parseTable(
        (await kubectlOk(k, ["rollout", "history", "deployment/web"])).split("\n").slice(1).join(
          "\n",
        ),
      ).map((r) => `${r.REVISION}:${r["CHANGE-CAUSE"]}`);
    const status = () => kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
    const newVersion = async (value: string, cause: string) => {
      await kubectlOk(k, ["set", "env", "deployment/web", `VERSION=${value}`]);
      await kubectlOk(k, [
        "annotate",
        "deployment",
        "web",
        "--overwrite",
        `kubernetes.io/change-cause=${cause}`,
      ]);
    };
    try {
      await t.step("status waits for the rollout and reports success", async () => {
        await kubectlOk(k, ["create", "-f", "-"], { stdin: DEPLOYMENT });
        assert.match(await status(), /deployment "web" successfully rolled out\n$/);
        await newVersion("2", "version 2");
        assert.match(await status(), /deployment "web" successfully rolled out\n$/);
        assert.deepEqual(await envOf(), ["VERSION=2"]);
      });

      await t.step("history lists revisions with their change causes", async () => {
        assert.deepEqual(await history(), ["1:first release", "2:version 2"]);
        const two = await kubectlOk(k, ["rollout", "history", "deployment/web", "--revision=2"]);
        assert.match(two, /^deployment\.apps\/web with revision #2$/m);
        assert.match(two, /^\s+VERSION:\s+2$/m);
        const rs = parseTable(await kubectlOk(k, ["get", "rs", "-l", "app=web"]));
        assert.equal(rs.length, 2);
        assert.deepEqual(rs.map((r) => r.DESIRED).sort(), ["0", "2"]);
      });

      await t.step(
        "undo goes back to the previous template, and --to-revision to any",
        async () => {
          assert.equal(
            await kubectlOk(k, ["rollout", "undo", "deployment/web"]),
            "deployment.apps/web rolled back\n",
          );
          await status();
          assert.deepEqual(await envOf(), []);
          // Revision 1's template is now revision 3.
          assert.deepEqual((await history()).map((h) => h.split(":")[0]), ["2", "3"]);
          await kubectlOk(k, ["rollout", "undo", "deployment/web", "--to-revision=2"]);
          await status();
          assert.deepEqual(await envOf(), ["VERSION=2"]);
          assert.deepEqual((await history()).map((h) => h.split(":")[0]), ["3", "4"]);
          const missing = await kubectl(k, [
            "rollout",
            "undo",
            "deployment/web",
            "--to-revision=9",
          ]);
          assert.equal(missing.code, 1);
          assert.match(missing.stderr, /unable to find specified revision 9 in history/);
        },
      );

      await t.step("pause holds template changes until resume", async () => {
        assert.equal(
          await kubectlOk(k, ["rollout", "pause", "deployment/web"]),
          "deployment.apps/web paused\n",
        );
        const before = parseTable(await kubectlOk(k, ["get", "rs", "-l", "app=web"])).length;
        await newVersion("3", "version 3");
        // Give the controller a chance it must not take: the paused Deployment's status
        // reflects the new generation while no ReplicaSet is made.
        await waitObserved(k);
        assert.equal(parseTable(await kubectlOk(k, ["get", "rs", "-l", "app=web"])).length, before);
        const restartPaused = await kubectl(k, ["rollout", "restart", "deployment/web"]);
        assert.equal(restartPaused.code, 1);
        assert.match(
          restartPaused.stderr,
          /can't restart paused deployment \(run rollout resume first\)/,
        );

        assert.equal(
          await kubectlOk(k, ["rollout", "resume", "deployment/web"]),
          "deployment.apps/web resumed\n",
        );
        await status();
        assert.deepEqual(await envOf(), ["VERSION=3"]);
        assert.equal(
          parseTable(await kubectlOk(k, ["get", "rs", "-l", "app=web"])).length,
          before + 1,
        );
      });

      await t.step("restart rolls new pods with the restartedAt annotation", async () => {
        const oldPods = await podNames(k);
        assert.equal(
          await kubectlOk(k, ["rollout", "restart", "deployment/web"]),
          "deployment.apps/web restarted\n",
        );
        await status();
        const annotations = (await deploy()).spec.template.metadata.annotations;
        assert.match(annotations["kubectl.kubernetes.io/restartedAt"], /^\d{4}-\d\d-\d\dT/);
        const parsed = parseTable(await kubectlOk(k, ["get", "pods", "-l", "app=web"]));
        const running = parsed.filter((p) => p.STATUS === "Running").map((p) => p.NAME);
        assert.equal(running.length, 2);
        for (const name of running) assert.ok(!oldPods.includes(name), `${name} is new`);
      });
    } finally {
      await cluster.stop();
    }
  },
});

async function podNames(k: { kubeconfigPath: string; cacheDir: string }): Promise<string[]> {
  const out = await kubectlOk(k, [
    "get",
    "pods",
    "-l",
    "app=web",
    "-o",
    "jsonpath={.items[*].metadata.name}",
  ]);
  return out.split(" ").filter(Boolean);
}

/** Waits until the Deployment controller has observed the latest spec (observedGeneration). */
async function waitObserved(k: { kubeconfigPath: string; cacheDir: string }): Promise<void> {
  await waitKubectl(
    k,
    ["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}={.status.observedGeneration}"],
    (s) => {
      const [a, b] = s.split("=");
      return a !== "" && a === b;
    },
  );
}
