/**
 * End-to-end: the agent API's exec (kubectl's channel protocol over WebSocket, with stdin and a
 * final Status frame), port-forward tunnel, and usage stats, against real containers.
 */

import assert from "node:assert/strict";
import { INDEX_HTML } from "./images.ts";
import {
  agentApiBase,
  boundPod,
  createPod,
  startAgentTest,
  waitForPod,
} from "./agent_test_utils.ts";

interface ExecResult {
  stdout: string;
  stderr: string;
  status: { status: string; message?: string; details?: { causes?: { message: string }[] } };
}

function openSocket(url: string, token: string, protocols: string[] = []): Promise<WebSocket> {
  // Deno's WebSocket accepts headers, which the agent API needs for its bearer token.
  const ws = new (WebSocket as unknown as new (
    url: string,
    init: { protocols: string[]; headers: Record<string, string> },
  ) => WebSocket)(url, { protocols, headers: { Authorization: `Bearer ${token}` } });
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error(`websocket failed: ${(e as ErrorEvent).message}`));
  });
}

async function exec(
  base: string,
  token: string,
  path: string,
  stdin?: string,
): Promise<ExecResult> {
  const ws = await openSocket(`${base}${path}`, token, ["v5.channel.k8s.io"]);
  assert.equal(ws.protocol, "v5.channel.k8s.io");
  const dec = new TextDecoder();
  const out = { stdout: "", stderr: "", status: undefined as unknown as ExecResult["status"] };
  const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
  ws.onmessage = (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    const text = dec.decode(b.slice(1));
    if (b[0] === 1) out.stdout += text;
    else if (b[0] === 2) out.stderr += text;
    else if (b[0] === 3) out.status = JSON.parse(text);
  };
  if (stdin !== undefined) {
    ws.send(new Uint8Array([0, ...new TextEncoder().encode(stdin)]));
    ws.send(new Uint8Array([255, 0]));
  }
  await closed;
  return out;
}

Deno.test("agent API: exec with stdin and exit codes, port-forward, stats", async () => {
  const { images, client, config, stop } = await startAgentTest();
  try {
    await createPod(
      client,
      boundPod("box", config.nodeName, {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "web",
          image: images.busybox,
          command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
        }],
      }),
    );
    await waitForPod(client, "box", "Running", (p) => p.status?.phase === "Running");
    const base = await agentApiBase(client, config.nodeName);
    const ws = base.replace(/^http:/, "ws:");

    const ok = await exec(
      ws,
      config.token,
      "/exec/default/box/web?command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262&stdout=true&stderr=true",
    );
    assert.equal(ok.stdout, "out\n");
    assert.equal(ok.stderr, "err\n");
    assert.equal(ok.status.status, "Success");

    const fail = await exec(
      ws,
      config.token,
      "/exec/default/box/web?command=sh&command=-c&command=exit%203",
    );
    assert.equal(fail.status.status, "Failure");
    assert.equal(fail.status.details?.causes?.[0].message, "3");

    const cat = await exec(
      ws,
      config.token,
      "/exec/default/box/web?command=cat&stdin=true",
      "piped input\n",
    );
    assert.equal(cat.stdout, "piped input\n");
    assert.equal(cat.status.status, "Success");

    const missing = await exec(ws, config.token, "/exec/default/nope/web?command=true");
    assert.equal(missing.status.status, "Failure");

    // port-forward: one TCP connection to the pod's port 8080 (not published on the node).
    const tunnel = await openSocket(`${ws}/portForward/default/box?port=8080`, config.token);
    const chunks: string[] = [];
    const done = new Promise<void>((resolve) => tunnel.onclose = () => resolve());
    tunnel.onmessage = (e) => chunks.push(new TextDecoder().decode(e.data as ArrayBuffer));
    tunnel.send(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    await done;
    const response = chunks.join("");
    assert.match(response, /^HTTP\/1\.[01] 200/);
    assert(response.endsWith(INDEX_HTML), response);

    const res = await fetch(`${base}/stats`, {
      headers: { Authorization: `Bearer ${config.token}` },
    });
    const stats = await res.json();
    assert.equal(stats.node.name, config.nodeName);
    assert(stats.node.memoryBytes > 0);
    const box = stats.pods.find((p: { name: string }) => p.name === "box");
    assert.equal(box.containers[0].name, "web");
    assert(box.containers[0].memoryBytes > 0);
    assert(box.containers[0].cpuNanoCores >= 0);
  } finally {
    await stop();
  }
});
