/** Tests for the metrics.k8s.io/v1beta1 builders (kubectl top itself is in tests/kubectl_wire_test.ts). */
import { deepStrictEqual, equal } from "node:assert/strict";
import { formatCpu, formatMemory, nodeMetricsList, podMetricsList } from "./metrics_api.ts";
import { parseQuantity } from "../../shared/api/quantity.ts";

Deno.test("formatCpu() prints nanocores in the shortest exact form", () => {
  equal(formatCpu(0), "0");
  equal(formatCpu(123_456_789), "123456789n");
  equal(formatCpu(250_000_000), "250m");
  equal(formatCpu(2_000_000_000), "2");
  equal(formatCpu(1_500), "1500n");
  equal(formatCpu(12_000), "12u");
  equal(formatCpu(-5), "0");
  equal(parseQuantity(formatCpu(123_456_789)), 0.123456789);
});

Deno.test("formatMemory() rounds to whole KiB in the largest exact binary unit", () => {
  equal(formatMemory(0), "0");
  equal(formatMemory(1_861_783_552), "1818148Ki");
  equal(formatMemory(1024 ** 3), "1Gi");
  equal(formatMemory(64 * 1024 ** 2 + 100), "64Mi");
  equal(formatMemory(1500), "1Ki");
});

Deno.test("nodeMetricsList() builds a NodeMetricsList sorted by name", () => {
  const now = new Date("2026-11-28T17:00:00.123Z");
  deepStrictEqual(
    nodeMetricsList([
      { name: "n2", cpuNanoCores: 1e9, memoryBytes: 1024 ** 3, labels: { zone: "a" } },
      {
        name: "n1",
        cpuNanoCores: 250e6,
        memoryBytes: 512 * 1024 ** 2,
        timestamp: new Date("2026-11-28T16:59:55Z"),
        windowSeconds: 20.5,
      },
    ], { now }),
    {
      kind: "NodeMetricsList",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: {},
      items: [
        {
          kind: "NodeMetrics",
          apiVersion: "metrics.k8s.io/v1beta1",
          metadata: { name: "n1", creationTimestamp: "2026-11-28T17:00:00Z" },
          timestamp: "2026-11-28T16:59:55Z",
          window: "20.5s",
          usage: { cpu: "250m", memory: "512Mi" },
        },
        {
          kind: "NodeMetrics",
          apiVersion: "metrics.k8s.io/v1beta1",
          metadata: {
            name: "n2",
            creationTimestamp: "2026-11-28T17:00:00Z",
            labels: { zone: "a" },
          },
          timestamp: "2026-11-28T17:00:00Z",
          window: "10s",
          usage: { cpu: "1", memory: "1Gi" },
        },
      ],
    },
  );
});

Deno.test("podMetricsList() builds a PodMetricsList with per-container usage", () => {
  const now = new Date("2026-11-28T17:00:00Z");
  const list = podMetricsList([
    { namespace: "web", name: "b", containers: [] },
    {
      namespace: "default",
      name: "z",
      containers: [{ name: "app", cpuNanoCores: 3_210_000, memoryBytes: 20 * 1024 ** 2 }],
    },
  ], { now });
  equal(list.kind, "PodMetricsList");
  deepStrictEqual(list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`), [
    "default/z",
    "web/b",
  ]);
  deepStrictEqual(list.items[0], {
    kind: "PodMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: { name: "z", namespace: "default", creationTimestamp: "2026-11-28T17:00:00Z" },
    timestamp: "2026-11-28T17:00:00Z",
    window: "10s",
    containers: [{ name: "app", usage: { cpu: "3210u", memory: "20Mi" } }],
  });
});
