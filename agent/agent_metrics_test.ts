import assert from "node:assert/strict";
import parsePrometheusTextFormat from "npm:parse-prometheus-text-format@1.1.1";
import { AgentMetrics, cadvisorExposition } from "./agent_metrics.ts";
import type { ContainerInfo } from "./docker_types.ts";
import { LABEL_CONTAINER_NAME, LABEL_KIND, LABEL_POD_NAME, LABEL_POD_NAMESPACE } from "./labels.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function container(pod: string, kind: string, state: string): ContainerInfo {
  return {
    Id: crypto.randomUUID(),
    Names: [],
    Image: "",
    ImageID: "",
    Labels: {
      [LABEL_POD_NAMESPACE]: "default",
      [LABEL_POD_NAME]: pod,
      [LABEL_KIND]: kind,
      [LABEL_CONTAINER_NAME]: "c",
    },
    State: state,
    Status: "",
    Created: 0,
  };
}

Deno.test("AgentMetrics counts running pods and containers from Docker's list at scrape", () => {
  const m = new AgentMetrics();
  try {
    const text = m.exposition([
      container("a", "sandbox", "running"),
      container("a", "container", "running"),
      container("a", "container", "exited"),
      container("b", "sandbox", "running"),
      container("b", "container", "created"),
      container("c", "sandbox", "exited"),
      container("c", "container", "paused"),
    ]);
    const families = new Map((parsePrometheusTextFormat(text) as Any[]).map((f) => [f.name, f]));
    assert.equal(families.get("kubelet_running_pods").metrics[0].value, "2");
    const byState = Object.fromEntries(
      families.get("kubelet_running_containers").metrics.map((
        s: Any,
      ) => [s.labels.container_state, s.value]),
    );
    assert.deepEqual(byState, { running: "1", exited: "1", created: "1", unknown: "1" });
    assert.ok(families.has("process_resident_memory_bytes"));
    // The next scrape counts the next list, not this one.
    const empty = parsePrometheusTextFormat(m.exposition([])) as Any[];
    assert.equal(empty.find((f) => f.name === "kubelet_running_pods").metrics[0].value, "0");
  } finally {
    m.close();
  }
});

Deno.test("AgentMetrics observes relists (also failed ones) and runtime operations", async () => {
  const m = new AgentMetrics();
  try {
    assert.equal(await m.timeRelist(() => Promise.resolve(7)), 7);
    await assert.rejects(m.timeRelist(() => Promise.reject(new Error("docker gone"))));
    m.runtimeOperation("list_containers", false);
    m.runtimeOperation("list_containers", true);
    m.runtimeOperation("start_container", false);
    m.podStartDuration.observe({}, 1.5);
    const text = m.exposition([]);
    assert.match(text, /^kubelet_pleg_relist_duration_seconds_count 2$/m);
    assert.match(text, /^kubelet_pod_start_duration_seconds_bucket\{le="2"\} 1$/m);
    assert.match(text, /^kubelet_pod_start_duration_seconds_sum 1.5$/m);
    const families = new Map((parsePrometheusTextFormat(text) as Any[]).map((f) => [f.name, f]));
    assert.equal(families.get("kubelet_pleg_relist_duration_seconds").type, "HISTOGRAM");
    const ops = families.get("kubelet_runtime_operations_total").metrics;
    assert.deepEqual(
      ops.map((s: Any) => [s.labels.operation_type, s.value]),
      [["list_containers", "2"], ["start_container", "1"]],
    );
    assert.deepEqual(
      families.get("kubelet_runtime_operations_errors_total").metrics.map((
        s: Any,
      ) => [s.labels.operation_type, s.value]),
      [["list_containers", "1"]],
    );
  } finally {
    m.close();
  }
});

Deno.test("cadvisorExposition writes containers' CPU seconds and working set by pod", () => {
  const text = cadvisorExposition([
    {
      namespace: "default",
      pod: "web",
      container: "main",
      cpuSeconds: 1.25,
      memoryWorkingSetBytes: 4096,
    },
  ]);
  const families = new Map((parsePrometheusTextFormat(text) as Any[]).map((f) => [f.name, f]));
  const cpu = families.get("container_cpu_usage_seconds_total");
  assert.equal(cpu.type, "COUNTER");
  assert.deepEqual(cpu.metrics[0], {
    labels: { container: "main", namespace: "default", pod: "web" },
    value: "1.25",
  });
  const mem = families.get("container_memory_working_set_bytes");
  assert.equal(mem.type, "GAUGE");
  assert.equal(mem.metrics[0].value, "4096");
});
