/**
 * Deleting the Node of a server removes its etcd member (managed etcd, as k3s's etcd member
 * controller does): while this server holds the controller-manager Lease, a deleted Node whose
 * name is an etcd member's name (a server that also ran an agent under the same name) has its
 * member removed, unless it is this server's own.
 */
import { NODES } from "../../shared/client/refs.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import type { EtcdClient } from "./managed_etcd.ts";
import { removeMemberNamed } from "./managed_server.ts";

/** Runs until `signal` aborts (the term's end). */
export async function runMemberCleanup(
  o: { informers: InformerSet; etcd: EtcdClient; self: string; logger?: Logger },
  signal: AbortSignal,
): Promise<void> {
  const logger = (o.logger ?? silentLogger).child("etcd-member-cleanup");
  o.informers.get(NODES).addEventHandler({
    onDelete: (node) => {
      const name = node.metadata.name!;
      if (name === o.self || signal.aborted) return;
      removeMemberNamed(o.etcd, name).then(
        (removed) => removed && logger.info("removed the etcd member of a deleted node", { name }),
        (e) => logger.warn("cannot remove the etcd member", { name, error: (e as Error).message }),
      );
    },
  });
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
