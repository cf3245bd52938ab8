/**
 * The agent's NetworkPolicy controller: informers over NetworkPolicies and — while at least one
 * policy exists — every pod (trimmed to its labels, IP, node and named ports: peers may run on any
 * node) and Namespaces (their labels) feed one work-queue key; its reconcile recomputes,
 * level-triggered, the firewall of every local pod a policy isolates (network_policy_rules.ts) and
 * writes it to the kernel (network_policy_firewall.ts). Nothing is written before the node has its
 * pod network.
 */
import type { Namespace, Pod } from "../shared/api/core_v1.ts";
import type { KubeObject } from "../shared/api/object.ts";
import type { NetworkPolicy } from "../shared/api/network_policy.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { NAMESPACES, PODS } from "../shared/client/refs.ts";
import { runController } from "../shared/controller.ts";
import { Informer } from "../shared/informer.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import type { CommandRunner } from "../shared/command_runner.ts";
import { NetworkPolicyFirewall } from "./network_policy_firewall.ts";
import {
  desiredPodFirewalls,
  type PolicyNamespace,
  type PolicyPod,
} from "./network_policy_rules.ts";

/** Options of {@linkcode NetworkPolicies}. */
export interface NetworkPoliciesOptions {
  client: ApiClient;
  nodeName: string;
  /** This node's podCIDR once its pod network is in place (undefined before). */
  podCIDR: () => string | undefined;
  /** Resolves when the pod network is in place (the first write waits for it). */
  networkReady: (signal: AbortSignal) => Promise<unknown>;
  /** Runs `iptables`, `iptables-restore`, `sysctl` (tests: inside a namespace). */
  run?: CommandRunner;
  /** The node's proxy relays Service traffic (userspace mode): warn when pods get isolated. */
  proxyRelaysServices?: boolean;
  /**
   * Where pods' DNS queries go (the node-local DNS): egress rules that select the cluster's DNS
   * pods reach it (network_policy_rules.ts, `dnsPeerPods`).
   */
  clusterDns?: () => readonly string[];
  /** How often the rules are recomputed even without events (default 30 s). */
  resyncMs?: number;
  /** The informer over NetworkPolicies, run by its owner (network_policy_watch.ts). */
  policies: Informer<NetworkPolicy>;
  logger?: Logger;
}

const KEY = "policies";

/**
 * Keeps of a pod what policies read: namespace, name, labels, IP, node, named container ports
 * (the informer's transform, so a cluster's pods cost little memory on every node).
 */
export function trimPod(obj: KubeObject): KubeObject {
  const pod = obj as Pod;
  const ports = namedPorts(pod).map((p) => ({
    name: p.name,
    containerPort: p.port,
    protocol: p.protocol,
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      uid: pod.metadata.uid,
      resourceVersion: pod.metadata.resourceVersion,
      labels: pod.metadata.labels,
    },
    spec: {
      nodeName: pod.spec?.nodeName,
      hostNetwork: pod.spec?.hostNetwork,
      containers: ports.length ? [{ name: "", image: "", ports }] : [],
    },
    status: { phase: pod.status?.phase, podIP: pod.status?.podIP },
  } as KubeObject;
}

/** A pod's named container ports (what a policy's named port resolves to). */
function namedPorts(pod: Pod): PolicyPod["ports"] {
  return (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).filter((p) => p.name).map((p) => ({
      name: p.name!,
      port: p.containerPort,
      protocol: p.protocol ?? "TCP",
    }))
  );
}

/** A pod as policies see it; undefined when it has no pod-network address (yet, or any more). */
export function policyPod(pod: Pod): PolicyPod | undefined {
  const ip = pod.status?.podIP;
  const phase = pod.status?.phase;
  // Host-network pods are not subject to policies and are no pod peers (their IP is a node's);
  // finished pods hold no address any more.
  if (!ip || pod.spec?.hostNetwork || phase === "Succeeded" || phase === "Failed") return;
  if (ip.includes(":")) return;
  return {
    namespace: pod.metadata.namespace ?? "",
    name: pod.metadata.name ?? "",
    labels: pod.metadata.labels ?? {},
    ip,
    nodeName: pod.spec?.nodeName ?? "",
    ports: namedPorts(pod),
  };
}

/** The pod and namespace informers, run only while some NetworkPolicy exists. */
interface Peers {
  pods: Informer<Pod>;
  namespaces: Informer<Namespace>;
  stop: AbortController;
  done: Promise<unknown>;
}

