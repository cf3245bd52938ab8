/**
 * The PersistentVolume controller (kube-controller-manager's `persistentvolume-binder`) with the
 * built-in `skiff.io/local-path` provisioner.
 *
 * Claims bind to volumes in two writes, each its own reconcile, so a crash between them is
 * finished by the next sync: the volume's `spec.claimRef` first, then the claim's
 * `spec.volumeName` (with `pv.kubernetes.io/bind-completed`), then both statuses go `Bound`.
 * A claim of a `WaitForFirstConsumer` class waits until the scheduler has set
 * `volume.kubernetes.io/selected-node`; the provisioner then creates `pvc-<claim uid>`, a
 * hostPath volume under that node's local-path root with node affinity to it and the claim
 * already in its claimRef. When the claim goes, the volume is `Released`; `Retain` keeps it,
 * `Delete` deletes the object and the node's agent removes the directory (shared/local_path.ts).
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { runController } from "../../shared/controller.ts";
import { isAlreadyExists, isNotFound } from "../../shared/errors.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { Lister } from "../../shared/lister.ts";
import {
  LOCAL_PATH_CLEANUP_FINALIZER,
  LOCAL_PATH_NODE_LABEL,
  LOCAL_PATH_PROVISIONER,
  LOCAL_PATH_ROOT_ANNOTATION,
  PROVISIONED_BY_ANNOTATION,
} from "../../shared/local_path.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  NODES,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  STORAGE_CLASSES,
} from "../../shared/client/refs.ts";
import { rfc3339 } from "../../shared/time.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import {
  claimRefMatches,
  defaultStorageClassName,
  findMatchingVolume,
  storageClassOf,
} from "./volume_match.ts";

/** The claim annotation the scheduler sets once it has picked a node for a WFFC claim. */
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/** Set on a claim once its binding is complete. */
export const BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed";
/** Set on the side of a binding that this controller (not the user) wrote. */
export const BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller";
/** The provisioner Kubernetes uses for classes of statically created volumes. */
export const NO_PROVISIONER = "kubernetes.io/no-provisioner";

/** The caches {@linkcode PersistentVolumeController} reads. */
export interface PersistentVolumeListers {
  claims: Lister<KubeObject>;
  volumes: Lister<KubeObject>;
  classes: Lister<KubeObject>;
  nodes: Lister<KubeObject>;
}

/** What {@linkcode PersistentVolumeController} reads and writes with. */
export interface PersistentVolumeControllerDeps {
  listers: PersistentVolumeListers;
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Asks for a claim to be synced again (after its volume changed). */
  enqueueClaim?: (key: string) => void;
}

const claimKind = (pvc: KubeObject) => ({
  ...pvc,
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
});
const volumeKind = (pv: KubeObject) => ({ ...pv, apiVersion: "v1", kind: "PersistentVolume" });

/** The binder and provisioner; `syncClaim` and `syncVolume` are its two reconciles. */
export class PersistentVolumeController {
  readonly #l: PersistentVolumeListers;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #enqueueClaim: (key: string) => void;

  constructor(deps: PersistentVolumeControllerDeps) {
    this.#l = deps.listers;
    this.#client = deps.client;
    this.#recorder = deps.recorder;
    this.#clock = deps.clock ?? realClock;
    this.#enqueueClaim = deps.enqueueClaim ?? (() => {});
  }

  /** Reconciles the claim `namespace/name`. */
  async syncClaim(key: string): Promise<void> {
    const pvc = this.#l.claims.get(key);
    if (!pvc) return;
    if (!pvc.spec?.volumeName) await this.#bindUnboundClaim(pvc);
    else await this.#syncBoundClaim(pvc);
  }

  /** Reconciles the volume `name`. */
  async syncVolume(name: string): Promise<void> {
    const pv = this.#l.volumes.get(name);
    if (!pv || pv.metadata.deletionTimestamp) return;
    const ref = pv.spec?.claimRef;
    if (!ref) {
      await this.#setVolumePhase(pv, "Available");
      return;
    }
    const claim = this.#l.claims.get(`${ref.namespace}/${ref.name}`);
    if (claim && (!ref.uid || ref.uid === claim.metadata.uid)) {
      await this.#syncVolumeWithClaim(pv, claim);
      return;
    }
    // Pre-bound by a user to a claim that does not exist yet: wait for it, available.
    if (!ref.uid) {
      await this.#setVolumePhase(pv, "Available");
      return;
    }
    await this.#reclaim(pv);
  }

  // -- claims -----------------------------------------------------------------------------------

