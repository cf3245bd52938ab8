/**
 * The agent loads its NetworkPolicy controller only when it is needed: not in a cluster without
 * policies, once the first policy appears, and at start when the node's policy chain is still in
 * the kernel from an earlier run (so rules whose policies are gone get cleared).
 */
import assert from "node:assert/strict";
import { hasPolicyRules, runNetworkPolicies } from "../agent/network_policy_watch.ts";
import { policyChains } from "../agent/network_policy_firewall.ts";
import type { CommandRunner } from "../shared/command_runner.ts";
import { NETWORK_POLICIES } from "../shared/client/refs.ts";
import { Logger } from "../shared/log.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

/** A runner answering `iptables -S <chain>` as if `present` chains exist; records the calls. */
function fakeIptables(present: string[]): { run: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: (cmd, args) => {
      calls.push([cmd, ...args]);
      const found = cmd === "iptables" && args[0] === "-S" && present.includes(args[1]);
      return Promise.resolve({ code: found ? 0 : 1, stdout: "", stderr: "" });
    },
  };
}

Deno.test("the NetworkPolicy controller is loaded only once a policy exists or old rules remain", async () => {
  const node = "np-watch-node";
  const chain = policyChains(node).forward;
  assert.equal(await hasPolicyRules(node, fakeIptables([chain]).run), true);
  assert.equal(await hasPolicyRules(node, fakeIptables([]).run), false);

  const s = await startTestServer({ controllers: false });
  try {
    let lines: string[] = [];
    const logger = new Logger({ level: "info", sink: (line) => void lines.push(line) });
    const started = () =>
      waitFor(
        "the controller loaded",
        () => lines.some((l) => l.includes("starting their controller")),
      );
    const options = (run: CommandRunner) => ({
      client: s.client,
      logger,
      nodeName: node,
      // No pod network yet: a loaded controller reconciles nothing, so no rule is written.
      podCIDR: () => undefined,
      networkReady: () => new Promise<unknown>(() => {}),
      run,
    });
    const runFor = async (run: CommandRunner, during: () => Promise<unknown>) => {
      lines = [];
      const stop = new AbortController();
      const result = runNetworkPolicies(options(run), stop.signal);
      await during();
      stop.abort();
      return await result;
    };
    // Without a policy nothing loads it however long the node runs (here: a second).
    const aWhile = () => new Promise((r) => setTimeout(r, 1000));
    assert.equal(await runFor(fakeIptables([]).run, aWhile), false, "no policy, no old rules");
    assert.equal(
      await runFor(fakeIptables([chain]).run, started),
      true,
      "old rules of an earlier run",
    );
    const loaded = await runFor(fakeIptables([]).run, async () => {
      await s.client.create(NETWORK_POLICIES, {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "deny", namespace: "default" },
        spec: { podSelector: {} },
      });
      await started();
    });
    assert.equal(loaded, true, "a policy appeared");
  } finally {
    await s.stop();
  }
});
