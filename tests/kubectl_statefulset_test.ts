/**
 * The real kubectl on a StatefulSet over real agents on Docker: the documentation's `web`
 * example (headless Service `nginx` + StatefulSet) with a local web image whose page is the
 * pod's hostname — ordered creation `web-0`, `web-1`, …, stable names and hostnames, `kubectl
 * scale`, `rollout status|history|undo` and a partitioned rolling update.
 *
 * The example's `volumeClaimTemplates` are kept: one claim per ordinal, bound by the built-in
 * local-path provisioner on the node of the pod that first uses it; data written by a pod is
 * there again in its successor (after a pod deletion and after a scale down and up), which comes
 * back to the node holding its volume. Changed from the example: the local image, the claims'
 * `storageClassName` (`local-path`, the default class, instead of the example's
 * `my-storage-class`, which no cluster has) and `minReadySeconds` 1 instead of 10, to keep the
 * ordered start short.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { buildWebImage, removeImage } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A file on the `www` volume. */
const DATA = "/usr/share/nginx/html/data";
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
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "local-path"
      resources:
        requests:
          storage: 1Gi
`;

Deno.test({
  name:
    "kubectl runs the documentation's web StatefulSet: order, identity, storage, scale, rollout",
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
    /** The node a pod's `www` claim is bound on (its volume's node affinity). */
    const volumeNode = async (pod: string) => {
      const pv = await kubectlOk(k, [
        "get",
        "pvc",
        `www-${pod}`,
        "-o",
        "jsonpath={.spec.volumeName}",
      ]);
      return await kubectlOk(k, [
        "get",
        "pv",
        pv,
        "-o",
        "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}",
      ]);
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
        // One claim per ordinal, bound to a volume pinned to the node its pod runs on.
        const claims = parseTable(await kubectlOk(k, ["get", "pvc"]));
        assert.deepEqual(claims.map((c) => c.NAME).sort(), ["www-web-0", "www-web-1", "www-web-2"]);
        for (const c of claims) assert.equal(c.STATUS, "Bound", `${c.NAME}: ${c.STATUS}`);
        for (const [name, p] of byName) {
          assert.equal(await volumeNode(name), p.spec.nodeName, `${name}'s volume node`);
        }
        const d = await kubectlOk(k, ["describe", "sts", "web"]);
        assert.match(d, /^Replicas:\s+3 desired \| 3 total$/m);
        assert.match(d, /^Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
      });

      await t.step(
        "a deleted pod comes back under its name, on its node, with its data",
        async () => {
          await kubectlOk(k, ["exec", "web-1", "--", "sh", "-c", `echo kept-web-1 > ${DATA}`]);
          const [uid, node] = (await kubectlOk(k, [
            "get",
            "pod",
            "web-1",
            "-o",
            "jsonpath={.metadata.uid} {.spec.nodeName}",
          ])).split(" ");
          await kubectlOk(k, ["delete", "pod", "web-1", "--wait=false"]);
          await waitKubectl(
            k,
            ["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid} {.status.phase}"],
            (out) => !out.startsWith(uid) && out.endsWith("Running"),
            { timeoutMs: 60_000 },
          );
          assert.equal(
            await kubectlOk(k, ["get", "pod", "web-1", "-o", "jsonpath={.spec.nodeName}"]),
            node,
          );
          assert.equal(await kubectlOk(k, ["exec", "web-1", "--", "cat", DATA]), "kept-web-1\n");
        },
      );

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
        // The claims of the removed ordinals stay (retention policy Retain by default).
        const claims = await kubectlOk(k, ["get", "pvc", "-o", "name"]);
        assert.deepEqual(claims.trim().split("\n"), [
          "persistentvolumeclaim/www-web-0",
          "persistentvolumeclaim/www-web-1",
          "persistentvolumeclaim/www-web-2",
        ]);
        await kubectlOk(k, ["scale", "sts", "web", "--replicas=2"]);
        await status();
        const names = await kubectlOk(k, ["get", "pods", "-l", "app=nginx", "-o", "name"]);
        assert.deepEqual(names.trim().split("\n"), ["pod/web-0", "pod/web-1"]);
        assert.equal(await kubectlOk(k, ["exec", "web-1", "--", "cat", DATA]), "kept-web-1\n");
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