  async #bindUnboundClaim(pvc: KubeObject): Promise<void> {
    if (await this.#assignDefaultClass(pvc)) return;
    // A volume whose claimRef already names this claim (provisioned for it, chosen by the
    // scheduler, or pre-bound by a user) completes the binding.
    const claimed = this.#l.volumes.list().find((pv) => claimRefMatches(pv, pvc));
    if (claimed) {
      await this.#bindClaimToVolume(pvc, claimed);
      return;
    }
    const className = storageClassOf(pvc);
    const sc = className ? this.#l.classes.get(className) : undefined;
    if (className && !sc) {
      this.#event(
        pvc,
        "Warning",
        "ProvisioningFailed",
        `storageclass.storage.k8s.io "${className}" not found`,
      );
      return;
    }
    const waitForConsumer = sc?.volumeBindingMode === "WaitForFirstConsumer";
    const selectedNode: string | undefined = pvc.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (waitForConsumer && !selectedNode) {
      this.#event(
        pvc,
        "Normal",
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
      );
      return;
    }
    const node = waitForConsumer ? this.#l.nodes.get(selectedNode!) : undefined;
    const match = waitForConsumer && !node
      ? undefined
      : findMatchingVolume(pvc, this.#l.volumes.list(), { node });
    if (match) {
      await this.#bindVolumeToClaim(match, pvc);
      return;
    }
    if (sc?.provisioner === LOCAL_PATH_PROVISIONER) {
      await this.#provisionLocalPath(pvc, sc, selectedNode!);
      return;
    }
    if (sc && sc.provisioner !== NO_PROVISIONER) {
      this.#event(
        pvc,
        "Normal",
        "ExternalProvisioning",
        `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' ` +
          "or manually by the system administrator. If volume creation is delayed, please verify " +
          "that the provisioner is running and correctly registered.",
      );
      return;
    }
    this.#event(
      pvc,
      "Normal",
      "FailedBinding",
      className
        ? "no persistent volumes available for this claim"
        : "no persistent volumes available for this claim and no storage class is set",
    );
  }

  /**
   * An unbound claim created without a class (before any default existed) gets the default class
   * once there is one, as Kubernetes' retroactive default StorageClass assignment. Returns
   * whether it wrote (the update's event brings the claim back).
   */
  async #assignDefaultClass(pvc: KubeObject): Promise<boolean> {
    if (pvc.spec?.storageClassName !== undefined) return false;
    if (pvc.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] !== undefined) {
      return false;
    }
    const name = defaultStorageClassName(this.#l.classes.list());
    if (name === undefined) return false;
    const next = structuredClone(pvc);
    next.spec.storageClassName = name;
    await this.#client.update(PERSISTENT_VOLUME_CLAIMS, next);
    return true;
  }

  async #syncBoundClaim(pvc: KubeObject): Promise<void> {
    const name: string = pvc.spec.volumeName;
    const pv = this.#l.volumes.get(name);
    if (!pv) {
      if (pvc.status?.phase === "Bound") {
        await this.#setClaimLost(
          pvc,
          "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        );
      }
      return;
    }
    const ref = pv.spec?.claimRef;
    if (!ref) {
      // The user named the volume in the claim: bind the volume's side.
      await this.#bindVolumeToClaim(pv, pvc);
      return;
    }
    if (!claimRefMatches(pv, pvc)) {
      if (pvc.status?.phase === "Bound") {
        await this.#setClaimLost(
          pvc,
          "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        );
      } else {
        this.#event(
          pvc,
          "Warning",
          "FailedBinding",
          `volume "${name}" already bound to a different claim.`,
        );
      }
      return;
    }
    if (!ref.uid) {
      await this.#bindVolumeToClaim(pv, pvc);
      return;
    }
    if (pvc.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== "yes") {
      await this.#bindClaimToVolume(pvc, pv);
      return;
    }
    await this.#setClaimBound(pvc, pv);
    await this.#setVolumePhase(pv, "Bound");
  }

  /** Writes the claim's side of a binding: volumeName and the binding annotations. */
  async #bindClaimToVolume(pvc: KubeObject, pv: KubeObject): Promise<void> {
    let claim = pvc;
    if (
      pvc.spec.volumeName !== pv.metadata.name ||
      pvc.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== "yes"
    ) {
      const next = structuredClone(pvc);
      const annotations: Record<string, string> = { ...next.metadata.annotations };
      if (next.spec.volumeName !== pv.metadata.name) {
        next.spec.volumeName = pv.metadata.name;
        annotations[BOUND_BY_CONTROLLER_ANNOTATION] = "yes";
      }
      annotations[BIND_COMPLETED_ANNOTATION] = "yes";
      next.metadata.annotations = annotations;
      claim = await this.#client.update(PERSISTENT_VOLUME_CLAIMS, next);
    }
    await this.#setClaimBound(claim, pv);
  }

  async #setClaimBound(pvc: KubeObject, pv: KubeObject): Promise<void> {
    const status = pvc.status ?? {};
    const want = { accessModes: pv.spec?.accessModes, capacity: pv.spec?.capacity };
    if (
      status.phase === "Bound" &&
      JSON.stringify([status.accessModes, status.capacity]) ===
        JSON.stringify([want.accessModes, want.capacity])
    ) return;
    const next = structuredClone(pvc);
    next.status = { ...next.status, phase: "Bound", ...want };
    await this.#client.updateStatus(PERSISTENT_VOLUME_CLAIMS, next);
  }

  async #setClaimLost(pvc: KubeObject, message: string): Promise<void> {
    if (pvc.status?.phase === "Lost") return;
    this.#event(pvc, "Warning", "ClaimLost", message);
    const next = structuredClone(pvc);
    next.status = { ...next.status, phase: "Lost" };
    await this.#client.updateStatus(PERSISTENT_VOLUME_CLAIMS, next);
  }

  /** Creates the claim's volume on its selected node; the next sync binds it. */
  async #provisionLocalPath(pvc: KubeObject, sc: KubeObject, nodeName: string): Promise<void> {
    const node = this.#l.nodes.get(nodeName);
    const root: string | undefined = node?.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION];
    if (!node || !root) {
      const why = !node
        ? `node "${nodeName}" not found`
        : `node "${nodeName}" does not publish ${LOCAL_PATH_ROOT_ANNOTATION} (is its agent running?)`;
      this.#event(
        pvc,
        "Warning",
        "ProvisioningFailed",
        `failed to provision volume with StorageClass "${sc.metadata.name}": ${why}`,
      );
      throw new Error(why);
    }
    const pv = localPathVolume(pvc, sc, { node, root });
    try {
      await this.#client.create(PERSISTENT_VOLUMES, pv);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.#event(
          pvc,
          "Warning",
          "ProvisioningFailed",
          `failed to provision volume with StorageClass "${sc.metadata.name}": ${
            (e as Error).message
          }`,
        );
        throw e;
      }
    }
    this.#event(
      pvc,
      "Normal",
      "ProvisioningSucceeded",
      `Successfully provisioned volume ${pv.metadata.name} using ${LOCAL_PATH_PROVISIONER}`,
    );
  }

  // -- volumes ----------------------------------------------------------------------------------

  async #syncVolumeWithClaim(pv: KubeObject, claim: KubeObject): Promise<void> {
    const bound = claim.spec?.volumeName;
    if (bound === pv.metadata.name) {
      await this.#setVolumePhase(pv, "Bound");
      return;
    }
    if (!bound) {
      // The claim's side is not written yet: its own sync does that.
      this.#enqueueClaim(`${claim.metadata.namespace}/${claim.metadata.name}`);
      return;
    }
    // The claim went to another volume: undo a binding we made, leave a user's pre-binding.
    if (pv.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION] === "yes") {
      const next = structuredClone(pv);
      delete next.spec.claimRef;
      delete next.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION];
      const updated = await this.#client.update(PERSISTENT_VOLUMES, next);
      await this.#setVolumePhase(updated, "Available");
    }
  }

  /** Writes the volume's side of a binding: claimRef with the claim's uid. */
  async #bindVolumeToClaim(pv: KubeObject, pvc: KubeObject): Promise<void> {
    const next = structuredClone(pv);
    if (!next.spec.claimRef) {
      next.metadata.annotations = {
        ...next.metadata.annotations,
        [BOUND_BY_CONTROLLER_ANNOTATION]: "yes",
      };
    }
    next.spec.claimRef = claimReference(pvc);
    const updated = await this.#client.update(PERSISTENT_VOLUMES, next);
    await this.#setVolumePhase(updated, "Bound");
  }

  /** The claim of a bound volume is gone: Released, then the reclaim policy. */
  async #reclaim(pv: KubeObject): Promise<void> {
    const current = await this.#setVolumePhase(
      pv,
      pv.status?.phase === "Failed" ? "Failed" : "Released",
    );
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? "Retain";
    if (policy !== "Delete") return;
    if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER) {
      const message = `error getting deleter volume plugin for volume "${pv.metadata.name}": ` +
        "no deletable volume plugin matched";
      if (current.status?.phase !== "Failed") {
        this.#event(pv, "Warning", "VolumeFailedDelete", message);
        await this.#setVolumePhase(current, "Failed", message);
      }
      return;
    }
    try {
      await this.#client.delete(PERSISTENT_VOLUMES, pv.metadata.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #setVolumePhase(pv: KubeObject, phase: string, message?: string): Promise<KubeObject> {
    if (pv.status?.phase === phase && (message === undefined || pv.status?.message === message)) {
      return pv;
    }
    const next = structuredClone(pv);
    next.status = {
      phase,
      ...(message ? { message } : {}),
      lastPhaseTransitionTime: rfc3339(new Date(this.#clock.now())),
    };
    return await this.#client.updateStatus(PERSISTENT_VOLUMES, next);
  }

  #event(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    // Volumes always have a capacity (validation requires it), claims never.
    const ref = obj.kind ? obj : obj.spec?.capacity ? volumeKind(obj) : claimKind(obj);
    this.#recorder.record(ref, type, reason, message);
  }
}

