/**
 * The real kubectl on a StatefulSet over real agents on Docker: the documentation's `web`
 * example (headless Service `nginx` + StatefulSet) with a local web image whose page is the
 * pod's hostname — ordered creation `web-0`, `web-1`, …, stable names and hostnames, `kubectl
 * scale`, `rollout status|history|undo` and a partitioned rolling update.
 *
 * The example's `volumeClaimTemplates` are left out here: the agent does not mount
 * PersistentVolumeClaims yet (the storage work adds that); claims per ordinal, their retention
 * and their survival across pod deletion are covered against hollow nodes in
 * controllers_statefulset_test.ts. `minReadySeconds` is 1 instead of the example's 10, to keep
 * the ordered start short.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { buildWebImage, removeImage } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const IMAGE = `skiff.local/web-sts-${crypto.randomUUID().slice(0, 6)}:1`;

/** https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/ (see module comment). */
const WEB = `
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx # has to match .spec.template.metadata.labels
  serviceName: "nginx"
  replicas: 3 # by default is 1
  minReadySeconds: 1 # by default is 0
  template:
    metadata:
      labels:
        app: nginx # has to match .spec.selector.matchLabels
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: ${IMAGE}
        ports:
        - containerPort: 80
          name: web
`;

Deno.test({
  name: "kubectl runs the documentation's web StatefulSet: order, identity, scale, rollout",
  ignore: !haveKubectl(),
  async fn(t) {
    await buildWebImage(IMAGE, { pageIsHostname: true });
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    // Generous: these tests share 2 cores with others (the helper kills kubectl after 60 s).
    const status = async () => {
      const r = await kubectl(k, ["rollout", "status", "statefulset/web", "--timeout=170s"], {
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, `rollout status failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };
    const sts = async (): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", "sts", "web", "-o", "json"]));
    try {
      await t.step("pods start in order with stable names and hostnames", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: WEB });
        await status();
        const pods: Json = JSON.parse(
          await kubectlOk(k, ["get", "pods", "-l", "app=nginx", "-o", "json"]),
        );
        const byName = new Map<string, Json>(pods.items.map((p: Json) => [p.metadata.name, p]));
        assert.deepEqual([...byName.keys()].sort(), ["web-0", "web-1", "web-2"]);
        // OrderedReady: each started only once its predecessor was Ready.
        const ready = (p: Json) =>
          Date.parse(p.status.conditions.find((c: Json) => c.type === "Ready").lastTransitionTime);
        const created = (p: Json) => Date.parse(p.metadata.creationTimestamp);
        assert.ok(created(byName.get("web-1")) >= ready(byName.get("web-0")));
        assert.ok(created(byName.get("web-2")) >= ready(byName.get("web-1")));
        for (const [name, p] of byName) {
          assert.equal(p.spec.hostname, name);
          assert.equal(p.spec.subdomain, "nginx");
          assert.equal(p.metadata.labels["statefulset.kubernetes.io/pod-name"], name);
          const out = await kubectlOk(k, ["exec", name, "--", "hostname"]);
          assert.equal(out.trim(), name);
        }
        const row = rowNamed(parseTable(await kubectlOk(k, ["get", "sts"])), "web");
        assert.equal(row.READY, "3/3");
        assert.match(await kubectlOk(k, ["get", "all"]), /^statefulset\.apps\/web\s+3\/3/m);
        const d = await kubectlOk(k, ["describe", "sts", "web"]);
        assert.match(d, /^Replicas:\s+3 desired \| 3 total$/m);
        assert.match(d, /^Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
      });

      await t.step("a deleted pod comes back under its name", async () => {
        const uid = await kubectlOk(k, ["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}"]);
        await kubectlOk(k, ["delete", "pod", "web-1", "--wait=false"]);
        await waitKubectl(
          k,
          ["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid} {.status.phase}"],
          (out) => !out.startsWith(uid) && out.endsWith("Running"),
          { timeoutMs: 60_000 },
        );
      });

      await t.step("scale down removes the highest ordinals, scale up adds them back", async () => {
        assert.equal(
          await kubectlOk(k, ["scale", "sts", "web", "--replicas=1"]),
          "statefulset.apps/web scaled\n",
        );
        await waitKubectl(
          k,
          ["get", "pods", "-l", "app=nginx", "-o", "name"],
          (out) => out.trim() === "pod/web-0",
          { timeoutMs: 60_000 },
        );
        await kubectlOk(k, ["scale", "sts", "web", "--replicas=2"]);
        await status();
        const names = await kubectlOk(k, ["get", "pods", "-l", "app=nginx", "-o", "name"]);
        assert.deepEqual(names.trim().split("\n"), ["pod/web-0", "pod/web-1"]);
      });

      await t.step("a rolling update goes from the highest ordinal; undo goes back", async () => {
        await kubectlOk(k, ["set", "env", "sts/web", "VERSION=2"]);
        assert.match(await status(), /partitioned roll out complete: 2 new pods have been updated/);
        const s = await sts();
        assert.equal(s.status.currentRevision, s.status.updateRevision);
        assert.equal(s.status.updatedReplicas, 2);
        const history = parseTable(
          (await kubectlOk(k, ["rollout", "history", "sts/web"])).split("\n").slice(1).join("\n"),
        ).map((r) => r.REVISION);
        assert.deepEqual(history, ["1", "2"]);
        assert.equal(
          await kubectlOk(k, ["rollout", "undo", "sts/web"]),
          "statefulset.apps/web rolled back\n",
        );
        await status();
        assert.equal((await sts()).spec.template.spec.containers[0].env, undefined);
        const env = await kubectlOk(k, [
          "get",
          "pod",
          "web-0",
          "-o",
          "jsonpath={.spec.containers[0].env}",
        ]);
        assert.equal(env, "");
      });

      await t.step("partition keeps lower ordinals on the old revision", async () => {
        await kubectlOk(k, [
          "patch",
          "sts",
          "web",
          "-p",
          '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}',
        ]);
        await kubectlOk(k, ["set", "env", "sts/web", "VERSION=3"]);
        assert.match(await status(), /partitioned roll out complete: 1 new pods have been updated/);
        const env = (name: string) =>
          kubectlOk(k, ["get", "pod", name, "-o", "jsonpath={.spec.containers[0].env[0].value}"]);
        assert.equal(await env("web-1"), "3");
        assert.equal(await env("web-0"), "");
      });
    } finally {
      await cluster.stop();
      await removeImage(IMAGE);
    }
  },
});
