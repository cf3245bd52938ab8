/**
 * This node's NetworkPolicy firewall in the kernel, with `iptables` (the tool and backend Docker
 * and agent/host_gw.ts use), written whole with one `iptables-restore --noflush` per change:
 *
 * - `SKIFF-NP-<id>`, jumped from `DOCKER-USER` (or `FORWARD`) ahead of every `SKIFF-FWD-*` jump,
 *   so no node's accept can bypass it: replies of allowed connections (conntrack ESTABLISHED,
 *   RELATED) return at once; a packet from an egress-isolated local pod goes through that pod's
 *   `SKIFF-NPE-<id>-<h>` chain, one to an ingress-isolated local pod through its
 *   `SKIFF-NPI-<id>-<h>` chain. A pod chain returns for each allowed flow and rejects the rest
 *   (ICMP port unreachable: the client fails at once instead of timing out).
 * - `SKIFF-NPIN-<id>`, jumped first from `INPUT`: DNS (port 53, UDP and TCP) from an
 *   egress-isolated local pod to the node, where the node-local DNS stands in for the cluster's
 *   DNS pods, goes through the pod's egress chain too; other traffic between a pod and its own
 *   node stays allowed, as Kubernetes allows it (kubelet probes).
 *
 * Bridged traffic between two pods of this node only reaches iptables with
 * `net.bridge.bridge-nf-call-iptables=1` (module br_netfilter), which {@linkcode
 * NetworkPolicyFirewall.sync} ensures once a pod is isolated. Like the host-gw chains, the rules
 * stay when the agent stops (its pods stay isolated) and are rewritten at the next start;
 * {@linkcode NetworkPolicyFirewall.teardown} removes them (`--uninstall --purge`).
 */
import {
  type CommandResult,
  type CommandRunner,
  hostRunner,
  mustRun,
} from "../shared/command_runner.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { chainId } from "./host_gw.ts";
import { policyForwardChain } from "./network_policy_watch.ts";
import type { Allow, PodFirewall } from "./network_policy_rules.ts";

/** Options of {@linkcode NetworkPolicyFirewall}. */
export interface NetworkPolicyFirewallOptions {
  nodeName: string;
  /** Runs `iptables`, `iptables-restore`, `sysctl`, `modprobe` (tests: inside a namespace). */
  run?: CommandRunner;
  logger?: Logger;
}

/** The chain names of one node. */
export interface PolicyChains {
  forward: string;
  input: string;
  /** Prefix of the per-pod ingress chains. */
  podIngress: string;
  /** Prefix of the per-pod egress chains. */
  podEgress: string;
}

/** The chain names of `nodeName` (≤ 28 characters, iptables' limit). */
export function policyChains(nodeName: string): PolicyChains {
  const id = chainId(nodeName).toUpperCase();
  return {
    forward: policyForwardChain(nodeName),
    input: `SKIFF-NPIN-${id}`,
    podIngress: `SKIFF-NPI-${id}-`,
    podEgress: `SKIFF-NPE-${id}-`,
  };
}

const DNS_PORT = "53";

function allowRule(chain: string, dir: "ingress" | "egress", a: Allow): string {
  const parts = ["-A", chain];
  if (a.cidr) parts.push(dir === "ingress" ? "-s" : "-d", a.cidr);
  if (a.protocol) {
    const p = a.protocol.toLowerCase();
    parts.push("-p", p);
    if (a.ports) parts.push("-m", p, "--dport", a.ports);
  }
  parts.push("-j", "RETURN");
  return parts.join(" ");
}

/**
 * The `iptables-restore --noflush` text for the filter table that makes this node's policy
 * chains exactly `pods` (every chain named is created if missing and flushed). `stale` are pod
 * chains of ours to empty so that they can be deleted.
 */
export function renderPolicyRules(
  chains: PolicyChains,
  pods: readonly PodFirewall[],
  stale: readonly string[] = [],
): string {
  const declare: string[] = [chains.forward, chains.input];
  const rules: string[] = [];
  const established = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN";
  rules.push(`-A ${chains.forward} ${established}`);
  rules.push(`-A ${chains.input} ${established}`);
  const podRules: string[] = [];
  for (const pod of pods) {
    const h = chainId(pod.key).toUpperCase();
    for (const dir of ["egress", "ingress"] as const) {
      const allows = pod[dir];
      if (!allows) continue;
      const chain = `${dir === "ingress" ? chains.podIngress : chains.podEgress}${h}`;
      declare.push(chain);
      const match = dir === "ingress" ? "-d" : "-s";
      rules.push(`-A ${chains.forward} ${match} ${pod.ip}/32 -j ${chain}`);
      if (dir === "egress") {
        for (const p of ["udp", "tcp"]) {
          rules.push(
            `-A ${chains.input} -s ${pod.ip}/32 -p ${p} -m ${p} --dport ${DNS_PORT} -j ${chain}`,
          );
        }
      }
      for (const a of allows) podRules.push(allowRule(chain, dir, a));
      podRules.push(`-A ${chain} -j REJECT`);
    }
  }
  const wanted = new Set(declare);
  for (const s of stale) if (!wanted.has(s)) declare.push(s);
  return [
    "*filter",
    ...declare.map((c) => `:${c} - [0:0]`),
    ...rules,
    ...podRules,
    "COMMIT",
    "",
  ].join("\n");
}

/** The chains a rendered text declares. */
function declaredChains(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) out.add(line.slice(1).split(" ")[0]);
  }
  return out;
}

