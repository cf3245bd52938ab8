/**
 * PriorityClasses, pod priority and preemption with the real kubectl against a server with
 * hollow nodes: the built-in system classes, `kubectl create priorityclass` (protobuf) and
 * `kubectl get priorityclasses`' columns, kube-apiserver's refusals (reserved names, one global
 * default, immutable value, undeletable system classes), Priority admission on pods, and the
 * scheduler preempting a lower-priority pod for a higher one while a `Never` pod waits.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, spawnKubectl, waitKubectl } from "./kubectl_helpers.ts";
import { startHollowNodes } from "./hollow_nodes.ts";
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

      await t.step("discovery and OpenAPI: api-resources and explain", async () => {
        const resources = parseTable(await kubectlOk(k, ["api-resources"]));
        assert.deepEqual(
          { ...resources.find((r) => r.NAME === "priorityclasses") },
          {
            NAME: "priorityclasses",
            SHORTNAMES: "pc",
            APIVERSION: "scheduling.k8s.io/v1",
            NAMESPACED: "false",
            KIND: "PriorityClass",
          },
        );
        const explained = await kubectlOk(k, ["explain", "priorityclass"]);
        assert.match(explained, /GROUP:\s+scheduling\.k8s\.io/);
        assert.match(explained, /KIND:\s+PriorityClass/);
        assert.match(explained, /preemptionPolicy\s+<string>/);
        assert.match(explained, /value\s+<integer> -required-/);
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
        // No class: the global default's name, value and policy.
        const defaulted = await run("defaulted");
        assert.equal(defaulted.code, 0, defaulted.stderr);
        const d = JSON.parse(await kubectlOk(k, ["get", "pod", "defaulted", "-o", "json"]));
        assert.equal(d.spec.priorityClassName, "batch");
        assert.equal(d.spec.priority, 100);
        assert.equal(d.spec.preemptionPolicy, "Never");
        // Without a global default: priority 0.
        await kubectlOk(k, ["delete", "pc", "batch"]);
        const plain = await run("plain");
        assert.equal(plain.code, 0, plain.stderr);
        const p = JSON.parse(await kubectlOk(k, ["get", "pod", "plain", "-o", "json"]));
        assert.equal(p.spec.priority, 0);
        assert.equal(p.spec.priorityClassName, undefined);
        assert.equal(p.spec.preemptionPolicy, "PreemptLowerPriority");
        // A replace from the manifest (no priority) keeps the priority admission gave.
        const manifest = { apiVersion: "v1", kind: "Pod", metadata: d.metadata, spec: d.spec };
        delete manifest.spec.priority;
        delete manifest.spec.preemptionPolicy;
        await kubectlOk(k, ["replace", "-f", "-"], { stdin: JSON.stringify(manifest) });
        assert.equal(
          JSON.parse(await kubectlOk(k, ["get", "pod", "defaulted", "-o", "json"])).spec.priority,
          100,
        );
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

const LOW = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: low
spec:
  replicas: 2
  selector:
    matchLabels: { app: low }
  template:
    metadata:
      labels: { app: low }
    spec:
      priorityClassName: low
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: busybox
        resources: { requests: { cpu: 400m } }
`;

function podYaml(name: string, priorityClassName: string): string {
  return `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  priorityClassName: ${priorityClassName}
  containers:
  - name: app
    image: busybox
    resources: { requests: { cpu: 500m } }
`;
}

Deno.test({
  name: "a high-priority pod preempts a low-priority one on a full node; a Never pod stays Pending",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer();
    const nodes = await startHollowNodes(server.client, {
      count: 1,
      prefix: "hpri",
      cpu: "1",
      memory: "4Gi",
      addressOf: (i) => `127.0.8.${11 + i}`,
    });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-preemption-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const jsonpath = (args: string[], path: string) =>
      kubectlOk(k, [...args, "-o", `jsonpath=${path}`]);
    const watch = spawnKubectl(k, [
      "get",
      "pods",
      "-l",
      "app=low",
      "-w",
      "-o",
      'jsonpath={.metadata.name} {.status.conditions[?(@.type=="DisruptionTarget")].reason}' +
      ' {.status.conditions[?(@.type=="DisruptionTarget")].message}{"\\n"}',
    ]);
    try {
      await kubectlOk(k, ["create", "priorityclass", "low", "--value=10"]);
      await kubectlOk(k, ["create", "priorityclass", "high", "--value=1000"]);
      await kubectlOk(k, [
        "create",
        "priorityclass",
        "high-never",
        "--value=1000",
        "--preemption-policy=Never",
      ]);
      // Two low-priority replicas fill 800m of the node's 1000m.
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: LOW });
      await kubectlOk(k, ["rollout", "status", "deployment/low", "--timeout=60s"]);
      const lowPods =
        (await jsonpath(["get", "pods", "-l", "app=low"], "{.items[*].metadata.name}"))
          .split(" ");
      assert.equal(lowPods.length, 2);

      // A Never pod of high priority does not preempt: it waits, and the low pods stay.
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: podYaml("never", "high-never") });
      const cond = '{.status.conditions[?(@.type=="PodScheduled")].reason}';
      await waitKubectl(
        k,
        ["get", "pod", "never", "-o", `jsonpath=${cond}`],
        (s) => s === "Unschedulable",
      );
      assert.equal(await jsonpath(["get", "pod", "never"], "{.spec.preemptionPolicy}"), "Never");
      assert.equal(
        await jsonpath(["get", "pods", "-l", "app=low"], "{.items[*].metadata.deletionTimestamp}"),
        "",
      );

      // A high-priority pod preempts one low pod, is nominated to the node and runs there.
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: podYaml("vip", "high") });
      const vipUid = await jsonpath(["get", "pod", "vip"], "{.metadata.uid}");
      await waitKubectl(
        k,
        ["get", "pod", "vip", "-o", "jsonpath={.status.phase}"],
        (s) => s === "Running",
        { timeoutMs: 60_000 },
      );
      assert.equal(await jsonpath(["get", "pod", "vip"], "{.spec.nodeName}"), "hpri-0");
      assert.equal(await jsonpath(["get", "pod", "vip"], "{.status.nominatedNodeName}"), "hpri-0");
      assert.equal(await jsonpath(["get", "pod", "vip"], "{.spec.priority}"), "1000");

      const events: Json[] = JSON.parse(
        await kubectlOk(k, ["get", "events", "--field-selector", "reason=Preempted", "-o", "json"]),
      ).items;
      assert.equal(events.length, 1, JSON.stringify(events));
      const victim = events[0].involvedObject.name;
      assert.ok(lowPods.includes(victim));
      assert.equal(events[0].message, `Preempted by pod ${vipUid} on node hpri-0`);
      assert.equal(events[0].source.component, "default-scheduler");
      await watch.waitOutput(
        (out) =>
          out.includes(
            `${victim} PreemptionByScheduler default-scheduler: preempting to accommodate a ` +
              "higher priority pod",
          ),
        "the victim's DisruptionTarget condition",
      );
      // The victim is gone; the other low pod still runs; the Deployment's replacement and the
      // Never pod wait, since the room left is held by nobody but vip now.
      const survivor = lowPods.find((n) => n !== victim)!;
      await waitKubectl(
        k,
        ["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
        (s) => !s.split(" ").includes(victim),
      );
      assert.equal(await jsonpath(["get", "pod", survivor], "{.status.phase}"), "Running");
      const replacement = await waitKubectl(
        k,
        [
          "get",
          "pods",
          "-l",
          "app=low",
          "-o",
          `jsonpath={range .items[*]}{.metadata.name} ${cond}{"\\n"}{end}`,
        ],
        (s) => s.includes("Unschedulable"),
      );
      assert.equal(replacement.trim().split("\n").length, 2);
      assert.equal(await jsonpath(["get", "pod", "never"], "{.spec.nodeName}"), "");
      assert.equal(await jsonpath(["get", "pod", "never"], "{.status.phase}"), "Pending");
    } finally {
      await watch.stop();
      await nodes.stop();
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
