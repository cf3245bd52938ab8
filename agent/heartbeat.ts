/**
 * The node's presence in the cluster: registers the Node (or adopts an existing one), renews its
 * Lease in `kube-node-lease` every few seconds, and patches Node status when conditions, images or
 * capacity change and at least once a minute. Keeps retrying with back-off while the server is
 * unreachable; pods are not affected. While it is, one line a minute says so; the first call
 * that gets through again reports the node's status at once and calls `onReconnect`.
 */

import { Backoff, delay } from "../shared/backoff.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { LEASES, NAMESPACES, NODES } from "../shared/client/refs.ts";
import type { KubeObject } from "../shared/api/object.ts";
import type { Condition } from "../shared/api/meta.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../shared/errors.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { isUnreachable } from "./unreachable.ts";
import {
  buildNode,
  type HostSample,
  type NodeFacts,
  nodeImages,
  nodeInfo,
  nodeStatus,
  sampleHost,
} from "./node_status.ts";
import { rfc3339, rfc3339Micro } from "../shared/time.ts";

/** The namespace node leases live in. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Options for {@linkcode NodeHeartbeat}. */
export interface NodeHeartbeatOptions extends NodeFacts {
  client: ApiClient;
  rt: DockerRuntime;
  dataDir: string;
  /** Lease renewal period (default 5 s). */
  leaseRenewMs?: number;
  /** Lease duration written into the Lease (default 40 s). */
  leaseDurationSeconds?: number;
  /** How often the host is measured (default 10 s). */
  statusCheckMs?: number;
  /** Status is patched at least this often even when unchanged (default 60 s). */
  statusMaxIntervalMs?: number;
  /** Why the node's pod network is not ready yet (undefined once it is): the node is NotReady. */
  networkError?: () => string | undefined;
  /** Called when the server answers again after having been unreachable. */
  onReconnect?: () => void;
  /** Interval of the "server unreachable" line (default 60 s). */
  offlineLogIntervalMs?: number;
  logger?: Logger;
}

/** Node registration, lease renewal and node status for one agent. */
export class NodeHeartbeat {
  readonly #o: NodeHeartbeatOptions;
  readonly #log: Logger;
  #registered = false;
  #lastPatchAt = 0;
  #lastFingerprint = "";
  #previousConditions?: Condition[];
  #info?: Record<string, string>;
  #offlineSince?: number;
  #offlineLoggedAt = 0;

  constructor(options: NodeHeartbeatOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
  }

