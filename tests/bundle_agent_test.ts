/**
 * `deno task bundle` end to end: scripts/bundle.sh builds one JavaScript file, and an agent
 * started from it with a plain `deno run` (outside the repository, so no deno.json or import map
 * helps) joins a real server by its join token over TLS and registers a Ready node.
 */
import assert from "node:assert/strict";
import { ensureTestImages } from "./images.ts";
import { removeNodeContainers } from "./cluster.ts";
import { api, startTestServer, waitFor } from "./test_utils.ts";

const BUNDLE_SH = new URL("../scripts/bundle.sh", import.meta.url).pathname;

Deno.test("an agent started from the bundled skiff.js joins a server over TLS", async () => {
  const images = await ensureTestImages();
  const work = await Deno.makeTempDir({ prefix: "skiff-bundle-" });
  const server = await startTestServer({ controllers: false });
  const nodeName = `bundle-${crypto.randomUUID().slice(0, 6)}`;
  let agent: Deno.ChildProcess | undefined;
  try {
    const built = await new Deno.Command("bash", {
      args: [BUNDLE_SH, `${work}/skiff.js`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));

    const help = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${work}/skiff.js`, "--help"],
      cwd: work,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));

    agent = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-net",
        `${work}/skiff.js`,
        "agent",
        "--server",
        server.url,
        "--token",
        server.joinToken,
        "--node-name",
        nodeName,
        "--node-address",
        "127.0.0.13",
        "--api-port",
        "0",
        "--data-dir",
        `${work}/agent`,
        "--pause-image",
        images.pause,
        // Not a proxy test: no nftables table of the host's to share with other tests.
        "--proxy-mode",
        "userspace",
        "--log-level",
        "error",
      ],
      cwd: work,
      stdin: "null",
      stdout: "null",
      stderr: Deno.env.get("SKIFF_TEST_LOG") ? "inherit" : "null",
    }).spawn();
    await waitFor("the bundled agent's node Ready", async () => {
      const r = await api(server, "GET", `/api/v1/nodes/${nodeName}`);
      return r.status === 200 &&
        r.body.status?.conditions?.some((c: { type: string; status: string }) =>
          c.type === "Ready" && c.status === "True"
        );
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const creds = JSON.parse(await Deno.readTextFile(`${work}/agent/credentials.json`));
    assert.deepEqual(creds.nodeName, nodeName);
    assert.ok(creds.caPem === server.caPem, "the agent trusts the cluster CA");
  } finally {
    if (agent) {
      try {
        agent.kill("SIGTERM");
      } catch {
        // exited
      }
      await agent.status;
    }
    await removeNodeContainers([nodeName]);
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