/** The claimRef a volume bound to `pvc` carries. */
export function claimReference(pvc: KubeObject): Record<string, string> {
  return {
    kind: "PersistentVolumeClaim",
    apiVersion: "v1",
    namespace: pvc.metadata.namespace!,
    name: pvc.metadata.name!,
    uid: pvc.metadata.uid!,
    resourceVersion: pvc.metadata.resourceVersion!,
  };
}

/** The volume the local-path provisioner makes for `pvc` on `node`. */
export function localPathVolume(
  pvc: KubeObject,
  sc: KubeObject,
  options: { node: KubeObject; root: string },
): KubeObject {
  const name = `pvc-${pvc.metadata.uid}`;
  const nodeName = options.node.metadata.name!;
  const hostname = options.node.metadata.labels?.["kubernetes.io/hostname"] ?? nodeName;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      labels: { [LOCAL_PATH_NODE_LABEL]: nodeName },
      annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER },
      finalizers: [LOCAL_PATH_CLEANUP_FINALIZER],
    },
    spec: {
      capacity: { storage: pvc.spec.resources.requests.storage },
      accessModes: pvc.spec.accessModes,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: "Filesystem",
      claimRef: claimReference(pvc),
      hostPath: { path: `${options.root}/${name}`, type: "DirectoryOrCreate" },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{
              key: "kubernetes.io/hostname",
              operator: "In",
              values: [hostname],
            }],
          }],
        },
      },
    },
  };
}

