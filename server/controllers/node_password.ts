/**
 * The node-password cleanup controller: when a Node is deleted, its node-password Secret
 * (`kube-system/<node>.node-password.skiff`, written by the first join of that name — see
 * server/auth/node_join.ts) goes too, so `kubectl delete node` frees the name for a new machine
 * (a re-flashed Pi with the same hostname), as in k3s.
 *
 * Only a Node's deletion enqueues its name: a node that has joined but not registered its Node
 * yet has a password and no Node, and must keep its password.
 */
import { NODES, SECRETS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { NODE_PASSWORD_NAMESPACE, nodePasswordSecretName } from "../auth/node_join.ts";
import type { InformerSet } from "./informer_set.ts";

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
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("node-password");
  const nodes = informers.get(NODES);
  const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  nodes.onDelete((node) => queue.add(node.metadata.name!));

  const reconcile = async (name: string) => {
    // Re-created (the same machine registering again) since the delete: keep its password.
    if (nodes.get(name)) return;
    try {
      await client.delete(SECRETS, nodePasswordSecretName(name), {
        namespace: NODE_PASSWORD_NAMESPACE,
      });
      logger.info("node deleted: its password is released", { node: name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  await runController(
    { name: "node-password", queue, reconcile, informers: [nodes], logger },
    signal,
  );
}
