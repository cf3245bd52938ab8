/**
 * `skiff agent --uninstall --purge` (cmd/purge.ts) removes the nftables proxy mode's table and
 * the node's host-gw chains, checked for real inside a network namespace this test creates (so
 * the host's own ruleset is never touched): the namespace is given the rules an agent leaves
 * behind, the purge runs with that namespace's command runner, and afterwards `nft` and
 * `iptables` there show nothing of Skiff's.
 */
import assert from "node:assert/strict";
import { purgeNode } from "../cmd/purge.ts";
import { hostRunner, netnsRunner } from "../shared/command_runner.ts";
import { HostGateway } from "../agent/host_gw.ts";
import { NftablesProxy } from "../proxy/nft_proxy.ts";

async function sh(args: string[]): Promise<string> {
  const r = await hostRunner(args[0], args.slice(1));
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

Deno.test("purgeNode removes the nftables proxy table and the host-gw chains a node left", async () => {
  const suffix = crypto.randomUUID().slice(0, 6);
  const ns = `skpurge-${suffix}`;
  const nodeName = `purge-${suffix}`;
  const run = netnsRunner(ns);
  const data = await Deno.makeTempDir();
  try {
    await sh(["ip", "netns", "add", ns]);
    // What a node running in nftables mode leaves: its table with a chain in it ...
    await sh(["ip", "netns", "exec", ns, "nft", "add", "table", "inet", "skiff"]);
    await sh(["ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "skiff", "services"]);
    // ... and its host-gw chains, jumped to from FORWARD and POSTROUTING.
    const gw = new HostGateway({ nodeName, run });
    await gw.setup({ podCIDR: "10.42.1.0/24", clusterCidr: "10.42.0.0/16" });
    const table = new NftablesProxy("skiff", { run });
    assert(await table.exists(), "the test's nft table was made");
    const before = (await run("iptables", ["-w", "5", "-S", "FORWARD"])).stdout;
    assert(before.includes(gw.forwardChain), `FORWARD jumps to ${gw.forwardChain}: ${before}`);
    await Deno.writeTextFile(`${data}/credentials.json`, "{}");

    await purgeNode({ nodeName, dataDir: data, dockerSocket: "/nonexistent/docker.sock", run });

    assert.equal(await table.exists(), false, "the nft table is gone");
    const forward = (await run("iptables", ["-w", "5", "-S"])).stdout;
    const nat = (await run("iptables", ["-w", "5", "-t", "nat", "-S"])).stdout;
    assert(!forward.includes(gw.forwardChain), `no ${gw.forwardChain} left: ${forward}`);
    assert(!nat.includes(gw.natChain), `no ${gw.natChain} left: ${nat}`);
    let dataLeft = true;
    await Deno.stat(data).catch(() => dataLeft = false);
    assert.equal(dataLeft, false, "the data dir is gone");
  } finally {
    await hostRunner("ip", ["netns", "del", ns]);
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
});

Deno.test("purgeNode with no nft table and no Docker is not an error", async () => {
  const suffix = crypto.randomUUID().slice(0, 6);
  const ns = `skpurge0-${suffix}`;
  const data = await Deno.makeTempDir();
  try {
    await sh(["ip", "netns", "add", ns]);
    await purgeNode({
      nodeName: `purge0-${suffix}`,
      dataDir: data,
      dockerSocket: "/nonexistent/docker.sock",
      run: netnsRunner(ns),
    });
    let dataLeft = true;
    await Deno.stat(data).catch(() => dataLeft = false);
    assert.equal(dataLeft, false);
  } finally {
    await hostRunner("ip", ["netns", "del", ns]);
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
});
