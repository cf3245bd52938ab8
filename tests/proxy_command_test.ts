/**
 * `skiff proxy` on its own, as a real subprocess: with a server URL, a token and the CA file it
 * forwards a Service's NodePort to the backends of hand-written Endpoints (a selector-less
 * Service, as for a backend outside the cluster). A bad flag is refused in one line before any
 * credentials are looked for.
 */
import assert from "node:assert/strict";
import { api, startTestServer, waitFor } from "./test_utils.ts";

Deno.test("skiff proxy alone forwards a NodePort to a selector-less Service's Endpoints", async () => {
  const server = await startTestServer({ controllers: true });
  const backend = Deno.serve(
    { hostname: "127.0.0.11", port: 0, onListen: () => {} },
    () => new Response("outside backend"),
  );
  const caFile = `${server.dataDir}/tls/ca.crt`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "proxy",
      "--server",
      server.url,
      "--token",
      server.token,
      "--ca-file",
      caFile,
      "--node-address",
      "127.0.0.13",
      "--service-cidr",
      "127.43.0.0/16",
      "--log-level",
      "error",
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const svc = await api(server, "POST", "/api/v1/namespaces/default/services", {
      body: {
        metadata: { name: "outside" },
        spec: { type: "NodePort", ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      },
    });
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    const ep = await api(server, "POST", "/api/v1/namespaces/default/endpoints", {
      body: {
        metadata: { name: "outside" },
        subsets: [{
          addresses: [{ ip: "127.0.0.11" }],
          ports: [{ name: "http", port: backend.addr.port }],
        }],
      },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const nodePort = svc.body.spec.ports[0].nodePort;
    const text = await waitFor("the NodePort answers", async () => {
      try {
        const r = await fetch(`http://127.0.0.13:${nodePort}/`);
        return await r.text();
      } catch {
        return undefined;
      }
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(text, "outside backend");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await backend.shutdown();
    await server.stop();
  }
});

Deno.test({
  name: "skiff proxy --cleanup deletes the nftables mode's table (uninstall)",
  ignore: Deno.uid() !== 0,
  async fn() {
    // In a network namespace of the test's own: the host's ruleset is never touched.
    const ns = `skcl-${crypto.randomUUID().slice(0, 6)}`;
    const table = "skiff-cleanup";
    const inNs = (args: string[]) =>
      new Deno.Command("ip", {
        args: ["netns", "exec", ns, ...args],
        stdout: "null",
        stderr: "null",
      })
        .output();
    assert.equal((await new Deno.Command("ip", { args: ["netns", "add", ns] }).output()).code, 0);
    try {
      assert.equal((await inNs(["nft", "add", "table", "inet", table])).code, 0);
      const run = await inNs([
        Deno.execPath(),
        "run",
        "-A",
        new URL("../main.ts", import.meta.url).pathname,
        "proxy",
        "--cleanup",
        "--proxy-nft-table",
        table,
      ]);
      assert.equal(run.code, 0);
      assert.notEqual((await inNs(["nft", "list", "table", "inet", table])).code, 0, "table gone");
    } finally {
      await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
    }
  },
});

Deno.test("skiff proxy refuses a bad flag in one line, exit status 2, before reading credentials", async () => {
  // A data dir without credentials: were the flags checked after loading them, the answer would
  // be "no node credentials" (status 1) instead.
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-proxy-flags-" });
  try {
    const cases: [string[], string][] = [
      [
        ["--proxy-mode", "bogus"],
        'skiff proxy: invalid value "bogus" for --proxy-mode: must be auto, nftables or userspace',
      ],
      [
        ["--ingress-http-port", "70000"],
        'skiff proxy: invalid value "70000" for --ingress-http-port: must be at most 65535',
      ],
      [
        ["--proxy-nft-table", "9bad"],
        'skiff proxy: invalid value "9bad" for --proxy-nft-table: must be an nft table name',
      ],
    ];
    for (const [flags, line] of cases) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../main.ts", import.meta.url).pathname,
          "proxy",
          "--data-dir",
          dataDir,
          ...flags,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(stderr.trim(), line);
      assert.equal(r.code, 2, stderr);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
