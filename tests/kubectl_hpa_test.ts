/**
 * HorizontalPodAutoscalers with the real kubectl on a Docker node: the documentation's
 * `autoscaling/v2` CPU autoscaler in front of a Deployment whose pods burn CPU (capped by a CPU
 * limit so the test stays light on a shared machine) scales it out to maxReplicas from the
 * metrics the agent reports, and `kubectl get hpa` shows the reference, the targets and the
 * replicas as Kubernetes prints them; `kubectl autoscale` (autoscaling/v1) creates one, and the
 * v2 autoscaler reads back through v1 with its CPU target and status.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function manifests(image: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: burn
spec:
  replicas: 1
  selector:
    matchLabels: { app: burn }
  template:
    metadata:
      labels: { app: burn }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: ${image}
        command: ["sh", "-c", "while :; do :; done"]
        resources:
          requests: { cpu: 10m }
          limits: { cpu: 50m }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: burn
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: burn
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
`;
}

Deno.test({
  name: "an autoscaling/v2 HPA scales a CPU-bound Deployment out to maxReplicas",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11"] });
    const k = cluster.kubectl;
    try {
      await t.step("applied as the documentation writes it", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: manifests(cluster.images.busybox) });
        const row = rowNamed(parseTable(await kubectlOk(k, ["get", "hpa"])), "burn");
        assert.equal(row.REFERENCE, "Deployment/burn");
        assert.equal(row.MINPODS, "1");
        assert.equal(row.MAXPODS, "3");
      });

      await t.step("the CPU use above target scales the Deployment to 3", async () => {
        await waitKubectl(
          k,
          ["get", "deployment", "burn", "-o", "jsonpath={.spec.replicas}"],
          (out) => out === "3",
          { timeoutMs: 120_000, what: "the autoscaler scales burn to 3 replicas" },
        );
        const hpa: Json = JSON.parse(await kubectlOk(k, ["get", "hpa", "burn", "-o", "json"]));
        assert.equal(hpa.status.desiredReplicas, 3);
        assert.ok(hpa.status.lastScaleTime);
        const current = hpa.status.currentMetrics[0].resource.current;
        assert.ok(current.averageUtilization > 50, JSON.stringify(current));
        const conditions = Object.fromEntries(
          hpa.status.conditions.map((c: Json) => [c.type, c.status]),
        );
        assert.equal(conditions.AbleToScale, "True");
        assert.equal(conditions.ScalingActive, "True");
        const events = await kubectlOk(k, [
          "get",
          "events",
          "--field-selector",
          "involvedObject.kind=HorizontalPodAutoscaler",
        ]);
        assert.match(events, /SuccessfulRescale/);
        assert.match(events, /New size: \d; reason: cpu resource utilization/);
      });

      await t.step("kubectl get hpa shows the targets as current/target", async () => {
        const out = await waitKubectl(
          k,
          ["get", "hpa", "burn"],
          (o) => /cpu: \d+%\/50%/.test(o) && /\b3\s+\S+\s*$/m.test(o.trim().split("\n")[1] ?? ""),
          { timeoutMs: 60_000 },
        );
        const row = rowNamed(parseTable(out), "burn");
        assert.match(row.TARGETS, /^cpu: \d+%\/50%$/);
        assert.equal(row.REPLICAS, "3");
      });

      await t.step(
        "kubectl autoscale (autoscaling/v1, protobuf) creates a CPU autoscaler",
        async () => {
          await kubectlOk(k, ["create", "deployment", "idle", `--image=${cluster.images.pause}`]);
          await kubectlOk(k, [
            "autoscale",
            "deployment",
            "idle",
            "--min=1",
            "--max=2",
            "--cpu-percent=40",
          ]);
          const v2: Json = JSON.parse(await kubectlOk(k, ["get", "hpa", "idle", "-o", "json"]));
          assert.equal(v2.apiVersion, "autoscaling/v2");
          assert.deepEqual(v2.spec.metrics, [{
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 40 } },
          }]);
          const v1: Json = JSON.parse(
            await kubectlOk(k, [
              "get",
              "horizontalpodautoscalers.v1.autoscaling",
              "burn",
              "-o",
              "json",
            ]),
          );
          assert.equal(v1.apiVersion, "autoscaling/v1");
          assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);
          assert.equal(v1.status.desiredReplicas, 3);
          assert.ok(v1.status.currentCPUUtilizationPercentage > 50);
        },
      );
    } finally {
      await cluster.stop();
    }
  },
});
