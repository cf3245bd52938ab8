/**
 * A node's counters reach the metrics endpoint: after traffic through a Service's NodePort, the
 * agent API's /metrics (server credentials only) shows the proxy's per-port connection counters.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { kubectl } from "./kubectl.ts";
import { waitFor } from "./test_utils.ts";

Deno.test("the agent API serves the node proxy's per-service counters at /metrics", async () => {
  const c = await startTestCluster({ nodeAddresses: ["127.0.0.11"] });
  try {
    const node = c.nodes[0];
    const run = await kubectl(c.kubectl, [
      "create",
      "deployment",
      "metered",
      `--image=${c.images.busybox}`,
      "--port=80",
      "--",
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/www",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const exposed = await kubectl(c.kubectl, [
      "expose",
      "deployment",
      "metered",
      "--port=80",
      "--type=NodePort",
    ]);
    assert.equal(exposed.code, 0, exposed.stderr);
    const nodePort = (await kubectl(c.kubectl, [
      "get",
      "svc",
      "metered",
      "-o",
      "jsonpath={.spec.ports[0].nodePort}",
    ])).stdout;
    await waitFor("the NodePort answers", async () => {
      try {
        const r = await fetch(`http://${node.address}:${nodePort}/`);
        return r.ok && (await r.text()).includes("hello from skiff");
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, intervalMs: 200 });

    const token = (await Deno.readTextFile(`${c.server.dataDir}/agent-client-token`)).trim();
    const url = `http://${node.address}:${node.apiPort}/metrics`;
    const refused = await fetch(url, { headers: { authorization: `Bearer ${c.server.token}` } });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    const line = text.split("\n").find((l) =>
      l.startsWith("skiff_proxy_connections_total{") &&
      l.includes('namespace="default",service="metered"') &&
      l.includes('protocol="TCP"')
    );
    assert.ok(line, text);
    assert.ok(Number(line.split(" ").pop()) >= 1, line);
  } finally {
    await c.stop();
  }
});
