/**
 * The real kubectl applying the scheduling fields Helm charts use, against a server with hollow
 * nodes in two zones: a Deployment with required pod anti-affinity (one replica per node, the
 * replica too many Pending with kube-scheduler's message) and one spread across zones by
 * `topologySpreadConstraints` (and a bad constraint refused with kube-apiserver's 422).
 */
import assert from "node:assert/strict";
import { startHollowNodes } from "./hollow_nodes.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, type KubectlTarget, waitKubectl } from "./kubectl_helpers.ts";
import { startTestServer, type TestServer } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const ZONE = "topology.kubernetes.io/zone";

/** node-0 and node-1 in zone-a, node-2 in zone-b. */
const zoneOf = (i: number) => (i < 2 ? "zone-a" : "zone-b");

function deployment(name: string, replicas: number, spec: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
${spec}
      containers:
      - name: c
        image: busybox
`;
}

/** The cluster: a server, three hollow nodes in two zones, and a kubectl target. */
async function withCluster(
  fn: (k: KubectlTarget, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer();
  const nodes = await startHollowNodes(server.client, {
    count: 3,
    labels: (i) => ({ [ZONE]: zoneOf(i) }),
  });
  const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
  try {
    await fn({ kubeconfigPath: server.kubeconfigPath, cacheDir }, server);
  } finally {
    await nodes.stop();
    await server.stop();
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
}

/** `kubectl get pods -l app=NAME -o json` once `check` holds for its items. */
async function podsWhen(
  k: KubectlTarget,
  app: string,
  what: string,
  check: (pods: Json[]) => boolean,
): Promise<Json[]> {
  const out = await waitKubectl(
    k,
    ["get", "pods", "-l", `app=${app}`, "-o", "json"],
    (stdout) => {
      try {
        return check(JSON.parse(stdout).items);
      } catch {
        return false;
      }
    },
    { what },
  );
  return JSON.parse(out).items;
}

function unschedulable(pod: Json): Json | undefined {
  return pod.status?.conditions?.find((c: Json) =>
    c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable"
  );
}

Deno.test({
  name:
    "kubectl applies a Deployment with required pod anti-affinity: one replica per node, the extra one Pending",
  ignore: !haveKubectl(),
  async fn() {
    await withCluster(async (k) => {
      const manifest = deployment(
        "web",
        3,
        `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchExpressions:
              - key: app
                operator: In
                values: [web]
            topologyKey: kubernetes.io/hostname
            matchLabelKeys: [pod-template-hash]`,
      );
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: manifest });
      const placed = await podsWhen(
        k,
        "web",
        "three replicas bound",
        (pods) => pods.length === 3 && pods.every((p) => p.spec.nodeName),
      );
      assert.deepEqual(placed.map((p) => p.spec.nodeName).sort(), ["node-0", "node-1", "node-2"]);
      // As kube-apiserver does, the pod's own pod-template-hash joined its term's selector.
      const hash = placed[0].metadata.labels["pod-template-hash"];
      assert.deepEqual(
        placed[0].spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]
          .labelSelector.matchExpressions,
        [
          { key: "app", operator: "In", values: ["web"] },
          { key: "pod-template-hash", operator: "In", values: [hash] },
        ],
      );

      await kubectlOk(k, ["scale", "deployment/web", "--replicas=4"]);
      const pods = await podsWhen(
        k,
        "web",
        "the fourth replica reported unschedulable",
        (pods) => pods.length === 4 && pods.some(unschedulable),
      );
      const pending = pods.find(unschedulable);
      assert.equal(pending.spec.nodeName, undefined);
      assert.equal(pending.status.phase, "Pending");
      // kube-scheduler's words (a preemption note may follow them).
      const message = "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.";
      assert.ok(
        unschedulable(pending).message.startsWith(message),
        unschedulable(pending).message,
      );
      const events =
        (JSON.parse(await kubectlOk(k, ["get", "events", "-o", "json"])).items as Json[])
          .filter((e) =>
            e.reason === "FailedScheduling" && e.involvedObject.name === pending.metadata.name
          );
      assert.ok(events.length > 0 && events[0].message.startsWith(message), JSON.stringify(events));
      const described = await kubectlOk(k, ["describe", "pod", pending.metadata.name]);
      assert.match(described, /FailedScheduling .*didn't match pod anti-affinity rules/);

      // Back to three: the Pending replica goes (the newest, unscheduled pod first), the rest stay.
      await kubectlOk(k, ["scale", "deployment/web", "--replicas=3"]);
      await podsWhen(
        k,
        "web",
        "three bound replicas left",
        (pods) => pods.length === 3 && pods.every((p) => p.spec.nodeName),
      );
    });
  },
});

Deno.test({
  name:
    "kubectl applies a Deployment spread across zones by topologySpreadConstraints: skew held at 1",
  ignore: !haveKubectl(),
  async fn() {
    await withCluster(async (k) => {
      // Without the constraint, replicas spread per node (2+2 in zone-a, 2 in zone-b); with it,
      // each zone gets three.
      const manifest = deployment(
        "spread",
        6,
        `      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: ${ZONE}
        whenUnsatisfiable: DoNotSchedule
        labelSelector:
          matchLabels:
            app: spread
        matchLabelKeys: [pod-template-hash]`,
      );
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: manifest });
      const zones = (pods: Json[]) => {
        const count: Record<string, number> = {};
        for (const p of pods) {
          if (p.spec.nodeName) {
            const z = zoneOf(Number(p.spec.nodeName.split("-")[1]));
            count[z] = (count[z] ?? 0) + 1;
          }
        }
        return count;
      };
      const placed = await podsWhen(
        k,
        "spread",
        "six replicas bound",
        (pods) => pods.length === 6 && pods.every((p) => p.spec.nodeName),
      );
      assert.deepEqual(zones(placed), { "zone-a": 3, "zone-b": 3 });

      // zone-b's only node is cordoned: one more replica fits in zone-a (4 against 3), the
      // next would make the skew 2 and stays Pending.
      await kubectlOk(k, ["cordon", "node-2"]);
      await kubectlOk(k, ["scale", "deployment/spread", "--replicas=8"]);
      const pods = await podsWhen(
        k,
        "spread",
        "seven bound and one unschedulable",
        (pods) =>
          pods.length === 8 && pods.filter((p) => p.spec.nodeName).length === 7 &&
          pods.some(unschedulable),
      );
      assert.deepEqual(zones(pods), { "zone-a": 4, "zone-b": 3 });
      const message = unschedulable(pods.find(unschedulable)).message;
      assert.ok(
        message.startsWith(
          "0/3 nodes are available: 1 node(s) were unschedulable, " +
            "2 node(s) didn't match pod topology spread constraints.",
        ),
        message,
      );

      // A bad constraint is refused as kube-apiserver refuses it.
      const bad = deployment(
        "bad",
        1,
        `      topologySpreadConstraints:
      - maxSkew: 0
        topologyKey: ${ZONE}
        whenUnsatisfiable: DoNotSchedule`,
      );
      const refused = await kubectl(k, ["apply", "-f", "-"], { stdin: bad });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /The Deployment "bad" is invalid: spec\.template\.spec\.topologySpreadConstraints\[0\]\.maxSkew: Invalid value: 0: must be greater than zero/,
      );
    });
  },
});