/** Options of {@linkcode runPersistentVolumeController}. */
export interface PersistentVolumeControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
}

/** Runs the binder/provisioner over the shared informers until `signal` aborts. */
export async function runPersistentVolumeController(
  options: PersistentVolumeControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("persistentvolume-binder");
  const claims = informers.get(PERSISTENT_VOLUME_CLAIMS);
  const volumes = informers.get(PERSISTENT_VOLUMES);
  const classes = informers.get(STORAGE_CLASSES);
  const nodes = informers.get(NODES);
  const claimQueue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  const volumeQueue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  const claimKey = (c: KubeObject) => `${c.metadata.namespace}/${c.metadata.name}`;
  claims.addEventHandler({
    onAdd: (c) => claimQueue.add(claimKey(c)),
    onUpdate: (_, c) => claimQueue.add(claimKey(c)),
    onDelete: (c) => {
      // Its volume is released.
      if (c.spec?.volumeName) volumeQueue.add(c.spec.volumeName);
      for (const pv of volumes.list()) {
        if (claimRefMatches(pv, c)) volumeQueue.add(pv.metadata.name!);
      }
    },
  });
  const onVolume = (pv: KubeObject) => {
    volumeQueue.add(pv.metadata.name!);
    const ref = pv.spec?.claimRef;
    if (ref) claimQueue.add(`${ref.namespace}/${ref.name}`);
  };
  volumes.addEventHandler({
    onAdd: onVolume,
    onUpdate: (_, pv) => onVolume(pv),
    onDelete: onVolume,
  });
  // A new default class reaches claims created without one.
  classes.onAdd(() => {
    for (const c of claims.list()) if (!c.spec?.volumeName) claimQueue.add(claimKey(c));
  });
  // A node publishing its local-path root lets waiting provisioning go on.
  nodes.onUpdate((old, n) => {
    if (
      old.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION] !==
        n.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION]
    ) {
      for (const c of claims.list()) {
        if (c.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === n.metadata.name) {
          claimQueue.add(claimKey(c));
        }
      }
    }
  });
  const controller = new PersistentVolumeController({
    listers: { claims, volumes, classes, nodes },
    client: informers.client,
    recorder: options.recorder,
    enqueueClaim: (key) => claimQueue.add(key),
  });
  const cached = [claims, volumes, classes, nodes];
  await Promise.all([
    runController({
      name: "persistentvolume-binder-claims",
      queue: claimQueue,
      reconcile: (key) => controller.syncClaim(key),
      informers: cached,
      logger,
    }, signal),
    runController({
      name: "persistentvolume-binder-volumes",
      queue: volumeQueue,
      reconcile: (key) => controller.syncVolume(key),
      informers: cached,
      logger,
    }, signal),
  ]);
}
