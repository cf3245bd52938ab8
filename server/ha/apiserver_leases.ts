/**
 * Which API servers are alive, for the `kubernetes` Endpoints, as kube-apiserver's "lease"
 * endpoint reconciler keeps it: each server renews a Lease of its own in kube-system
 * (`skiff-apiserver-<name>`, labelled `skiff.dev/apiserver`, its address in an annotation) at
 * every pass of the kubernetes Service reconciler, and lists the servers whose Lease was renewed
 * within its duration. A server that stops renewing drops out of the Endpoints after the TTL;
 * Leases expired long ago are deleted by whichever server sees them.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { LEASES } from "../../shared/client/refs.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import { rfc3339Micro } from "../../shared/time.ts";

/** Label on every API server's Lease. */
export const APISERVER_LEASE_LABEL = "skiff.dev/apiserver";
/** Annotation holding the server's advertised IP address. */
export const APISERVER_ADDRESS_ANNOTATION = "skiff.dev/apiserver-address";
const NAMESPACE = "kube-system";

/** Options of {@linkcode apiServerPeers}. */
export interface ApiServerPeersOptions {
  client: ApiClient;
  /** This server's name. */
  serverName: string;
  /** This server's advertised IP address. */
  address: string;
  /** How long a Lease counts as alive after its renewal (kube-apiserver: 15 s). */
  ttlMs?: number;
  now?: () => number;
}

/** The Lease name of a server (names with `_` made DNS-safe). */
export function apiServerLeaseName(serverName: string): string {
  return `skiff-apiserver-${serverName.replace(/[^a-z0-9.-]/g, "-")}`;
}

/** A `peers()` for the kubernetes Service reconciler: renews this server's Lease, lists the live. */
export function apiServerPeers(o: ApiServerPeersOptions): () => Promise<string[]> {
  const ttlMs = o.ttlMs ?? 15_000;
  const now = o.now ?? Date.now;
  const name = apiServerLeaseName(o.serverName);
  return async () => {
    await renew(o.client, name, o.address, ttlMs, now());
    const list = await o.client.list(LEASES, {
      namespace: NAMESPACE,
      labelSelector: APISERVER_LEASE_LABEL,
    });
    const live: string[] = [];
    for (const lease of list.items as KubeObject[]) {
      const address = lease.metadata.annotations?.[APISERVER_ADDRESS_ANNOTATION];
      const renewed = Date.parse(String(lease.spec?.renewTime ?? ""));
      const ttl = Number(lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      if (!address || Number.isNaN(renewed)) continue;
      if (renewed + ttl > now()) live.push(address);
      else if (renewed + 10 * ttl < now()) {
        await o.client.delete(LEASES, lease.metadata.name!, {
          namespace: NAMESPACE,
          preconditions: { resourceVersion: lease.metadata.resourceVersion },
        }).catch(() => {});
      }
    }
    return live;
  };
}

async function renew(
  client: ApiClient,
  name: string,
  address: string,
  ttlMs: number,
  at: number,
): Promise<void> {
  const spec = {
    holderIdentity: name,
    leaseDurationSeconds: Math.ceil(ttlMs / 1000),
    renewTime: rfc3339Micro(at),
  };
  try {
    const current = await client.get(LEASES, name, { namespace: NAMESPACE });
    await client.update(LEASES, {
      ...current,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata.labels, [APISERVER_LEASE_LABEL]: "true" },
        annotations: { ...current.metadata.annotations, [APISERVER_ADDRESS_ANNOTATION]: address },
      },
      spec: { ...current.spec, ...spec },
    });
  } catch (e) {
    if (isConflict(e)) return; // renewed by a twin of this name meanwhile; next pass
    if (!isNotFound(e)) throw e;
    try {
      await client.create(LEASES, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name,
          namespace: NAMESPACE,
          labels: { [APISERVER_LEASE_LABEL]: "true" },
          annotations: { [APISERVER_ADDRESS_ANNOTATION]: address },
        },
        spec: { ...spec, acquireTime: spec.renewTime },
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}