/** Enforces the NetworkPolicies for this node's pods. */
export class NetworkPolicies {
  readonly firewall: NetworkPolicyFirewall;
  readonly policies: Informer<NetworkPolicy>;
  readonly #o: NetworkPoliciesOptions;
  readonly #log: Logger;
  #peers?: Peers;
  #enqueue: () => void = () => {};
  #warnedUserspace = false;

  constructor(options: NetworkPoliciesOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.firewall = new NetworkPolicyFirewall({
      nodeName: options.nodeName,
      run: options.run,
      logger: this.#log,
    });
    this.policies = options.policies;
  }

  /**
   * Starts the informers over every pod and Namespace. A cluster without policies does not pay
   * for them: a node keeps every pod of the cluster only while a policy may need it.
   */
  #startPeers(signal: AbortSignal): Peers {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const log = this.#log;
    const pods = new Informer<Pod>(this.#o.client, PODS, { logger: log, transform: trimPod });
    const namespaces = new Informer<Namespace>(this.#o.client, NAMESPACES, { logger: log });
    // Updates count only when they change what policies read: a pod's readiness or restarts
    // (most pod updates) rewrite nothing.
    pods.addEventHandler({
      onAdd: this.#enqueue,
      onDelete: this.#enqueue,
      onUpdate: (old, pod) => {
        if (JSON.stringify(policyPod(old)) !== JSON.stringify(policyPod(pod))) this.#enqueue();
      },
    });
    namespaces.addEventHandler({
      onAdd: this.#enqueue,
      onDelete: this.#enqueue,
      onUpdate: (old, ns) => {
        if (JSON.stringify(old.metadata.labels) !== JSON.stringify(ns.metadata.labels)) {
          this.#enqueue();
        }
      },
    });
    // Synced without a single object is still a change to act on.
    Promise.all([pods.waitForSync(stop.signal), namespaces.waitForSync(stop.signal)])
      .then(this.#enqueue);
    const done = Promise.all([pods.run(stop.signal), namespaces.run(stop.signal)])
      .finally(() => signal.removeEventListener("abort", onAbort));
    this.#log.info("watching pods and namespaces for network policies");
    return { pods, namespaces, stop, done };
  }

  /**
   * One pass: the rules of every local pod a policy isolates, written when they changed. With
   * policies, waits for the pods and namespaces to be known (never writes from a partial view);
   * without, clears the rules and stops watching pods and namespaces.
   */
  async reconcile(signal: AbortSignal = new AbortController().signal): Promise<void> {
    if (!this.#o.podCIDR()) return;
    const policies = this.policies.list();
    if (policies.length === 0) {
      await this.firewall.sync([]);
      const peers = this.#peers;
      if (peers) {
        this.#peers = undefined;
        peers.stop.abort();
        await peers.done;
      }
      return;
    }
    this.#peers ??= this.#startPeers(signal);
    const { pods: podInformer, namespaces: nsInformer } = this.#peers;
    if (!podInformer.hasSynced() || !nsInformer.hasSynced()) return;
    const pods = podInformer.list().flatMap((p) => policyPod(p) ?? []);
    const namespaces: PolicyNamespace[] = nsInformer.list().map((n) => ({
      name: n.metadata.name ?? "",
      labels: n.metadata.labels ?? {},
    }));
    const firewalls = desiredPodFirewalls({
      policies,
      pods,
      namespaces,
      nodeName: this.#o.nodeName,
      dnsAddresses: this.#o.clusterDns?.() ?? [],
    });
    if (firewalls.length > 0 && this.#o.proxyRelaysServices && !this.#warnedUserspace) {
      this.#warnedUserspace = true;
      this.#log.warn(
        "pods on this node are isolated by NetworkPolicies, but the userspace proxy mode relays " +
          "Service traffic from the node itself: policies govern pod-IP traffic only; use the " +
          "nftables proxy mode to have them govern Service traffic too",
        { isolatedPods: firewalls.length },
      );
    }
    await this.firewall.sync(firewalls);
  }

  /** Runs the informers and the controller until `signal` aborts (the rules stay). */
  async run(signal: AbortSignal): Promise<void> {
    const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
    this.#enqueue = () => queue.add(KEY);
    const enqueue = this.#enqueue;
    this.policies.addEventHandler({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue });
    const resync = setInterval(enqueue, this.#o.resyncMs ?? 30_000);
    this.#o.networkReady(signal).then(enqueue);
    try {
      await Promise.all([
        runController({
          name: "network-policies",
          queue,
          reconcile: () => this.reconcile(signal),
          informers: [this.policies],
          logger: this.#log,
        }, signal),
      ]);
    } finally {
      clearInterval(resync);
      queue.shutDown();
      await this.#peers?.done;
    }
  }
}