  /** Registers the node, then renews the lease and updates status until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await this.#retrying("register node", signal, () => this.register());
    if (signal.aborted) return;
    await Promise.all([this.#leaseLoop(signal), this.#statusLoop(signal)]);
  }

  /** Creates the Node, or brings an existing one's labels and status up to date. */
  async register(): Promise<void> {
    const { client, rt } = this.#o;
    const sample = await sampleHost(this.#o.dataDir);
    this.#info ??= await nodeInfo(rt);
    const node = buildNode(this.#o, sample);
    try {
      await client.create(NODES, node);
      this.#log.info("registered node", { node: this.#o.nodeName });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A node re-joining keeps its spec (taints, unschedulable) but gets our labels.
      await client.patch(NODES, this.#o.nodeName, {
        metadata: { labels: node.metadata.labels, annotations: node.metadata.annotations },
      }, { type: "merge" });
      const existing = await client.get(NODES, this.#o.nodeName);
      this.#previousConditions = existing.status?.conditions;
      this.#log.info("node already registered; adopting it", { node: this.#o.nodeName });
    }
    this.#registered = true;
    await this.updateStatus(true, sample);
  }

  /** Patches node status when it changed (or when `force`). */
  async updateStatus(force = false, sample?: HostSample): Promise<void> {
    if (!this.#registered) return;
    const { client, rt } = this.#o;
    sample ??= await sampleHost(this.#o.dataDir);
    this.#info ??= await nodeInfo(rt);
    let runtimeError: string | undefined;
    let images: { names: string[]; sizeBytes: number }[] = [];
    try {
      images = await nodeImages(rt);
    } catch (e) {
      runtimeError = (e as Error).message;
    }
    const now = rfc3339();
    const status = nodeStatus(this.#o, {
      sample,
      info: this.#info,
      images,
      previous: this.#previousConditions,
      now,
      runtimeError,
      networkError: this.#o.networkError?.(),
    });
    const conditions = status.conditions as { type: string; status: "True" | "False" }[];
    const fingerprint = JSON.stringify({
      c: conditions.map((c) => [c.type, c.status]),
      i: images.map((i) => i.names[0]),
      cap: status.capacity,
    });
    const due = Date.now() - this.#lastPatchAt >= (this.#o.statusMaxIntervalMs ?? 60_000);
    if (!force && !due && fingerprint === this.#lastFingerprint) return;
    try {
      await client.patch(NODES, this.#o.nodeName, { status }, {
        type: "merge",
        subresource: "status",
      });
    } catch (e) {
      if (isNotFound(e)) this.#registered = false; // deleted: register again
      throw e;
    }
    this.#previousConditions = status.conditions as Condition[];
    this.#lastFingerprint = fingerprint;
    this.#lastPatchAt = Date.now();
  }

  /** Creates or renews the node's Lease. */
  async renewLease(): Promise<void> {
    const { client, nodeName } = this.#o;
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: this.#o.leaseDurationSeconds ?? 40,
      renewTime: rfc3339Micro(),
    };
    let lease: KubeObject | undefined;
    try {
      lease = await client.get(LEASES, nodeName, { namespace: NODE_LEASE_NAMESPACE });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (lease) {
      try {
        await client.update(LEASES, { ...lease, spec: { ...lease.spec, ...spec } });
      } catch (e) {
        if (!isConflict(e)) throw e; // someone else wrote it: next renewal wins
      }
      return;
    }
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE },
      spec: { ...spec, acquireTime: spec.renewTime },
    };
    try {
      await client.create(LEASES, body);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      if (!isNotFound(e)) throw e;
      // The lease namespace doesn't exist yet: create it, then the lease.
      await client.create(NAMESPACES, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: NODE_LEASE_NAMESPACE },
      }).catch((err) => {
        if (!isAlreadyExists(err)) throw err;
      });
      await client.create(LEASES, body);
    }
  }

  async #leaseLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#retrying("renew lease", signal, () => this.renewLease());
      if (!(await delay(this.#o.leaseRenewMs ?? 5000, signal))) return;
    }
  }

  async #statusLoop(signal: AbortSignal): Promise<void> {
    while (await delay(this.#o.statusCheckMs ?? 10_000, signal)) {
      await this.#retrying("update node status", signal, async () => {
        if (!this.#registered) await this.register();
        else await this.updateStatus();
      });
    }
  }

  /** True while the server has been unreachable since the last call that got through. */
  get offline(): boolean {
    return this.#offlineSince !== undefined;
  }

  async #retrying(what: string, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    while (!signal.aborted) {
      try {
        await fn();
        this.#reachable();
        return;
      } catch (e) {
        const wait = backoff.next();
        if (isUnreachable(e)) this.#unreachable(e);
        else this.#log.warn(`${what} failed; retrying`, { error: e, retryMs: wait });
        await delay(wait, signal);
      }
    }
  }

  #unreachable(e: unknown): void {
    const now = Date.now();
    this.#offlineSince ??= now;
    // One line a minute, not one per retry: a node may be cut off for days.
    if (now - this.#offlineLoggedAt < (this.#o.offlineLogIntervalMs ?? 60_000)) return;
    this.#offlineLoggedAt = now;
    this.#log.warn("server unreachable; running the node's pods from local state", {
      offlineSeconds: Math.round((now - this.#offlineSince) / 1000),
      error: e,
    });
  }

  #reachable(): void {
    if (this.#offlineSince === undefined) return;
    this.#log.info("server reachable again; reporting status", {
      offlineSeconds: Math.round((Date.now() - this.#offlineSince) / 1000),
    });
    this.#offlineSince = undefined;
    this.#offlineLoggedAt = 0;
    // At once, not at the next status period.
    this.updateStatus(true).catch((e) => this.#log.warn("update node status failed", { error: e }));
    this.#o.onReconnect?.();
  }
}
