/**
 * The storage-object-in-use protection controllers (kube-controller-manager's `pvc-protection`
 * and `pv-protection`): the API server puts `kubernetes.io/pvc-protection` on every new claim and
 * `kubernetes.io/pv-protection` on every new volume; once one of them is being deleted, this
 * controller removes the finalizer when nothing uses it any more — a claim when no pod that has
 * not finished refers to it, a volume when it is no longer Bound.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS } from "../../shared/client/refs.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER } from "../registry/kind_strategies.ts";

/** What {@linkcode StorageProtectionController} reads and writes with. */
export interface StorageProtectionDeps {
  listers: { claims: Lister<KubeObject>; volumes: Lister<KubeObject>; pods: Lister<KubeObject> };
  client: ControllerClient;
}

/** The claim names a pod's volumes refer to. */
export function podClaimNames(pod: KubeObject): string[] {
  const names: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
  }
  return names;
}

function podFinished(pod: KubeObject): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Removes the protection finalizers of claims and volumes no longer in use. */
export class StorageProtectionController {
  readonly #claims: Lister<KubeObject>;
  readonly #volumes: Lister<KubeObject>;
  readonly #pods: Lister<KubeObject>;
  readonly #client: ControllerClient;

  constructor(deps: StorageProtectionDeps) {
    this.#claims = deps.listers.claims;
    this.#volumes = deps.listers.volumes;
    this.#pods = deps.listers.pods;
    this.#client = deps.client;
  }

  /** Reconciles the claim `namespace/name`. */
  async syncClaim(key: string): Promise<void> {
    const pvc = this.#claims.get(key);
    if (!pvc?.metadata.deletionTimestamp) return;
    if (!pvc.metadata.finalizers?.includes(PVC_PROTECTION_FINALIZER)) return;
    if (this.claimInUse(pvc)) return;
    await this.#update(PERSISTENT_VOLUME_CLAIMS, withoutFinalizer(pvc, PVC_PROTECTION_FINALIZER));
  }

  /** Reconciles the volume `name`. */
  async syncVolume(name: string): Promise<void> {
    const pv = this.#volumes.get(name);
    if (!pv?.metadata.deletionTimestamp) return;
    if (!pv.metadata.finalizers?.includes(PV_PROTECTION_FINALIZER)) return;
    if (pv.status?.phase === "Bound") return;
    await this.#update(PERSISTENT_VOLUMES, withoutFinalizer(pv, PV_PROTECTION_FINALIZER));
  }

  async #update(r: ResourceRef, obj: KubeObject): Promise<void> {
    try {
      await this.#client.update(r, obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Whether a pod that has not finished refers to the claim. */
  claimInUse(pvc: KubeObject): boolean {
    return this.#pods.listNamespace(pvc.metadata.namespace!).some((pod) =>
      !podFinished(pod) && podClaimNames(pod).includes(pvc.metadata.name!)
    );
  }
}

function withoutFinalizer(obj: KubeObject, finalizer: string): KubeObject {
  const next = structuredClone(obj);
  next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f: string) =>
    f !== finalizer
  );
  return next;
}

/** Options of {@linkcode runStorageProtectionController}. */
export interface StorageProtectionControllerOptions {
  informers: InformerSet;
  logger?: Logger;
}

/** Runs the pvc-protection and pv-protection controllers until `signal` aborts. */
export async function runStorageProtectionController(
  options: StorageProtectionControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("storage-protection");
  const claims = informers.get(PERSISTENT_VOLUME_CLAIMS);
  const volumes = informers.get(PERSISTENT_VOLUMES);
  const pods = informers.get(PODS);
  const claimQueue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  const volumeQueue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  const claimKey = (c: KubeObject) => `${c.metadata.namespace}/${c.metadata.name}`;
  claims.addEventHandler({
    onAdd: (c) => claimQueue.add(claimKey(c)),
    onUpdate: (_, c) => claimQueue.add(claimKey(c)),
  });
  volumes.addEventHandler({
    onAdd: (v) => volumeQueue.add(v.metadata.name!),
    onUpdate: (_, v) => volumeQueue.add(v.metadata.name!),
  });
  // A pod that finishes or goes may free its claims.
  const onPod = (pod: KubeObject) => {
    for (const name of podClaimNames(pod)) claimQueue.add(`${pod.metadata.namespace}/${name}`);
  };
  pods.addEventHandler({
    onUpdate: (old, pod) => {
      if (!podFinished(old) && podFinished(pod)) onPod(pod);
    },
    onDelete: onPod,
  });
  const controller = new StorageProtectionController({
    listers: { claims, volumes, pods },
    client: informers.client,
  });
  await Promise.all([
    runController({
      name: "pvc-protection",
      queue: claimQueue,
      reconcile: (key) => controller.syncClaim(key),
      informers: [claims, pods],
      logger,
    }, signal),
    runController({
      name: "pv-protection",
      queue: volumeQueue,
      reconcile: (key) => controller.syncVolume(key),
      informers: [volumes],
      logger,
    }, signal),
  ]);
}
