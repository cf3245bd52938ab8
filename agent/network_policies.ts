/**
 * The agent's NetworkPolicy controller: informers over NetworkPolicies, every pod (trimmed to its
 * labels, IP, node and named ports — peers may run on any node) and Namespaces (their labels)
 * feed one work-queue key; its reconcile recomputes, level-triggered, the firewall of every local
 * pod a policy isolates (network_policy_rules.ts) and writes it to the kernel
 * (network_policy_firewall.ts). Nothing is written before the node has its pod network.
 */
import type { Namespace, Pod } from "../shared/api/core_v1.ts";
import type { KubeObject } from "../shared/api/object.ts";
import type { NetworkPolicy } from "../shared/api/network_policy.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { NAMESPACES, NETWORK_POLICIES, PODS } from "../shared/client/refs.ts";
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
  /** How often the rules are recomputed even without events (default 30 s). */
  resyncMs?: number;
  logger?: Logger;
}

const KEY = "policies";

/**
 * Keeps of a pod what policies read: namespace, name, labels, IP, node, named container ports
 * (the informer's transform, so a cluster's pods cost little memory on every node).
 */
export function trimPod(obj: KubeObject): KubeObject {
  const pod = obj as Pod;
  const ports = (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).filter((p) => p.name).map((p) => ({
      name: p.name,
      containerPort: p.containerPort,
      protocol: p.protocol ?? "TCP",
    }))
  );
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
    ports: (pod.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).filter((p) => p.name).map((p) => ({
        name: p.name!,
        port: p.containerPort,
        protocol: p.protocol ?? "TCP",
      }))
    ),
  };
}

/** Enforces the NetworkPolicies for this node's pods. */
export class NetworkPolicies {
  readonly firewall: NetworkPolicyFirewall;
  readonly policies: Informer<NetworkPolicy>;
  readonly pods: Informer<Pod>;
  readonly namespaces: Informer<Namespace>;
  readonly #o: NetworkPoliciesOptions;
  readonly #log: Logger;

  constructor(options: NetworkPoliciesOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.firewall = new NetworkPolicyFirewall({
      nodeName: options.nodeName,
      run: options.run,
      logger: this.#log,
    });
    const log = this.#log;
    this.policies = new Informer<NetworkPolicy>(options.client, NETWORK_POLICIES, { logger: log });
    this.pods = new Informer<Pod>(options.client, PODS, { logger: log, transform: trimPod });
    this.namespaces = new Informer<Namespace>(options.client, NAMESPACES, { logger: log });
  }

  /** One pass: the rules of every local pod a policy isolates, written when they changed. */
  async reconcile(): Promise<void> {
    if (!this.#o.podCIDR()) return;
    const pods = this.pods.list().flatMap((p) => policyPod(p) ?? []);
    const namespaces: PolicyNamespace[] = this.namespaces.list().map((n) => ({
      name: n.metadata.name ?? "",
      labels: n.metadata.labels ?? {},
    }));
    const firewalls = desiredPodFirewalls({
      policies: this.policies.list(),
      pods,
      namespaces,
      nodeName: this.#o.nodeName,
    });
    await this.firewall.sync(firewalls);
  }

  /** Runs the informers and the controller until `signal` aborts (the rules stay). */
  async run(signal: AbortSignal): Promise<void> {
    const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
    const enqueue = () => queue.add(KEY);
    const handlers = { onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue };
    this.policies.addEventHandler(handlers);
    this.pods.addEventHandler(handlers);
    this.namespaces.addEventHandler(handlers);
    const resync = setInterval(enqueue, this.#o.resyncMs ?? 30_000);
    this.#o.networkReady(signal).then(enqueue);
    try {
      await Promise.all([
        this.policies.run(signal),
        this.pods.run(signal),
        this.namespaces.run(signal),
        runController({
          name: "network-policies",
          queue,
          reconcile: () => this.reconcile(),
          informers: [this.policies, this.pods, this.namespaces],
          logger: this.#log,
        }, signal),
      ]);
    } finally {
      clearInterval(resync);
      queue.shutDown();
    }
  }
}
