/**
 * Two per-namespace controllers of kube-controller-manager:
 * - the ServiceAccounts controller: every active namespace has a ServiceAccount `default`
 *   (re-created when deleted), which pods run as unless they name another;
 * - the root CA publisher: every active namespace has the ConfigMap `kube-root-ca.crt` with the
 *   cluster CA under `ca.crt` (re-created when deleted, restored when changed), which the
 *   service-account volume projects so that in-cluster clients can verify the API server.
 * Both are keyed by namespace name and do nothing in a namespace being deleted.
 */
import type { ConfigMap, Namespace, ServiceAccount } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { CONFIGMAPS, NAMESPACES, SERVICEACCOUNTS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isAlreadyExists, isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";

/** The ServiceAccount every namespace has. */
export const DEFAULT_SERVICE_ACCOUNT = "default";
/** The ConfigMap holding the cluster CA in every namespace. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION = "Contains a CA bundle that can be used to verify the kube-apiserver " +
  "when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
  "No other usage is guaranteed across distributions of Kubernetes clusters.";

/** What {@linkcode ServiceAccountReconciler} reads and writes with. */
export interface ServiceAccountReconcilerOptions {
  listers: {
    namespaces: Lister<Namespace>;
    serviceAccounts: Lister<ServiceAccount>;
    configMaps: Lister<ConfigMap>;
  };
  client: ControllerClient;
  /** The cluster CA (PEM) published as `kube-root-ca.crt`. */
  rootCaPem: string;
  logger?: Logger;
}

/** Ensures the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap of a namespace. */
export class ServiceAccountReconciler {
  readonly #o: ServiceAccountReconcilerOptions;
  readonly #logger: Logger;

  constructor(options: ServiceAccountReconcilerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** `namespace` is a Namespace's name. */
  async reconcile(namespace: string): Promise<void> {
    const ns = this.#o.listers.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
    // The CA first: pod admission waits for the `default` ServiceAccount, and the pods it then
    // admits mount kube-root-ca.crt.
    await this.ensureRootCa(namespace);
    await this.ensureDefaultServiceAccount(namespace);
  }

  /** Creates the `default` ServiceAccount when missing. */
  async ensureDefaultServiceAccount(namespace: string): Promise<void> {
    if (this.#o.listers.serviceAccounts.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    await this.#create(SERVICEACCOUNTS, namespace, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace },
    });
  }

  /** Creates the root CA ConfigMap when missing, and restores its content when changed. */
  async ensureRootCa(namespace: string): Promise<void> {
    const data = { "ca.crt": this.#o.rootCaPem };
    const cm = this.#o.listers.configMaps.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    if (!cm) {
      await this.#create(CONFIGMAPS, namespace, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: ROOT_CA_CONFIGMAP,
          namespace,
          annotations: { "kubernetes.io/description": ROOT_CA_DESCRIPTION },
        },
        data,
      });
      return;
    }
    if (cm.data?.["ca.crt"] === data["ca.crt"] && Object.keys(cm.data ?? {}).length === 1) return;
    try {
      await this.#o.client.update(CONFIGMAPS, { ...cm, data, binaryData: undefined });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #create(
    ref: typeof CONFIGMAPS,
    namespace: string,
    obj: KubeObject,
  ): Promise<void> {
    try {
      await this.#o.client.create(ref, obj, { namespace });
      this.#logger.debug("created", { resource: ref.plural, namespace, name: obj.metadata.name });
    } catch (err) {
      // Already there (the cache lags), or the namespace began terminating meanwhile.
      if (!isAlreadyExists(err) && !isNotFound(err) && !isForbiddenTerminating(err)) throw err;
    }
  }
}

function isForbiddenTerminating(err: unknown): boolean {
  return (err as { code?: number }).code === 403 &&
    String((err as Error).message).includes("being terminated");
}

/** Options of {@linkcode runServiceAccountController}. */
export interface ServiceAccountControllerOptions {
  informers: InformerSet;
  rootCaPem: string;
  logger?: Logger;
}

/** Runs the ServiceAccounts controller and the root CA publisher until `signal` aborts. */
export async function runServiceAccountController(
  options: ServiceAccountControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("serviceaccount");
  const namespaces = informers.get<Namespace>(NAMESPACES);
  const serviceAccounts = informers.get<ServiceAccount>(SERVICEACCOUNTS);
  const configMaps = informers.get<ConfigMap>(CONFIGMAPS);
  const reconciler = new ServiceAccountReconciler({
    listers: { namespaces, serviceAccounts, configMaps },
    client: informers.client,
    rootCaPem: options.rootCaPem,
    logger,
  });
  const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  namespaces.addEventHandler({
    onAdd: (ns) => queue.add(ns.metadata.name!),
    onUpdate: (_old, ns) => queue.add(ns.metadata.name!),
  });
  serviceAccounts.onDelete((sa) => {
    if (sa.metadata.name === DEFAULT_SERVICE_ACCOUNT) queue.add(sa.metadata.namespace!);
  });
  configMaps.addEventHandler({
    onUpdate: (_old, cm) => {
      if (cm.metadata.name === ROOT_CA_CONFIGMAP) queue.add(cm.metadata.namespace!);
    },
    onDelete: (cm) => {
      if (cm.metadata.name === ROOT_CA_CONFIGMAP) queue.add(cm.metadata.namespace!);
    },
  });
  await runController({
    name: "serviceaccount",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [namespaces, serviceAccounts, configMaps],
    logger,
  }, signal);
}
