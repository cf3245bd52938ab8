/**
 * The real kubectl on DaemonSets over real agents on Docker: the documentation's
 * fluentd-elasticsearch DaemonSet (hostPath log mount, control-plane tolerations) as written,
 * with the local pause image, in a namespace that allows privileged pods; one pod per node,
 * kubectl's columns, and `rollout status|history|undo|restart` read from ControllerRevisions.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/ with a local image. */
const FLUENTD = `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      # these tolerations are to have the daemonset runnable on control plane nodes
      # remove them if your control plane nodes should not run pods
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      - key: node-role.kubernetes.io/master
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: ${TEST_IMAGES.pause}
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      # it may be desirable to set a high priority class to ensure that a DaemonSet Pod
      # preempts running Pods
      # priorityClassName: important
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
`;

Deno.test({
  name: "kubectl runs the documentation's DaemonSet and rolls it out, back and again",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const ns = `logging-${crypto.randomUUID().slice(0, 6)}`;
    const n = ["-n", ns];
    const ds = "daemonset/fluentd-elasticsearch";
    // Generous: these tests share 2 cores with others (the helper kills kubectl after 60 s).
    const status = async () => {
      const r = await kubectl(k, ["rollout", "status", ds, ...n, "--timeout=170s"], {
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, `rollout status failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };
    const history = async () =>
      parseTable(
        (await kubectlOk(k, ["rollout", "history", ds, ...n])).split("\n").slice(1).join("\n"),
      ).map((r) => r.REVISION);
    const podsByNode = async () => {
      const pods: Json = JSON.parse(
        await kubectlOk(k, ["get", "pods", ...n, "-l", "name=fluentd-elasticsearch", "-o", "json"]),
      );
      return pods.items.filter((p: Json) => !p.metadata.deletionTimestamp)
        .map((p: Json) => p.spec.nodeName).sort();
    };
    try {
      await kubectlOk(k, ["create", "namespace", ns]);
      await kubectlOk(k, [
        "label",
        "namespace",
        ns,
        "pod-security.kubernetes.io/enforce=privileged",
      ]);

      await t.step("one pod per node, and kubectl's columns", async () => {
        assert.equal(
          await kubectlOk(k, ["apply", "-f", "-", ...n], { stdin: FLUENTD }),
          "daemonset.apps/fluentd-elasticsearch created\n",
        );
        assert.match(
          await status(),
          /daemon set "fluentd-elasticsearch" successfully rolled out\n$/,
        );
        assert.deepEqual(await podsByNode(), cluster.nodes.map((x) => x.name).sort());
        const row = rowNamed(
          parseTable(await kubectlOk(k, ["get", "ds", ...n])),
          "fluentd-elasticsearch",
        );
        assert.deepEqual(
          [row.DESIRED, row.CURRENT, row.READY, row["UP-TO-DATE"], row.AVAILABLE],
          ["2", "2", "2", "2", "2"],
        );
        assert.equal(row["NODE SELECTOR"], "<none>");
        const all = await kubectlOk(k, ["get", "all", ...n]);
        assert.match(all, /^daemonset\.apps\/fluentd-elasticsearch\s+2\s+2\s+2\s+2\s+2\s+<none>/m);
      });

      await t.step("a template change rolls out and is recorded as revision 2", async () => {
        await kubectlOk(k, ["set", "env", ds, ...n, "VERSION=2"]);
        await status();
        assert.deepEqual(await history(), ["1", "2"]);
        const two = await kubectlOk(k, ["rollout", "history", ds, ...n, "--revision=2"]);
        assert.match(two, /^daemonset\.apps\/fluentd-elasticsearch with revision #2$/m);
        assert.match(two, /^\s+VERSION:\s+2$/m);
        const revs = parseTable(await kubectlOk(k, ["get", "controllerrevisions", ...n]));
        assert.equal(revs.length, 2);
        assert.ok(revs.every((r) => r.CONTROLLER === "daemonset.apps/fluentd-elasticsearch"));
        const pods: Json = JSON.parse(
          await kubectlOk(k, ["get", "pods", ...n, "-o", "json"]),
        );
        const live = pods.items.filter((p: Json) => !p.metadata.deletionTimestamp);
        assert.ok(live.every((p: Json) => p.spec.containers[0].env?.[0]?.value === "2"));
      });

      await t.step("undo returns to revision 1's template as revision 3", async () => {
        assert.equal(
          await kubectlOk(k, ["rollout", "undo", ds, ...n]),
          "daemonset.apps/fluentd-elasticsearch rolled back\n",
        );
        await status();
        assert.deepEqual(await history(), ["2", "3"]);
        const d: Json = JSON.parse(await kubectlOk(k, ["get", ds, ...n, "-o", "json"]));
        assert.equal(d.spec.template.spec.containers[0].env, undefined);
        assert.equal(d.status.updatedNumberScheduled, 2);
        assert.equal(d.status.observedGeneration, d.metadata.generation);
      });

      await t.step("restart replaces every pod under a new revision", async () => {
        const before: Json = JSON.parse(await kubectlOk(k, ["get", "pods", ...n, "-o", "json"]));
        const oldNames = new Set(before.items.map((p: Json) => p.metadata.name));
        assert.equal(
          await kubectlOk(k, ["rollout", "restart", ds, ...n]),
          "daemonset.apps/fluentd-elasticsearch restarted\n",
        );
        await status();
        assert.deepEqual(await history(), ["2", "3", "4"]);
        const after: Json = JSON.parse(await kubectlOk(k, ["get", "pods", ...n, "-o", "json"]));
        const live = after.items.filter((p: Json) => !p.metadata.deletionTimestamp);
        assert.equal(live.length, 2);
        assert.ok(live.every((p: Json) => !oldNames.has(p.metadata.name)));
      });

      await t.step("describe, and drain leaves the daemon pod on its cordoned node", async () => {
        const d = await kubectlOk(k, ["describe", ds, ...n]);
        assert.match(d, /^Desired Number of Nodes Scheduled: 2$/m);
        assert.match(d, /^Number of Nodes Scheduled with Up-to-date Pods: 2$/m);
        assert.match(d, /^Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
        const node = cluster.nodes[0].name;
        const drained = await kubectlOk(k, ["drain", node, "--ignore-daemonsets"]);
        assert.match(drained, /node\/\S+ drained/);
        // Cordoned (unschedulable taint): the daemon pod tolerates it and stays.
        await waitKubectl(
          k,
          [
            "get",
            "ds",
            "fluentd-elasticsearch",
            ...n,
            "-o",
            "jsonpath={.status.desiredNumberScheduled}",
          ],
          (out) => out === "2",
        );
        assert.deepEqual(await podsByNode(), cluster.nodes.map((x) => x.name).sort());
        await kubectlOk(k, ["uncordon", node]);
      });

      await t.step("deleting the DaemonSet takes its pods and revisions", async () => {
        await kubectlOk(k, ["delete", ds, ...n]);
        await waitKubectl(
          k,
          ["get", "pods,controllerrevisions", ...n, "-o", "name"],
          (out) => out.trim() === "",
          { timeoutMs: 60_000 },
        );
      });
    } finally {
      await cluster.stop();
    }
  },
});
