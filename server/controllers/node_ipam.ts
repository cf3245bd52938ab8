/**
 * The node IPAM controller, as kube-controller-manager's range allocator: gives every Node a
 * `spec.podCIDR`/`podCIDRs` — one /24 (by default) of `--cluster-cidr`, lowest free first — and
 * takes it back when the Node is deleted. The allocation lives on the Node itself, so it is
 * stable across server restarts: before allocating anything the controller marks every CIDR the
 * Nodes already carry as used.
 */
import type { Node } from "../../shared/api/core_v1.ts";
import { NODES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import type { EventRecorder } from "../../shared/events.ts";
import { isNotFound } from "../../shared/errors.ts";
import {
  formatIpv4Net,
  type Ipv4Net,
  ipv4NetSize,
  ipv4NetWithin,
  parseIpv4Net,
} from "../../shared/ipv4_cidr.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import type { InformerSet } from "../../shared/informer_set.ts";

/** The per-node mask size k3s and kube-controller-manager use by default. */
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;

/** Event reason when the cluster CIDR has no free range left (kube-controller-manager's). */
export const CIDR_NOT_AVAILABLE = "CIDRNotAvailable";

/**
 * The per-node ranges of one cluster CIDR and which are in use: a bitmap over the
 * `2^(nodeMask - clusterPrefix)` ranges, as kube-controller-manager's `cidrset`.
 */
export class CidrSet {
  readonly cluster: Ipv4Net;
  readonly nodeMaskSize: number;
  readonly #used: Uint8Array;
  #free: number;

  constructor(clusterCidr: string, nodeMaskSize = DEFAULT_NODE_CIDR_MASK_SIZE) {
    const cluster = parseIpv4Net(clusterCidr);
    if (!cluster) throw new Error(`invalid cluster CIDR "${clusterCidr}"`);
    if (nodeMaskSize < cluster.prefix || nodeMaskSize > 30) {
      throw new Error(
        `invalid cluster CIDR "${clusterCidr}": it must be at least a /${nodeMaskSize} (one per node)`,
      );
    }
    if (nodeMaskSize - cluster.prefix > 16) {
      throw new Error(`invalid cluster CIDR "${clusterCidr}": more than 65536 node ranges`);
    }
    this.cluster = cluster;
    this.nodeMaskSize = nodeMaskSize;
    this.#used = new Uint8Array(2 ** (nodeMaskSize - cluster.prefix));
    this.#free = this.#used.length;
  }

  /** How many node ranges are still free. */
  get free(): number {
    return this.#free;
  }

  /** The lowest free range, now marked used; undefined when all are taken. */
  allocateNext(): string | undefined {
    const i = this.#used.indexOf(0);
    if (i < 0) return undefined;
    this.#used[i] = 1;
    this.#free--;
    return this.#format(i);
  }

  /**
   * Marks `cidr` used. Returns false when it is not one of this set's node ranges (another
   * cluster CIDR, another mask) or when it is already used.
   */
  occupy(cidr: string): boolean {
    const i = this.#index(cidr);
    if (i === undefined || this.#used[i]) return false;
    this.#used[i] = 1;
    this.#free--;
    return true;
  }

  /** Frees `cidr` (no-op when it is not one of this set's used ranges). */
  release(cidr: string): void {
    const i = this.#index(cidr);
    if (i === undefined || !this.#used[i]) return;
    this.#used[i] = 0;
    this.#free++;
  }

  #index(cidr: string): number | undefined {
    const net = parseIpv4Net(cidr);
    if (!net || net.prefix !== this.nodeMaskSize || !ipv4NetWithin(net, this.cluster)) {
      return undefined;
    }
    return (net.base - this.cluster.base) / ipv4NetSize(net);
  }

  #format(i: number): string {
    const size = 2 ** (32 - this.nodeMaskSize);
    return formatIpv4Net({ base: this.cluster.base + i * size, prefix: this.nodeMaskSize });
  }
}

/** Read access to the Nodes (an informer's cache). */
export interface NodeLister {
  get(name: string): Node | undefined;
  list(): Node[];
}

/** The writes the controller makes. */
export interface NodeIpamClient {
  /** Sets `spec.podCIDR` and `spec.podCIDRs` of the Node (NotFound when it is gone). */
  setPodCIDR(node: string, cidr: string): Promise<void>;
  /** Records a Warning event on the Node. */
  warn(node: Node, reason: string, message: string): void;
}

/** Options of {@linkcode NodeIpamController}. */
export interface NodeIpamControllerOptions {
  clusterCidr: string;
  nodeMaskSize?: number;
  nodes: NodeLister;
  client: NodeIpamClient;
  logger?: Logger;
}

/** Allocates and releases node podCIDRs; `reconcile(nodeName)` is idempotent. */
export class NodeIpamController {
  readonly cidrs: CidrSet;
  readonly #nodes: NodeLister;
  readonly #client: NodeIpamClient;
  readonly #log: Logger;
  /** What this controller believes each node holds, by node name (with the Node's uid). */
  readonly #held = new Map<string, { uid?: string; cidr: string }>();
  /** Ranges Nodes carry that are not ours to manage (already warned about), by node name. */
  readonly #unmanaged = new Map<string, string>();
  #loaded = false;

  constructor(options: NodeIpamControllerOptions) {
    this.cidrs = new CidrSet(options.clusterCidr, options.nodeMaskSize);
    this.#nodes = options.nodes;
    this.#client = options.client;
    this.#log = options.logger ?? silentLogger;
  }

  /** Brings one Node's podCIDR in line: release if gone, record if set, allocate if missing. */
  async reconcile(name: string): Promise<void> {
    this.#loadExisting();
    const node = this.#nodes.get(name);
    const held = this.#held.get(name);
    if (!node) {
      this.#unmanaged.delete(name);
      if (held) this.#release(name, held.cidr);
      return;
    }
    const uid = node.metadata.uid;
    const current = node.spec?.podCIDR;
    if (current) {
      if (held?.cidr === current) return;
      if (held) this.#release(name, held.cidr);
      this.#record(node, current);
      return;
    }
    // Our own patch not yet in the cache: write the same range again (idempotent).
    if (held && held.uid === uid) {
      await this.#write(name, held.cidr);
      return;
    }
    // A re-created Node of the same name: its old range is free again.
    if (held) this.#release(name, held.cidr);
    const cidr = this.cidrs.allocateNext();
    if (!cidr) {
      const message = `Node ${name} has no podCIDR: the cluster CIDR ${
        formatIpv4Net(this.cidrs.cluster)
      } has no free /${this.cidrs.nodeMaskSize} left`;
      this.#client.warn(node, CIDR_NOT_AVAILABLE, message);
      throw new Error(message);
    }
    this.#held.set(name, { uid, cidr });
    this.#log.info("allocated podCIDR", { node: name, podCIDR: cidr });
    await this.#write(name, cidr);
  }

  async #write(name: string, cidr: string): Promise<void> {
    try {
      await this.#client.setPodCIDR(name, cidr);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Deleted meanwhile: the delete's own reconcile (or this one, retried) releases it.
      if (!this.#nodes.get(name)) this.#release(name, cidr);
    }
  }

  /** Marks every range the Nodes already carry as used, once, before the first allocation. */
  #loadExisting(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const node of this.#nodes.list()) {
      if (node.spec?.podCIDR) this.#record(node, node.spec.podCIDR);
    }
  }

  #record(node: Node, cidr: string): void {
    const name = node.metadata.name!;
    if (this.#held.get(name)?.cidr === cidr || this.#unmanaged.get(name) === cidr) return;
    if (!this.cidrs.occupy(cidr)) {
      // Outside the cluster CIDR (set by hand, or the flag changed) or another node's range: it
      // is not ours to hand out, and we do not rewrite a podCIDR once set (Kubernetes forbids it).
      const owner = [...this.#held.entries()].find(([, h]) => h.cidr === cidr)?.[0];
      const why = owner
        ? `also held by node ${owner}`
        : `not a /${this.cidrs.nodeMaskSize} of the cluster CIDR ${
          formatIpv4Net(this.cidrs.cluster)
        }`;
      this.#log.warn("node podCIDR not managed by this allocator", {
        node: name,
        podCIDR: cidr,
        why,
      });
      if (owner) this.#client.warn(node, CIDR_NOT_AVAILABLE, `podCIDR ${cidr} is ${why}`);
      this.#unmanaged.set(name, cidr);
      return;
    }
    this.#held.set(name, { uid: node.metadata.uid, cidr });
  }

  #release(name: string, cidr: string): void {
    this.cidrs.release(cidr);
    this.#held.delete(name);
    this.#log.info("released podCIDR", { node: name, podCIDR: cidr });
  }
}

/** Options of {@linkcode runNodeIpamController}. */
export interface RunNodeIpamControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  /** `--cluster-cidr` (default 10.42.0.0/16). */
  clusterCidr: string;
  logger?: Logger;
}

/** Runs the node IPAM controller until `signal` aborts. */
export async function runNodeIpamController(
  options: RunNodeIpamControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers, recorder } = options;
  const logger = (options.logger ?? silentLogger).child("node-ipam");
  const nodes = informers.get<Node>(NODES);
  const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  const enqueue = (n: Node) => queue.add(n.metadata.name!);
  nodes.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
  const controller = new NodeIpamController({
    clusterCidr: options.clusterCidr,
    nodes: { get: (name) => nodes.get(name), list: () => nodes.list() },
    client: {
      setPodCIDR: async (name, cidr) => {
        await informers.client.patch(NODES, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, {
          type: "merge",
        });
      },
      warn: (node, reason, message) =>
        recorder.record({ ...node, apiVersion: "v1", kind: "Node" }, "Warning", reason, message),
    },
    logger,
  });
  await runController(
    {
      name: "node-ipam",
      queue,
      reconcile: (name) => controller.reconcile(name),
      informers: [nodes],
      logger,
    },
    signal,
  );
}
