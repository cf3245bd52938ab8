import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeLister } from "../../shared/testing/fake_lister.ts";
import { RecordingClient } from "../../shared/testing/recording_client.ts";
import { aggregatedRules, ClusterRoleAggregationController } from "./cluster_role_aggregation.ts";

function role(
  name: string,
  options: { labels?: Record<string, string>; rules?: unknown[]; aggregate?: string } = {},
): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name, labels: options.labels },
    rules: options.rules ?? [],
    ...(options.aggregate
      ? {
        aggregationRule: {
          clusterRoleSelectors: [{ matchLabels: { [options.aggregate]: "true" } }],
        },
      }
      : {}),
  } as KubeObject;
}

const readPods = { verbs: ["get"], apiGroups: [""], resources: ["pods"] };
const readWidgets = { verbs: ["get"], apiGroups: ["example.com"], resources: ["widgets"] };

Deno.test("aggregatedRules() gathers matching roles' rules in name order, without duplicates", () => {
  const view = role("view", { aggregate: "to-view" });
  const cases: [string, KubeObject[], unknown[]][] = [
    ["none match", [view, role("x", { rules: [readPods] })], []],
    [
      "two match, sorted by name",
      [
        view,
        role("z", { labels: { "to-view": "true" }, rules: [readPods] }),
        role("a", { labels: { "to-view": "true" }, rules: [readWidgets] }),
      ],
      [readWidgets, readPods],
    ],
    [
      "duplicates once",
      [
        view,
        role("a", { labels: { "to-view": "true" }, rules: [readPods] }),
        role("b", { labels: { "to-view": "true" }, rules: [readPods] }),
      ],
      [readPods],
    ],
    ["label value must match", [
      view,
      role("a", { labels: { "to-view": "no" }, rules: [readPods] }),
    ], []],
  ];
  for (const [name, all, want] of cases) assert.deepEqual(aggregatedRules(view, all), want, name);
});

Deno.test("reconcile() updates an aggregated role only when its rules change", async () => {
  const roles = new FakeLister([
    role("view", { aggregate: "to-view" }),
    role("widgets", { labels: { "to-view": "true" }, rules: [readWidgets] }),
    role("plain", { rules: [readPods] }),
  ]);
  const client = new RecordingClient();
  const controller = new ClusterRoleAggregationController({ roles, client });
  await controller.reconcile("plain");
  await controller.reconcile("missing");
  assert.deepEqual(client.actions(), []);
  await controller.reconcile("view");
  assert.deepEqual(client.actions(), ["update clusterroles view"]);
  assert.deepEqual((client.writes()[0].body as KubeObject).rules, [readWidgets]);
  // Once up to date, nothing to write.
  roles.set({ ...roles.get("view")!, rules: [readWidgets] });
  client.clear();
  await controller.reconcile("view");
  assert.deepEqual(client.actions(), []);
  assert.deepEqual(controller.aggregatedNames(), ["view"]);
});
