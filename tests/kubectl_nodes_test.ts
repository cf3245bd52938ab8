/**
 * The real kubectl managing nodes of a real two-node cluster: `cordon`/`uncordon` (STATUS
 * `Ready,SchedulingDisabled` and the `node.kubernetes.io/unschedulable` taint; new pods avoid the
 * node) and `taint` add/remove (a NoSchedule taint keeps pods off; a pod with nowhere to go stays
 * Pending with the scheduler's reasons, and schedules once the taint is removed). `drain` is
 * covered with logs/exec in kubectl_pod_io_test.ts.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "kubectl cordon, uncordon and taint steer where pods are scheduled",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const [n11, n12] = cluster.nodes.map((n) => n.name);
    const run = (name: string) =>
      kubectlOk(k, [
        "run",
        name,
        `--image=${TEST_IMAGES.pause}`,
        "--labels=set=nodes",
        "--overrides",
        '{"spec":{"terminationGracePeriodSeconds":1}}',
      ]);
    const nodeOf = (pod: string) =>
      kubectlOk(k, ["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"]);
    try {
      await t.step("cordon marks the node unschedulable and new pods avoid it", async () => {
        assert.equal(await kubectlOk(k, ["cordon", n11]), `node/${n11} cordoned\n`);
        const rows = parseTable(await kubectlOk(k, ["get", "nodes"]));
        assert.equal(rowNamed(rows, n11).STATUS, "Ready,SchedulingDisabled");
        assert.equal(rowNamed(rows, n12).STATUS, "Ready");
        const node = JSON.parse(await kubectlOk(k, ["get", "node", n11, "-o", "json"]));
        assert.equal(node.spec.unschedulable, true);
        // The node lifecycle controller adds the taint Kubernetes shows for cordoned nodes.
        await waitKubectl(
          k,
          ["get", "node", n11, "-o", "jsonpath={.spec.taints[*].key}"],
          (s) => s.split(" ").includes("node.kubernetes.io/unschedulable"),
        );
        for (const name of ["c1", "c2", "c3"]) await run(name);
        for (const name of ["c1", "c2", "c3"]) assert.equal(await nodeOf(name), n12);
        assert.match(await kubectlOk(k, ["cordon", n11]), /already cordoned/);
      });

      await t.step("taint NoSchedule on the other node leaves a new pod Pending", async () => {
        assert.equal(
          await kubectlOk(k, ["taint", "nodes", n12, "dedicated=edge:NoSchedule"]),
          `node/${n12} tainted\n`,
        );
        const described = await kubectlOk(k, ["describe", "node", n12]);
        assert.match(described, /^Taints:\s+dedicated=edge:NoSchedule$/m);
        await run("stuck");
        const events = await waitKubectl(
          k,
          [
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=stuck,reason=FailedScheduling",
          ],
          (s) => s.includes("FailedScheduling"),
        );
        assert.match(events, /0\/2 nodes are available/);
        assert.match(events, /untolerated taint/);
        const pod = rowNamed(parseTable(await kubectlOk(k, ["get", "pod", "stuck"])), "stuck");
        assert.equal(pod.STATUS, "Pending");
        // Pods already on the node stay: NoSchedule only affects scheduling.
        assert.equal(await nodeOf("c1"), n12);
      });

      await t.step("uncordon and taint removal let pods schedule again", async () => {
        assert.equal(await kubectlOk(k, ["uncordon", n11]), `node/${n11} uncordoned\n`);
        assert.equal(
          rowNamed(parseTable(await kubectlOk(k, ["get", "nodes"])), n11).STATUS,
          "Ready",
        );
        await waitKubectl(
          k,
          ["get", "node", n11, "-o", "jsonpath={.spec.taints[*].key}"],
          (s) => !s.includes("node.kubernetes.io/unschedulable"),
        );
        await waitKubectl(
          k,
          ["get", "pod", "stuck", "-o", "jsonpath={.spec.nodeName}"],
          (s) => s === n11,
        );
        assert.equal(
          await kubectlOk(k, ["taint", "nodes", n12, "dedicated=edge:NoSchedule-"]),
          `node/${n12} untainted\n`,
        );
        const node = JSON.parse(await kubectlOk(k, ["get", "node", n12, "-o", "json"]));
        assert.ok(!(node.spec.taints ?? []).some((x: Json) => x.key === "dedicated"));
        await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/stuck", "--timeout=30s"]);
        await kubectlOk(k, ["delete", "pods", "-l", "set=nodes"]);
      });
    } finally {
      await cluster.stop();
    }
  },
});
