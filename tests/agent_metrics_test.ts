/**
 * The agent's metrics end to end: with a pod running on a real Docker engine, the agent API's
 * /metrics (server credentials only) shows the kubelet's running pods, a pod start and a relist
 * observation and counted Docker operations, and /metrics/cadvisor shows the pod's container
 * CPU and memory.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "npm:parse-prometheus-text-format@1.1.1";
import {
  agentApiBase,
  boundPod,
  createPod,
  SLEEP_UNTIL_TERM,
  startAgent,
  testAgentConfig,
  waitForPod,
} from "./agent_test_utils.ts";
import { ensureTestImages } from "./images.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** The value of the sample line `series` (name with its labels, as written) in `text`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("the agent serves kubelet metrics at /metrics and container usage at /metrics/cadvisor", async () => {
  const images = await ensureTestImages();
  const server = await startTestServer({ controllers: false });
  const token = (await Deno.readTextFile(`${server.dataDir}/agent-client-token`)).trim();
  const config = await testAgentConfig(server, { apiToken: token });
  const agent = startAgent(config);
  try {
    const name = `metered-${crypto.randomUUID().slice(0, 6)}`;
    await createPod(
      server.client,
      boundPod(name, config.nodeName, {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: images.busybox, command: SLEEP_UNTIL_TERM }],
      }),
    );
    await waitForPod(server.client, name, "running", (p) => p.status?.phase === "Running");
    const base = await agentApiBase(server.client, config.nodeName);
    const get = async (path: string, bearer = token) => {
      const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
    };

    const refused = await get("/metrics/cadvisor", server.token);
    assert.equal(refused.status, 401);

    // The relist runs every 2 s in tests: wait for one after the agent synced.
    const text = await waitFor("a relist observation", async () => {
      const m = await get("/metrics");
      assert.equal(m.status, 200);
      return (sample(m.text, "kubelet_pleg_relist_duration_seconds_count") ?? 0) >= 1
        ? m.text
        : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    const families = new Map(
      (parsePrometheusTextFormat(text) as Any[]).map((f: Any) => [f.name, f]),
    );
    assert.equal(families.get("kubelet_running_pods")?.type, "GAUGE");
    assert.ok(Number(families.get("kubelet_running_pods").metrics[0].value) >= 1, text);
    assert.ok((sample(text, 'kubelet_running_containers{container_state="running"}') ?? 0) >= 1);
    assert.equal(families.get("kubelet_pod_start_duration_seconds")?.type, "HISTOGRAM");
    assert.ok((sample(text, "kubelet_pod_start_duration_seconds_count") ?? 0) >= 1, text);
    assert.ok((sample(text, "kubelet_pod_start_duration_seconds_sum") ?? 0) > 0, text);
    assert.ok(
      (sample(text, 'kubelet_runtime_operations_total{operation_type="create_container"}') ?? 0) >=
        2, // the sandbox and the container
      text,
    );
    assert.ok((sample(text, "process_resident_memory_bytes") ?? 0) > 0);

    const cadvisor = await get("/metrics/cadvisor");
    assert.equal(cadvisor.status, 200);
    assert.match(cadvisor.type ?? "", /^text\/plain; version=0\.0\.4/);
    const labels = `{container="main",namespace="default",pod="${name}"}`;
    const cpu = sample(cadvisor.text, `container_cpu_usage_seconds_total${labels}`);
    const memory = sample(cadvisor.text, `container_memory_working_set_bytes${labels}`);
    assert.ok(cpu !== undefined && cpu >= 0, cadvisor.text);
    assert.ok(memory !== undefined && memory > 0, cadvisor.text);
    const parsed = new Map(
      (parsePrometheusTextFormat(cadvisor.text) as Any[]).map((f: Any) => [f.name, f]),
    );
    assert.equal(parsed.get("container_cpu_usage_seconds_total")?.type, "COUNTER");
    assert.ok(
      parsed.get("container_memory_working_set_bytes").metrics.some((m: Any) =>
        m.labels.pod === name && m.labels.container === "main" && m.labels.namespace === "default"
      ),
    );
  } finally {
    await agent.stop();
    await server.stop();
  }
});
