/**
 * The node-password cleanup controller: when a Node is deleted, its node-password Secret
 * (`kube-system/<node>.node-password.skiff`, written by the first join of that name — see
 * server/auth/node_join.ts) goes too, so `kubectl delete node` frees the name for a new machine
 * (a re-flashed Pi with the same hostname), as in k3s.
 *
 * Only a Node's deletion enqueues its name: a node that has joined but not registered its Node
 * yet has a password and no Node, and must keep its password.
 *
 * The smallest controller in the reconciler shape (see docs/ARCHITECTURE.md): a reconciler class
 * over listers and a `ControllerClient`, and a `run…` function that wires it to informers.
 */
import type { Node } from "../../shared/api/core_v1.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { NODES, SECRETS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { NODE_PASSWORD_NAMESPACE, nodePasswordSecretName } from "../auth/node_join.ts";

/** What {@linkcode NodePasswordReconciler} reads and writes with. */
export interface NodePasswordReconcilerOptions {
  listers: { nodes: Lister<Node> };
  client: ControllerClient;
  logger?: Logger;
}

/** Deletes the node-password Secret of a Node that is gone. */
export class NodePasswordReconciler {
  readonly #nodes: Lister<Node>;
  readonly #client: ControllerClient;
  readonly #logger: Logger;

  constructor(options: NodePasswordReconcilerOptions) {
    this.#nodes = options.listers.nodes;
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger;
  }

  /** `name` is a Node's name, enqueued when the Node was deleted. */
  async reconcile(name: string): Promise<void> {
    // Re-created (the same machine registering again) since the delete: keep its password.
    if (this.#nodes.get(name)) return;
    await this.releasePassword(name);
  }

  /** Deletes the Secret; one already gone counts as done. */
  async releasePassword(name: string): Promise<void> {
    try {
      await this.#client.delete(SECRETS, nodePasswordSecretName(name), {
        namespace: NODE_PASSWORD_NAMESPACE,
      });
      this.#logger.info("node deleted: its password is released", { node: name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Options of {@linkcode runNodePasswordController}. */
export interface NodePasswordControllerOptions {
  informers: InformerSet;
  logger?: Logger;
}

/** Runs the node-password cleanup controller until `signal` aborts. */
export async function runNodePasswordController(
  options: NodePasswordControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("node-password");
  const nodes = informers.get<Node>(NODES);
  const reconciler = new NodePasswordReconciler({
    listers: { nodes },
    client: informers.client,
    logger,
  });
  const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  nodes.onDelete((node) => queue.add(node.metadata.name!));
  await runController({
    name: "node-password",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [nodes],
    logger,
  }, signal);
}
