/**
 * Pod scheduling gates with the real kubectl: a gated pod is not scheduled and says so
 * (PodScheduled=False/SchedulingGated, STATUS SchedulingGated); a gate may be removed but not
 * added; once the last one goes the scheduler places the pod.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
import { startTestServer } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const GATED = `apiVersion: v1
kind: Pod
metadata:
  name: gated
spec:
  schedulingGates:
  - name: example.com/quota
  - name: example.com/approval
  containers:
  - name: app
    image: busybox
`;

Deno.test({
  name:
    "a gated pod stays unscheduled (SchedulingGated) until its gates are removed, then is scheduled",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer();
    const nodes = await startHollowNodes(server.client, {
      count: 1,
      prefix: "hgate",
      addressOf: (i) => `127.0.8.${41 + i}`,
    });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-gates-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: GATED });
      const pod: Json = JSON.parse(await kubectlOk(k, ["get", "pod", "gated", "-o", "json"]));
      const scheduled = pod.status.conditions.find((c: Json) => c.type === "PodScheduled");
      assert.deepEqual(
        { status: scheduled.status, reason: scheduled.reason, message: scheduled.message },
        {
          status: "False",
          reason: "SchedulingGated",
          message: "Scheduling is blocked due to non-empty scheduling gates",
        },
      );
      assert.equal(
        rowNamed(parseTable(await kubectlOk(k, ["get", "pods"])), "gated").STATUS,
        "SchedulingGated",
      );

      const jsonPatch = (ops: string) =>
        kubectl(k, ["patch", "pod", "gated", "--type=json", "-p", ops]);
      // A gate may not be added, only removed.
      const add = await jsonPatch(
        '[{"op":"add","path":"/spec/schedulingGates/-","value":{"name":"example.com/more"}}]',
      );
      assert.notEqual(add.code, 0);
      assert.match(
        add.stderr,
        /spec\.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate 'example\.com\/more'/,
      );
      assert.equal((await jsonPatch('[{"op":"remove","path":"/spec/schedulingGates/0"}]')).code, 0);
      // One gate left: still not scheduled, however long we wait for the scheduler (a second).
      await new Promise((r) => setTimeout(r, 1000));
      const still: Json = JSON.parse(await kubectlOk(k, ["get", "pod", "gated", "-o", "json"]));
      assert.equal(still.spec.nodeName, undefined);
      assert.deepEqual(still.spec.schedulingGates, [{ name: "example.com/approval" }]);

      assert.equal((await jsonPatch('[{"op":"remove","path":"/spec/schedulingGates"}]')).code, 0);
      await waitKubectl(
        k,
        ["get", "pod", "gated", "-o", "json"],
        (s) => JSON.parse(s).spec.nodeName === "hgate-0",
        { what: "the pod scheduled once ungated" },
      );

      // A name that is not a qualified name, and a nodeName with gates, are refused on create.
      const bad = await kubectl(k, ["apply", "-f", "-"], {
        stdin: GATED.replace("gated", "bad").replace("example.com/quota", "not a name") +
          "  nodeName: hgate-0\n",
      });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /spec\.schedulingGates\[0\]\.name: Invalid value: "not a name"/);
      assert.match(
        bad.stderr,
        /spec\.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared/,
      );
    } finally {
      await nodes.stop();
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
