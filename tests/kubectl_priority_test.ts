/**
 * PriorityClasses, pod priority and preemption with the real kubectl against a server with
 * hollow nodes: the built-in system classes, `kubectl create priorityclass` (protobuf) and
 * `kubectl get priorityclasses`' columns, kube-apiserver's refusals (reserved names, one global
 * default, immutable value, undeletable system classes), Priority admission on pods, and the
 * scheduler preempting a lower-priority pod for a higher one while a `Never` pod waits.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "kubectl serves PriorityClasses as kube-apiserver does, and pods get their priority",
  ignore: !haveKubectl(),
  async fn(t) {
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-priority-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      await t.step("the system classes exist from the start", async () => {
        const rows = parseTable(await kubectlOk(k, ["get", "priorityclasses"]));
        const node = rowNamed(rows, "system-node-critical");
        assert.equal(node.VALUE, "2000001000");
        assert.equal(node["GLOBAL-DEFAULT"], "false");
        assert.equal(node.PREEMPTIONPOLICY, "PreemptLowerPriority");
        assert.equal(rowNamed(rows, "system-cluster-critical").VALUE, "2000000000");
        assert.deepEqual(
          Object.keys(node),
          ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        );
      });

      await t.step("kubectl create priorityclass (protobuf) and get pc", async () => {
        await kubectlOk(k, [
          "create",
          "priorityclass",
          "batch",
          "--value=100",
          "--global-default",
          "--description=batch work",
          "--preemption-policy=Never",
        ]);
        const row = rowNamed(parseTable(await kubectlOk(k, ["get", "pc"])), "batch");
        assert.equal(row.VALUE, "100");
        assert.equal(row["GLOBAL-DEFAULT"], "true");
        assert.equal(row.PREEMPTIONPOLICY, "Never");
        await kubectlOk(k, ["create", "priorityclass", "high", "--value=1000"]);
      });

      await t.step("kube-apiserver's refusals", async () => {
        const refused = async (args: string[], pattern: RegExp) => {
          const r = await kubectl(k, args);
          assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} succeeded`);
          assert.match(r.stderr, pattern);
        };
        await refused(
          ["create", "priorityclass", "system-mine", "--value=5"],
          /priority class names with 'system-' prefix are reserved for system use only/,
        );
        await refused(
          ["create", "priorityclass", "huge", "--value=1000000001"],
          /maximum allowed value of a user defined priority is 1000000000/,
        );
        await refused(
          ["create", "priorityclass", "other-default", "--value=1", "--global-default"],
          /PriorityClass batch is already marked as default. Only one default can exist/,
        );
        await refused(
          ["patch", "pc", "high", "--type=merge", "-p", '{"value":5}'],
          /value: Forbidden: may not be changed in an update/,
        );
        await refused(
          ["patch", "pc", "system-cluster-critical", "--type=merge", "-p", '{"value":5}'],
          /may not be changed in an update/,
        );
        await refused(
          ["delete", "pc", "system-node-critical"],
          /this is a system priority class and cannot be deleted/,
        );
        // A system class's description may change, as in Kubernetes.
        await kubectlOk(k, [
          "patch",
          "pc",
          "system-cluster-critical",
          "--type=merge",
          "-p",
          '{"description":"ours"}',
        ]);
      });

      await t.step("Priority admission resolves a pod's class", async () => {
        const run = (name: string, extra: string[] = []) =>
          kubectl(k, ["run", name, "--image=busybox", "--restart=Never", ...extra]);
        const overrides = (spec: Json) => `--overrides=${JSON.stringify({ spec })}`;
        const r = await run("unknown", [overrides({ priorityClassName: "nope" })]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /pods "unknown" is forbidden: no PriorityClass with name nope was found/,
        );
        const critical = await run("critical", [
          overrides({ priorityClassName: "system-node-critical" }),
        ]);
        assert.equal(critical.code, 0, critical.stderr);
        const pod = JSON.parse(await kubectlOk(k, ["get", "pod", "critical", "-o", "json"]));
        assert.equal(pod.spec.priority, 2000001000);
        assert.equal(pod.spec.preemptionPolicy, "PreemptLowerPriority");
        // No class: the global default (batch, Never) — refused while preemption is not honoured.
        await kubectlOk(k, ["delete", "pc", "batch"]);
        const plain = await run("plain");
        assert.equal(plain.code, 0, plain.stderr);
        const p = JSON.parse(await kubectlOk(k, ["get", "pod", "plain", "-o", "json"]));
        assert.equal(p.spec.priority, 0);
        assert.equal(p.spec.priorityClassName, undefined);
        const wrong = await run("wrong", [overrides({ priorityClassName: "high", priority: 3 })]);
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /the integer value of priority \(3\) must not be provided/);
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
