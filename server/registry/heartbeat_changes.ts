/**
 * Which updates are heartbeats: changes that only say "still alive" — a Lease's `renewTime`, a
 * Node's `lastHeartbeatTime` in its conditions — and that the server may hold in memory
 * (server/registry/heartbeat_buffer.ts) instead of writing them to the store on every renewal.
 * Anything else in the same update (a new holder, a condition's status, a label) makes it an
 * ordinary write.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { jsonEqual } from "../../shared/api/validation.ts";

/** True when `next` differs from `current` (both as stored) only by heartbeat timestamps. */
export type HeartbeatTest = (current: KubeObject, next: KubeObject) => boolean;

/** Where agents renew their node Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/**
 * Both objects compared as stored ({@linkcode jsonEqual}: a property set to `undefined` is no
 * property), without `resourceVersion`, with `strip` applied to copies.
 */
function sameExcept(
  current: KubeObject,
  next: KubeObject,
  strip: (o: KubeObject) => void,
): boolean {
  const [a, b] = [structuredClone(current), structuredClone(next)];
  for (const o of [a, b]) {
    delete o.metadata.resourceVersion;
    strip(o);
  }
  return jsonEqual(a, b);
}

/**
 * A Lease renewal: only `spec.renewTime` changed (same holder, duration, acquireTime, metadata),
 * and with it `metadata.generation`, which the server bumps on every change of a spec.
 */
export function isLeaseRenewal(current: KubeObject, next: KubeObject): boolean {
  return sameExcept(current, next, (o) => {
    delete o.metadata.generation;
    if (o.spec && typeof o.spec === "object") delete o.spec.renewTime;
  });
}

/** A node Lease renewal: {@linkcode isLeaseRenewal} in `kube-node-lease`. */
export function isNodeLeaseRenewal(current: KubeObject, next: KubeObject): boolean {
  return current.metadata.namespace === NODE_LEASE_NAMESPACE && isLeaseRenewal(current, next);
}

/**
 * A Node status heartbeat: only the conditions' `lastHeartbeatTime` changed — same conditions in
 * the same order with the same status, reason, message and `lastTransitionTime`, and nothing else
 * of the Node (addresses, capacity, images, taints, labels) changed.
 */
export function isNodeHeartbeat(current: KubeObject, next: KubeObject): boolean {
  return sameExcept(current, next, (o) => {
    const conditions = o.status?.conditions;
    if (!Array.isArray(conditions)) return;
    for (const c of conditions) {
      if (c && typeof c === "object") delete c.lastHeartbeatTime;
    }
  });
}

/**
 * The heartbeat test of each kind that has heartbeats. On a store no other server reads
 * (`sharedStore` false: SQLite, locked by this process) every Lease renewal qualifies — the
 * server's own leader-election and API-server Leases too. On a shared store (etcd) only node
 * Leases do: the other servers must see the leader-election and API-server Leases renewed, and
 * read them from the store.
 */
export function heartbeatTests(options: { sharedStore: boolean }): Map<string, HeartbeatTest> {
  return new Map<string, HeartbeatTest>([
    ["leases", options.sharedStore ? isNodeLeaseRenewal : isLeaseRenewal],
    ["nodes", isNodeHeartbeat],
  ]);
}
