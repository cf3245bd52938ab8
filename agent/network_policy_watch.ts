/**
 * The cheap half of NetworkPolicy enforcement, always running in the agent: an informer over
 * NetworkPolicies. The controller (network_policies.ts and the rule and firewall modules, ~1 MiB
 * of the node's memory once loaded, bench/results/agent.md) is imported only when the first
 * policy appears — or at start when this node's policy chain is still in the kernel from an
 * earlier life, so that rules whose policies are gone get cleared. A node in a cluster without
 * NetworkPolicies never loads it.
 */
import type { NetworkPolicy } from "../shared/api/network_policy.ts";
import { type CommandRunner, hostRunner } from "../shared/command_runner.ts";
import { NETWORK_POLICIES } from "../shared/client/refs.ts";
import { Informer } from "../shared/informer.ts";
import { silentLogger } from "../shared/log.ts";
import { chainId } from "./host_gw.ts";
import type { NetworkPoliciesOptions } from "./network_policies.ts";

/** The name of a node's forward-hook policy chain (network_policy_firewall.ts's `forward`). */
export function policyForwardChain(nodeName: string): string {
  return `SKIFF-NP-${chainId(nodeName).toUpperCase()}`;
}

/** True when this node's policy chain is in the kernel (rules written by an earlier run). */
export async function hasPolicyRules(nodeName: string, run: CommandRunner): Promise<boolean> {
  const r = await run("iptables", ["-S", policyForwardChain(nodeName)]);
  return r.code === 0;
}

/**
 * Runs until `signal` aborts: the NetworkPolicy informer, and the controller once it is needed.
 * Resolves with whether the controller was loaded.
 */
export async function runNetworkPolicies(
  options: Omit<NetworkPoliciesOptions, "policies">,
  signal: AbortSignal,
): Promise<boolean> {
  const log = options.logger ?? silentLogger;
  const policies = new Informer<NetworkPolicy>(options.client, NETWORK_POLICIES, { logger: log });
  let controller: Promise<void> | undefined;
  const start = () => {
    controller ??= import("./network_policies.ts").then(({ NetworkPolicies }) => {
      log.info("network policies in use: starting their controller");
      return new NetworkPolicies({ ...options, policies }).run(signal);
    });
  };
  const onAdd = () => start();
  policies.addEventHandler({ onAdd });
  const leftover = hasPolicyRules(options.nodeName, options.run ?? hostRunner)
    .then((found) => found && start(), () => {});
  await Promise.all([policies.run(signal), leftover]);
  await controller;
  return controller !== undefined;
}
