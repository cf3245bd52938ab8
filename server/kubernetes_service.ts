/**
 * The `kubernetes` Service in `default`, as kube-apiserver's bootstrap controller and "master
 * endpoints reconciler" keep it: a ClusterIP Service on the first address of the service range,
 * port 443 named `https` (TCP) targeting the API server's port, and Endpoints (plus the
 * EndpointSlice `kubernetes`) holding the server's advertised address and port. Checked every
 * `intervalMs` (kube-apiserver: 10 s): deleted objects are recreated, drifted ones put back.
 */

import type { ApiClient } from "../shared/client/client.ts";
import { ENDPOINTS, ENDPOINTSLICES, SERVICES } from "../shared/client/refs.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../shared/errors.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { type Logger, silentLogger } from "../shared/log.ts";

/** Where the `kubernetes` Service lives. */
export const KUBERNETES_SERVICE_NAMESPACE = "default";
export const KUBERNETES_SERVICE_NAME = "kubernetes";

/** Options of {@linkcode runKubernetesServiceReconciler}. */
export interface KubernetesServiceOptions {
  client: ApiClient;
  /** The Service's ClusterIP: the first address of the service CIDR. */
  serviceIP: string;
  /** The API server's advertised IP address (the Endpoints address). */
  address: string;
  /** The API server's port (the Endpoints port, the Service's targetPort). */
  port: number;
  /**
   * Every live API server's address (several servers on one datastore, see
   * server/ha/apiserver_leases.ts); absent = this server's `address` alone. All serve on `port`.
   */
  peers?: () => Promise<string[]>;
  /** Time between checks (default 10 s). */
  intervalMs?: number;
  logger?: Logger;
}

/** The Service as it must be (what is compared and written). */
export function desiredKubernetesService(o: { serviceIP: string; port: number }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: KUBERNETES_SERVICE_NAME,
      namespace: KUBERNETES_SERVICE_NAMESPACE,
      labels: { component: "apiserver", provider: "kubernetes" },
    },
    spec: {
      type: "ClusterIP",
      clusterIP: o.serviceIP,
      clusterIPs: [o.serviceIP],
      sessionAffinity: "None",
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: o.port }],
    },
  };
}

/** The Endpoints as they must be. */
export function desiredKubernetesEndpoints(
  o: { address: string; port: number; addresses?: string[] },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: KUBERNETES_SERVICE_NAME,
      namespace: KUBERNETES_SERVICE_NAMESPACE,
      labels: { "endpointslice.kubernetes.io/skip-mirror": "true" },
    },
    subsets: [{
      addresses: (o.addresses ?? [o.address]).map((ip) => ({ ip })),
      ports: [{ name: "https", port: o.port, protocol: "TCP" }],
    }],
  };
}

/** The EndpointSlice as it must be. */
export function desiredKubernetesEndpointSlice(
  o: { address: string; port: number; addresses?: string[] },
): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: KUBERNETES_SERVICE_NAME,
      namespace: KUBERNETES_SERVICE_NAMESPACE,
      labels: { "kubernetes.io/service-name": KUBERNETES_SERVICE_NAME },
    },
    addressType: o.address.includes(":") ? "IPv6" : "IPv4",
    endpoints: (o.addresses ?? [o.address]).map((ip) => ({
      addresses: [ip],
      conditions: { ready: true },
    })),
    ports: [{ name: "https", port: o.port, protocol: "TCP" }],
  };
}

/** One pass: creates what is missing, puts back what drifted. Throws on API errors. */
export async function reconcileKubernetesService(o: KubernetesServiceOptions): Promise<void> {
  const ns = KUBERNETES_SERVICE_NAMESPACE;
  const svc = desiredKubernetesService(o);
  let current: KubeObject | undefined;
  try {
    current = await o.client.get(SERVICES, KUBERNETES_SERVICE_NAME, { namespace: ns });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!current) {
    await createIgnoringRace(o.client, SERVICES, svc);
  } else if (
    JSON.stringify(current.spec?.ports?.map(portKey)) !==
      JSON.stringify(svc.spec.ports.map(portKey))
  ) {
    // The ports are ours to keep (the cluster IP is immutable; a user's change of it is theirs).
    await updateIgnoringConflict(o.client, SERVICES, {
      ...current,
      spec: { ...current.spec, ports: svc.spec.ports },
    });
  }
  const addresses = o.peers ? [...new Set([o.address, ...await o.peers()])].sort() : [o.address];
  await ensureData(o.client, ENDPOINTS, desiredKubernetesEndpoints({ ...o, addresses }), [
    "subsets",
  ]);
  await ensureData(o.client, ENDPOINTSLICES, desiredKubernetesEndpointSlice({ ...o, addresses }), [
    "addressType",
    "endpoints",
    "ports",
  ]);
}

function portKey(p: { name?: string; port: number; protocol?: string; targetPort?: unknown }) {
  return [p.name ?? "", p.port, p.protocol ?? "TCP", p.targetPort ?? p.port];
}

async function ensureData(
  client: ApiClient,
  ref: typeof ENDPOINTS,
  want: KubeObject,
  fields: string[],
): Promise<void> {
  let current: KubeObject | undefined;
  try {
    current = await client.get(ref, want.metadata.name!, { namespace: want.metadata.namespace });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!current) return await createIgnoringRace(client, ref, want);
  const differs = fields.some((f) =>
    JSON.stringify(normalise(current![f])) !== JSON.stringify(normalise(want[f]))
  );
  if (!differs) return;
  const next: KubeObject = { ...current };
  for (const f of fields) next[f] = want[f];
  await updateIgnoringConflict(client, ref, next);
}

/** Drops defaulted fields the server adds, so that stored and wanted compare equal. */
function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null), (k, x) => (k === "appProtocol" ? undefined : x));
}

async function createIgnoringRace(client: ApiClient, ref: typeof ENDPOINTS, obj: KubeObject) {
  try {
    await client.create(ref, obj);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e; // someone was quicker: the next pass compares
  }
}

async function updateIgnoringConflict(client: ApiClient, ref: typeof ENDPOINTS, obj: KubeObject) {
  try {
    await client.update(ref, obj);
  } catch (e) {
    if (!isConflict(e) && !isNotFound(e)) throw e; // changed meanwhile: the next pass looks again
  }
}

/** Keeps the `kubernetes` Service current until `signal` aborts. */
export async function runKubernetesServiceReconciler(
  o: KubernetesServiceOptions,
  signal: AbortSignal,
): Promise<void> {
  const log = (o.logger ?? silentLogger).child("kubernetes-service");
  const interval = o.intervalMs ?? 10_000;
  let lastError = "";
  while (!signal.aborted) {
    try {
      await reconcileKubernetesService(o);
      lastError = "";
    } catch (e) {
      const text = (e as Error).message;
      if (text !== lastError && !signal.aborted) {
        log.warn("cannot reconcile the kubernetes Service", { error: text });
      }
      lastError = text;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, interval);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
