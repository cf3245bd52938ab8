/**
 * PodDisruptionBudgets with the real kubectl on a two-node Docker cluster: `kubectl get pdb`
 * columns from the disruption controller, the eviction subresource answering 429 while a budget
 * allows no disruption (and spending the allowance, so a second eviction right after is refused),
 * and `kubectl drain` waiting on the budget instead of breaking it, then finishing once the
 * budget allows it.
 */
import assert from "node:assert/strict";
import { PODS } from "../shared/client/refs.ts";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const APP = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 2
  selector:
    matchLabels: { app: web }
`;

Deno.test({
  name: "kubectl drain waits for a PodDisruptionBudget instead of breaking it",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const client = cluster.server.client;
    const pdbRow = async () => rowNamed(parseTable(await kubectlOk(k, ["get", "pdb"])), "web");
    const evict = (name: string) =>
      client.request("POST", `/api/v1/namespaces/default/pods/${name}/eviction`, {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name, namespace: "default" },
        },
      });
    try {
      await t.step("the budget's status follows its pods", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: APP });
        await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
        await waitKubectl(k, ["get", "pdb", "web", "-o", "json"], (out) => {
          const s = JSON.parse(out).status;
          return s.currentHealthy === 2 && s.expectedPods === 2;
        });
        const row = await pdbRow();
        assert.equal(row["MIN AVAILABLE"], "2");
        assert.equal(row["MAX UNAVAILABLE"], "N/A");
        assert.equal(row["ALLOWED DISRUPTIONS"], "0");
      });

      await t.step("kubectl create pdb (protobuf) with a percentage", async () => {
        await kubectlOk(k, [
          "create",
          "pdb",
          "half",
          "--selector=app=other",
          "--max-unavailable=50%",
        ]);
        const half = JSON.parse(await kubectlOk(k, ["get", "pdb", "half", "-o", "json"]));
        assert.equal(half.spec.maxUnavailable, "50%");
        assert.deepEqual(half.spec.selector, { matchLabels: { app: "other" } });
        assert.equal(half.spec.minAvailable, undefined);
        await kubectlOk(k, ["delete", "pdb", "half"]);
      });

      await t.step("an eviction the budget forbids is a 429 naming the budget", async () => {
        const pods = (await client.list(PODS, { labelSelector: "app=web" })).items;
        const res = await evict(pods[0].metadata.name!);
        assert.equal(res.status, 429);
        const status = await res.json();
        assert.equal(status.reason, "TooManyRequests");
        assert.equal(
          status.message,
          "Cannot evict pod as it would violate the pod's disruption budget.",
        );
        assert.equal(
          status.details.causes[0].message,
          "The disruption budget web needs 2 healthy pods and has 2 currently",
        );
      });

      await t.step("kubectl drain waits on the budget and fails at its timeout", async () => {
        const node = (await client.list(PODS, { labelSelector: "app=web" })).items[0].spec
          .nodeName;
        const r = await kubectl(k, ["drain", node, "--timeout=12s", "--ignore-daemonsets"]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr + r.stdout,
          /Cannot evict pod as it would violate the pod's disruption budget/,
        );
        // Nothing was evicted: both pods still run.
        const pods = (await client.list(PODS, { labelSelector: "app=web" })).items;
        assert.equal(pods.filter((p) => !p.metadata.deletionTimestamp).length, 2);
        await kubectlOk(k, ["uncordon", node]);
      });

      await t.step("an allowed eviction spends the allowance; drain then succeeds", async () => {
        await kubectlOk(k, [
          "patch",
          "pdb",
          "web",
          "--type=merge",
          "-p",
          '{"spec":{"minAvailable":1}}',
        ]);
        await waitKubectl(
          k,
          ["get", "pdb", "web"],
          (out) => parseTable(out)[0]?.["ALLOWED DISRUPTIONS"] === "1",
        );
        const pods = (await client.list(PODS, { labelSelector: "app=web" })).items;
        const first = await evict(pods[0].metadata.name!);
        assert.equal(first.status, 201, await first.text());
        // The allowance is spent at once: the second pod may not go too.
        const second = await evict(pods[1].metadata.name!);
        assert.equal(second.status, 429);
        await second.body?.cancel();
        // Once the Deployment has replaced the evicted pod, drain one node entirely.
        await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
        await waitKubectl(
          k,
          ["get", "pdb", "web"],
          (out) => parseTable(out)[0]?.["ALLOWED DISRUPTIONS"] === "1",
        );
        const node = (await client.list(PODS, { labelSelector: "app=web" })).items
          .find((p) => !p.metadata.deletionTimestamp)!.spec.nodeName;
        const out = await kubectlOk(k, ["drain", node, "--timeout=90s", "--ignore-daemonsets"]);
        assert.match(out, new RegExp(`node/${node} drained`));
        const left: Json[] = (await client.list(PODS, { labelSelector: "app=web" })).items
          .filter((p) => !p.metadata.deletionTimestamp && p.spec.nodeName === node);
        assert.equal(left.length, 0);
      });
    } finally {
      await cluster.stop();
    }
  },
});