/** Programs one node's policy chains. */
export class NetworkPolicyFirewall {
  readonly chains: PolicyChains;
  readonly #run: CommandRunner;
  readonly #log: Logger;
  /** The text last applied (unchanged rules are not rewritten). */
  #applied?: string;
  /** A stale chain whose delete failed remains: the next pass looks for stale chains again. */
  #staleLeft = false;
  #bridgeChecked = false;

  constructor(options: NetworkPolicyFirewallOptions) {
    this.chains = policyChains(options.nodeName);
    this.#run = options.run ?? hostRunner;
    this.#log = options.logger ?? silentLogger;
  }

  #iptables(args: string[]): Promise<CommandResult> {
    return this.#run("iptables", ["-w", "5", "-t", "filter", ...args]);
  }

  #must(command: string, args: string[], stdin?: string): Promise<string> {
    return mustRun(this.#run, command, args, stdin);
  }

  /** Our per-pod chains that exist in the kernel now. */
  async #podChains(): Promise<string[]> {
    const out = await this.#must("iptables", ["-w", "5", "-t", "filter", "-S"]);
    const found: string[] = [];
    for (const line of out.split("\n")) {
      const m = /^-N (\S+)$/.exec(line.trim());
      if (!m) continue;
      if (m[1].startsWith(this.chains.podIngress) || m[1].startsWith(this.chains.podEgress)) {
        found.push(m[1]);
      }
    }
    return found;
  }

  /**
   * Bridged IPv4 frames (pod to pod on this node) must pass iptables, or same-node traffic
   * would skip every policy: loads br_netfilter if its sysctl is missing and turns it on.
   */
  async #ensureBridgeNetfilter(): Promise<void> {
    const key = "net.bridge.bridge-nf-call-iptables";
    let r = await this.#run("sysctl", ["-n", key]);
    if (r.code !== 0) {
      await this.#run("modprobe", ["br_netfilter"]);
      r = await this.#run("sysctl", ["-n", key]);
    }
    if (r.stdout.trim() !== "1") {
      await this.#must("sysctl", ["-q", "-w", `${key}=1`]);
      this.#log.info("bridged traffic now passes iptables", { sysctl: `${key}=1` });
    }
  }

  /**
   * Puts `-j chain` in `parent` ahead of every `SKIFF-FWD-*` jump (moving it if it sits after
   * one: an agent that set up its forward chain later inserted its jump first).
   */
  async #jumpFirst(parent: string, chain: string): Promise<void> {
    const out = await this.#must("iptables", ["-w", "5", "-t", "filter", "-S", parent]);
    const jumps = out.split("\n").filter((l) => l.startsWith(`-A ${parent} `));
    const ours = jumps.findIndex((l) => l.trim() === `-A ${parent} -j ${chain}`);
    const firstForward = jumps.findIndex((l) => / -j SKIFF-FWD-/.test(l));
    if (ours >= 0 && (firstForward < 0 || ours < firstForward)) return;
    if (ours >= 0) await this.#iptables(["-D", parent, "-j", chain]);
    await this.#must("iptables", ["-w", "5", "-t", "filter", "-I", parent, "1", "-j", chain]);
  }

  /** The chain Docker leaves for its users, else FORWARD (as host_gw.ts chooses). */
  async #forwardParent(): Promise<string> {
    return (await this.#iptables(["-n", "-L", "DOCKER-USER"])).code === 0
      ? "DOCKER-USER"
      : "FORWARD";
  }

  /**
   * Makes the kernel's policy chains match `pods` (the local pods some policy isolates), and
   * their jumps first in place. Idempotent; cheap when nothing changed.
   */
  async sync(pods: readonly PodFirewall[]): Promise<void> {
    // Only once a pod is isolated: the setting is the host's, not this node's alone.
    if (!this.#bridgeChecked && pods.length > 0) {
      await this.#ensureBridgeNetfilter();
      this.#bridgeChecked = true;
    }
    const desired = renderPolicyRules(this.chains, pods);
    // Chains go stale only when the rules change (or an earlier process left them, before the
    // first apply): an unchanged pass skips listing the whole filter table.
    const changed = desired !== this.#applied;
    const wanted = declaredChains(desired);
    const stale = changed || this.#staleLeft
      ? (await this.#podChains()).filter((c) => !wanted.has(c))
      : [];
    if (changed || stale.length > 0) {
      // Stale pod chains are emptied in the same transaction (nothing jumps to them any more),
      // then deleted.
      await this.#must(
        "iptables-restore",
        ["-w", "5", "--noflush"],
        renderPolicyRules(
          this.chains,
          pods,
          stale,
        ),
      );
      this.#staleLeft = false;
      for (const c of stale) {
        if ((await this.#iptables(["-X", c])).code !== 0) this.#staleLeft = true;
      }
      this.#applied = desired;
      this.#log.info("network policy rules in place", { isolatedPods: pods.length });
    }
    await this.#jumpFirst(await this.#forwardParent(), this.chains.forward);
    await this.#jumpFirst("INPUT", this.chains.input);
  }

  /** Removes the jumps and every chain of ours. Never throws. */
  async teardown(): Promise<void> {
    for (
      const [parent, chain] of [
        ["DOCKER-USER", this.chains.forward],
        ["FORWARD", this.chains.forward],
        ["INPUT", this.chains.input],
      ]
    ) {
      for (let i = 0; i < 16; i++) {
        if ((await this.#iptables(["-D", parent, "-j", chain])).code !== 0) break;
      }
    }
    const pods = await this.#podChains().catch(() => [] as string[]);
    for (const c of [this.chains.forward, this.chains.input, ...pods]) {
      await this.#iptables(["-F", c]);
    }
    for (const c of [this.chains.forward, this.chains.input, ...pods]) {
      await this.#iptables(["-X", c]);
    }
    this.#applied = undefined;
  }
}
