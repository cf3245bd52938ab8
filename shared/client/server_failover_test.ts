import assert from "node:assert/strict";
import { ServerFailover, serverUrlsOfEndpoints } from "./server_failover.ts";

Deno.test("ServerFailover moves to a discovered server when the current one refuses, and stays", async () => {
  const calls: string[] = [];
  const down = new Set(["https://10.0.0.1:6443"]);
  const failover = new ServerFailover({
    server: "https://10.0.0.1:6443",
    discover: () => ["https://10.0.0.2:6443", "https://10.0.0.3:6443"],
    fetch: (input) => {
      const url = String(input);
      calls.push(url);
      if ([...down].some((d) => url.startsWith(d))) {
        return Promise.reject(new TypeError("connection refused"));
      }
      return Promise.resolve(new Response("ok"));
    },
  });
  const r = await failover.fetch("https://10.0.0.1:6443/api/v1/nodes?watch=1");
  assert.equal(await r.text(), "ok");
  assert.deepEqual(calls, [
    "https://10.0.0.1:6443/api/v1/nodes?watch=1",
    "https://10.0.0.2:6443/api/v1/nodes?watch=1",
  ]);
  assert.equal(failover.current, "https://10.0.0.2:6443");
  calls.length = 0;
  await (await failover.fetch("https://10.0.0.1:6443/api")).body?.cancel();
  assert.deepEqual(calls, ["https://10.0.0.2:6443/api"], "sticks to the server that answered");
});

Deno.test("ServerFailover gives up on a server that sends no headers in time", async () => {
  const failover = new ServerFailover({
    server: "https://10.0.0.1:6443",
    discover: () => ["https://10.0.0.2:6443"],
    headersTimeoutMs: 50,
    fetch: (input, init) =>
      String(input).startsWith("https://10.0.0.1")
        ? new Promise((_, reject) =>
          init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason))
        )
        : Promise.resolve(new Response("b")),
  });
  assert.equal(await (await failover.fetch("https://x/api")).text(), "b");
});

Deno.test("serverUrlsOfEndpoints() reads every address with the https port", () => {
  assert.deepEqual(
    serverUrlsOfEndpoints({
      subsets: [{
        addresses: [{ ip: "192.168.1.10" }, { ip: "192.168.1.11" }],
        ports: [{ name: "https", port: 6443 }],
      }],
    }),
    ["https://192.168.1.10:6443", "https://192.168.1.11:6443"],
  );
});
