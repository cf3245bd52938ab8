/**
 * The agent API (logs, exec, port-forward, stats) of a joined node accepts only the server's
 * agent-client token, which the node knows by its SHA-256 alone: not the node's own token, not
 * the join token, not nothing.
 */
import assert from "node:assert/strict";
import { joinCluster } from "../agent/credentials.ts";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import { agentApp } from "../agent/http_api.ts";
import { startTestServer } from "./test_utils.ts";

Deno.test("a joined node's agent API accepts only the server's agent-client token", async () => {
  const server = await startTestServer({ controllers: false });
  const dir = await Deno.makeTempDir({ prefix: "skiff-agent-api-" });
  try {
    const creds = await joinCluster({
      server: server.url,
      joinToken: server.joinToken,
      nodeName: "api-node",
      dataDir: dir,
    });
    const app = agentApp({
      rt: new DockerRuntime({ nodeName: "api-node" }),
      tokenSha256: creds.agentClientTokenSha256,
      nodeName: "api-node",
      nodeAddress: "127.0.0.1",
    });
    const agentClientToken = (await Deno.readTextFile(`${server.dataDir}/agent-client-token`))
      .trim();
    const call = async (token?: string) => {
      const res = await app.request("/stats", {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await call(), 401);
    assert.equal(await call(creds.token), 401);
    assert.equal(await call(server.joinToken), 401);
    assert.equal(await call(server.token), 401);
    assert.equal(await call(agentClientToken), 200);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
