/**
 * The node's side of the pod network, driven by the Node informer: once the server has given this
 * Node a `spec.podCIDR` it makes the Docker bridge network (pod_network.ts) and this node's
 * forwarding and masquerading rules (host_gw.ts), and from then on keeps one kernel route per
 * other Node's podCIDR via that Node's InternalIP as Nodes come, change address and go. Pods start
 * only after {@linkcode NodeNetwork.ready}. The bridge, rules and routes stay when `run` ends:
 * the pods keep running, and keep their network, while the agent restarts (as flannel leaves its
 * routes and kube-proxy its rules); the next start rewrites them, and `skiff agent --uninstall
 * --purge` removes them.
 */
import type { Node } from "../shared/api/core_v1.ts";
import { runController } from "../shared/controller.ts";
import type { Informer } from "../shared/informer.ts";
import { ipv4NetWithin, parseIpv4Net } from "../shared/ipv4_cidr.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { type CommandRunner, desiredRoutes, HostGateway, type NodeRouteFacts } from "./host_gw.ts";
import { PodNetwork, type PodNetworkInfo } from "./pod_network.ts";

/** Options of {@linkcode NodeNetwork}. */
export interface NodeNetworkOptions {
  rt: DockerRuntime;
  /** Informer over all Nodes (the agent runs it). */
  nodes: Informer<Node>;
  nodeName: string;
  /** The cluster CIDR (from the join, or `--cluster-cidr`). */
  clusterCidr: string;
  /** Runs `ip`, `iptables`, `sysctl` (tests: inside a namespace). */
  run?: CommandRunner;
  /** How often routes are re-checked even without Node events (default 30 s). */
  resyncMs?: number;
  logger?: Logger;
}

const KEY = "network";

/** The facts routes are computed from. */
export function routeFacts(node: Node): NodeRouteFacts {
  const internal = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  return { name: node.metadata.name!, podCIDR: node.spec?.podCIDR, internalIP: internal };
}

/** Keeps this node's pod network, rules and routes in line with the Nodes. */
export class NodeNetwork {
  readonly gateway: HostGateway;
  readonly #o: NodeNetworkOptions;
  readonly #log: Logger;
  readonly #bridge: PodNetwork;
  #current?: PodNetworkInfo;
  #resolveReady!: (info: PodNetworkInfo) => void;
  readonly #ready: Promise<PodNetworkInfo>;
  #waitLogged = false;
  #staleChecked = false;
  /** The podCIDR the firewall rules were last written for. */
  #rulesFor?: string;

  constructor(options: NodeNetworkOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#bridge = new PodNetwork(options.rt, { logger: this.#log });
    this.gateway = new HostGateway({
      nodeName: options.nodeName,
      run: options.run,
      logger: this.#log,
    });
    this.#ready = new Promise((resolve) => this.#resolveReady = resolve);
  }

  /** The node's pod network once it is in place (podCIDR, gateway, Docker network name). */
  get current(): PodNetworkInfo | undefined {
    return this.#current;
  }

  /** Resolves once the node has its podCIDR and bridge; undefined if `signal` aborts first. */
  ready(signal: AbortSignal): Promise<PodNetworkInfo | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => resolve(undefined);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#ready.then((info) => {
        signal.removeEventListener("abort", onAbort);
        resolve(info);
      });
    });
  }

  /** One pass: bridge and rules for the own podCIDR (when it is new), then the routes. */
  async reconcile(): Promise<void> {
    const self = this.#o.nodes.get(this.#o.nodeName);
    const podCIDR = self?.spec?.podCIDR;
    if (!podCIDR) {
      if (!this.#waitLogged) {
        this.#log.info("waiting for the server to give this node a podCIDR");
        this.#waitLogged = true;
      }
      return;
    }
    if (this.#current?.podCIDR !== podCIDR) {
      const cluster = parseIpv4Net(this.#o.clusterCidr);
      const own = parseIpv4Net(podCIDR);
      if (!cluster || !own || !ipv4NetWithin(own, cluster)) {
        throw new Error(
          `node podCIDR ${podCIDR} is not inside the cluster CIDR ${this.#o.clusterCidr}: start the agent with --cluster-cidr set to the server's`,
        );
      }
      const info = await this.#bridge.ensure(podCIDR);
      const first = !this.#current;
      this.#current = info;
      this.#rulesFor = undefined;
      // Pods may start as soon as they can get an address: the rules only matter for traffic
      // leaving the node, which (like routes to a new node) may lag by a moment.
      if (first) this.#resolveReady(info);
    }
    if (this.#rulesFor !== podCIDR) {
      await this.gateway.setup({ podCIDR, clusterCidr: this.#o.clusterCidr });
      this.#rulesFor = podCIDR;
    }
    const isLocal = await this.gateway.localAddresses();
    const routes = desiredRoutes(
      this.#o.nodeName,
      this.#o.nodes.list().map(routeFacts),
      isLocal,
    );
    if (!this.#staleChecked) {
      // Routes of ours a crashed agent left behind, to Nodes that are gone.
      await this.gateway.removeStaleRoutes(routes);
      this.#staleChecked = true;
    }
    const { failed } = await this.gateway.syncRoutes(routes);
    if (failed.length) throw new Error(`${failed.length} route(s) to other nodes' pods failed`);
  }

  /** Runs until `signal` aborts (leaving the node's rules and routes for the pods). */
  async run(signal: AbortSignal): Promise<void> {
    const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
    const enqueue = () => queue.add(KEY);
    this.#o.nodes.addEventHandler({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue });
    const resync = setInterval(enqueue, this.#o.resyncMs ?? 30_000);
    try {
      await runController({
        name: "node-network",
        queue,
        reconcile: () => this.reconcile(),
        informers: [this.#o.nodes],
        logger: this.#log,
      }, signal);
    } finally {
      clearInterval(resync);
      queue.shutDown();
    }
  }
}
