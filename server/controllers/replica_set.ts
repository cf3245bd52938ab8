/**
 * The ReplicaSet controller, and the ReplicationController through a small adapter over the same
 * core: keep `spec.replicas` pods matching the selector, owned through a controller
 * ownerReference. Matching orphans are adopted, owned pods that stop matching are released;
 * creations go in slow-start batches (1, 2, 4, …) so a broken template can't flood the API;
 * scale-down removes unscheduled, then not-ready, then newest pods first; expectations keep it
 * from acting twice while its informer catches up. Status: replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas (minReadySeconds), observedGeneration.
 *
 * `ReplicaSetReconciler.reconcile(key)` is kube-controller-manager's `syncReplicaSet`:
 * `claimPods` → `manageReplicas` → `calculateStatus` → `updateReplicaSetStatus`.
 */
import type { ReplicaSet } from "../../shared/api/apps_v1.ts";
import type { Pod, ReplicationController } from "../../shared/api/core_v1.ts";
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { PODS, REPLICASETS, REPLICATION_CONTROLLERS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Selector, selectorFromLabelSelector, selectorFromSet } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  Expectations,
  isPodActive,
  isPodReady,
  keyOf,
  newControllerRef,
  orphanIndexValue,
  podAvailability,
} from "./controller_utils.ts";

/** A ReplicaSet or a ReplicationController: what this controller scales. */
export type ReplicaOwner = ReplicaSet | ReplicationController;

/** The status this controller writes (common to both kinds). */
export type ReplicaOwnerStatus = ReplicationController["status"];

/** What differs between ReplicaSet and ReplicationController. */
export interface ReplicaControllerKind {
  ref: ResourceRef;
  apiVersion: string;
  kind: string;
  /** The pod selector of an object of this kind. */
  selector(obj: ReplicaOwner): Selector;
}

/** apps/v1 ReplicaSet: a structured `spec.selector`. */
export const REPLICA_SET_KIND: ReplicaControllerKind = {
  ref: REPLICASETS,
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  selector: (rs) => selectorFromLabelSelector((rs as ReplicaSet).spec.selector),
};

/** core/v1 ReplicationController: a plain label map, defaulting to the template's labels. */
export const REPLICATION_CONTROLLER_KIND: ReplicaControllerKind = {
  ref: REPLICATION_CONTROLLERS,
  apiVersion: "v1",
  kind: "ReplicationController",
  selector: (rc) => {
    const set = (rc as ReplicationController).spec.selector ?? rc.spec.template?.metadata?.labels;
    // An empty selector would select every pod in the namespace: select nothing instead.
    return set && Object.keys(set).length > 0
      ? selectorFromSet(set)
      : selectorFromLabelSelector(null);
  },
};

/** What {@linkcode ReplicaSetReconciler} reads and writes with. */
export interface ReplicaSetReconcilerOptions {
  listers: { owners: Lister<ReplicaOwner>; pods: Lister<Pod> };
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Which kind to manage (default ReplicaSet). */
  type?: ReplicaControllerKind;
  /** Most pods created or deleted in one reconcile (Kubernetes' burstReplicas, 500). */
  burstReplicas?: number;
  /** Re-queues `key` after `ms` (to re-check availability once minReadySeconds pass). */
  enqueueAfter?: (key: string, ms: number) => void;
}

/** Keeps the pods of one ReplicaSet (or ReplicationController) at its desired count. */
export class ReplicaSetReconciler {
  /** Creations and deletions asked for but not yet seen; fed by {@linkcode observePod}. */
  readonly expectations: Expectations = new Expectations();
  readonly type: ReplicaControllerKind;
  readonly #owners: Lister<ReplicaOwner>;
  readonly #pods: Lister<Pod>;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #enqueueAfter: (key: string, ms: number) => void;
  readonly #selectors = new WeakMap<ReplicaOwner, Selector | null>();

  constructor(o: ReplicaSetReconcilerOptions) {
    this.type = o.type ?? REPLICA_SET_KIND;
    this.#owners = o.listers.owners;
    this.#pods = o.listers.pods;
    this.#client = o.client;
    this.#recorder = o.recorder;
    this.#clock = o.clock ?? realClock;
    this.#burst = o.burstReplicas ?? 500;
    this.#enqueueAfter = o.enqueueAfter ?? (() => {});
    ensureControllerIndex(this.#pods);
  }

  /** The owner's pod selector (cached per object); null when it does not parse. */
  selectorOf(owner: ReplicaOwner): Selector | null {
    let s = this.#selectors.get(owner);
    if (s === undefined) {
      try {
        s = this.type.selector(owner);
      } catch {
        s = null;
      }
      this.#selectors.set(owner, s);
    }
    return s;
  }

  /** Owners a pod belongs or may be adopted by: its controller, or matching owners if orphan. */
  ownersOfPod(pod: Pod): string[] {
    const ref = controllerRef(pod);
    const ns = pod.metadata.namespace!;
    if (ref) return ref.kind === this.type.kind ? [`${ns}/${ref.name}`] : [];
    return this.#owners.listNamespace(ns)
      .filter((o) => this.selectorOf(o)?.matches(pod.metadata.labels))
      .map(keyOf);
  }

  /**
   * Records what a pod event tells the expectations (a creation or deletion observed) and
   * returns the owner keys to reconcile. `old` is the previous state for updates.
   */
  observePod(pod: Pod, change: "add" | "update" | "delete", old?: Pod): string[] {
    const ref = controllerRef(pod);
    const owner = ref?.kind === this.type.kind ? `${pod.metadata.namespace}/${ref.name}` : "";
    if (owner && change === "add") this.expectations.observeAdd(owner);
    const deleting = change === "delete" ||
      (!!pod.metadata.deletionTimestamp && (change === "add" || !old?.metadata.deletionTimestamp));
    if (owner && deleting) this.expectations.observeDelete(owner, keyOf(pod));
    if (change === "update" && old?.metadata.resourceVersion === pod.metadata.resourceVersion) {
      return [];
    }
    const keys = new Set(this.ownersOfPod(pod));
    // Labels or owner changed: the previous owner must notice it lost the pod.
    if (old) { for (const k of this.ownersOfPod(old)) keys.add(k); }
    return [...keys];
  }

  /** syncReplicaSet: claim pods, create or delete the difference, write status. */
  async reconcile(key: string): Promise<void> {
    const owner = this.#owners.get(key);
    if (!owner) {
      this.expectations.delete(key);
      return;
    }
    const active = (await this.claimPods(owner)).filter(isPodActive);
    let manageError: unknown;
    if (!owner.metadata.deletionTimestamp && this.expectations.satisfied(key)) {
      try {
        await this.manageReplicas(key, owner, active);
      } catch (err) {
        manageError = err;
      }
    }
    const { status, recheckMs } = this.calculateStatus(owner, active);
    await this.updateReplicaSetStatus(owner, status);
    if (recheckMs !== undefined) this.#enqueueAfter(key, recheckMs);
    if (manageError) throw manageError;
  }

  /**
   * ClaimPods: the owner's pods that still match, plus matching active orphans (adopted by
   * patching a controller reference in); owned pods that no longer match are released. While
   * the owner is being deleted it keeps what it has and adopts nothing.
   */
  async claimPods(owner: ReplicaOwner): Promise<Pod[]> {
    const uid = owner.metadata.uid!;
    const selector = this.selectorOf(owner);
    const deleting = !!owner.metadata.deletionTimestamp;
    const candidates = [
      ...this.#pods.byIndex(CONTROLLER_INDEX, uid),
      ...this.#pods.byIndex(CONTROLLER_INDEX, orphanIndexValue(owner.metadata.namespace!)),
    ];
    const owned: Pod[] = [];
    for (const pod of candidates) {
      const ref = controllerRef(pod);
      const matches = selector?.matches(pod.metadata.labels) ?? false;
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches || deleting) owned.push(pod);
        else await this.#patchOwnerRefs(pod, (refs) => refs.filter((r) => r.uid !== uid));
        continue;
      }
      if (!matches || deleting || pod.metadata.deletionTimestamp || !isPodActive(pod)) continue;
      const ownerRef = newControllerRef(owner, this.type);
      const adopted = await this.#patchOwnerRefs(pod, (refs) => [...refs, ownerRef]);
      if (adopted) owned.push(adopted);
    }
    return owned;
  }

  /** Patches a pod's ownerReferences (uid-checked); returns the new pod, or undefined if gone. */
  async #patchOwnerRefs(
    pod: Pod,
    edit: (refs: OwnerReference[]) => OwnerReference[],
  ): Promise<Pod | undefined> {
    try {
      return await this.#client.patch<Pod>(PODS, pod.metadata.name!, {
        metadata: {
          uid: pod.metadata.uid,
          ownerReferences: edit(pod.metadata.ownerReferences ?? []),
        },
      }, { namespace: pod.metadata.namespace, type: "merge" });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return undefined;
      throw err;
    }
  }

  /** manageReplicas: create or delete pods toward `spec.replicas`, at most burstReplicas at once. */
  async manageReplicas(key: string, owner: ReplicaOwner, active: Pod[]): Promise<void> {
    const diff = active.length - owner.spec.replicas;
    if (diff < 0) await this.createPods(key, owner, Math.min(-diff, this.#burst));
    else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, this.#burst));
      await this.deletePods(key, owner, victims);
    }
  }

  /** Creates `count` pods in slow-start batches (1, 2, 4, …), stopping at the first failure. */
  async createPods(key: string, owner: ReplicaOwner, count: number): Promise<void> {
    this.expectations.expectAdds(key, count);
    const { attempted, failure } = await slowStartBatch(count, () => this.createPod(owner));
    // Pods that failed or were never attempted will never be observed.
    for (let i = attempted.succeeded; i < count; i++) this.expectations.observeAdd(key);
    if (failure) {
      const message = `Error creating: ${(failure as Error).message}`;
      this.#recorder.record(this.#withKind(owner), "Warning", "FailedCreate", message);
      throw failure;
    }
  }

  /** Creates one pod from the owner's template, owned by it. */
  async createPod(owner: ReplicaOwner): Promise<void> {
    const created = await this.#client.create(PODS, podFromTemplate(owner, this.type), {
      namespace: owner.metadata.namespace,
    });
    const message = `Created pod: ${created.metadata.name}`;
    this.#recorder.record(this.#withKind(owner), "Normal", "SuccessfulCreate", message);
  }

  /** Deletes `victims` (uid preconditions); a pod already gone counts as deleted. */
  async deletePods(key: string, owner: ReplicaOwner, victims: Pod[]): Promise<void> {
    this.expectations.expectDeletes(key, victims.map(keyOf));
    const results = await Promise.allSettled(victims.map(async (pod) => {
      try {
        await this.#client.delete(PODS, pod.metadata.name!, {
          namespace: pod.metadata.namespace,
          preconditions: { uid: pod.metadata.uid },
        });
        const message = `Deleted pod: ${pod.metadata.name}`;
        this.#recorder.record(this.#withKind(owner), "Normal", "SuccessfulDelete", message);
      } catch (err) {
        this.expectations.observeDelete(key, keyOf(pod));
        if (!isNotFound(err)) throw err;
      }
    }));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * calculateStatus: the counts of the active pods, and the ms after which a pod that is ready
   * but not yet available for minReadySeconds must be looked at again.
   */
  calculateStatus(
    owner: ReplicaOwner,
    active: Pod[],
  ): { status: ReplicaOwnerStatus; recheckMs?: number } {
    const minReady = owner.spec.minReadySeconds ?? 0;
    const now = this.#clock.now();
    const templateLabels = owner.spec.template?.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let fully = 0;
    let recheck: number | undefined;
    for (const pod of active) {
      const labels = pod.metadata.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fully++;
      if (isPodReady(pod)) ready++;
      const a = podAvailability(pod, minReady, now);
      if (a === true) available++;
      else if (typeof a === "number") recheck = Math.min(recheck ?? a, a);
    }
    const status: ReplicaOwnerStatus = {
      ...owner.status,
      replicas: active.length,
      fullyLabeledReplicas: fully,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: owner.metadata.generation ?? owner.status?.observedGeneration,
    };
    return { status, recheckMs: recheck === undefined ? undefined : recheck + 10 };
  }

  /** updateReplicaSetStatus: writes `status` when a counted field changed. */
  async updateReplicaSetStatus(owner: ReplicaOwner, status: ReplicaOwnerStatus): Promise<void> {
    const old = owner.status ?? {};
    const fields = [
      "replicas",
      "fullyLabeledReplicas",
      "readyReplicas",
      "availableReplicas",
      "observedGeneration",
    ] as const;
    if (fields.every((f) => old[f] === status[f])) return;
    try {
      await this.#client.updateStatus(this.type.ref, { ...owner, status });
    } catch (err) {
      // A conflict throws: the retry reads the fresher cache.
      if (!isNotFound(err)) throw err;
    }
  }

  #withKind(owner: ReplicaOwner): KubeObject {
    return owner.kind
      ? owner
      : { ...owner, kind: this.type.kind, apiVersion: this.type.apiVersion };
  }
}

/**
 * Kubernetes' slowStartBatch: runs `fn` `count` times in batches of 1, 2, 4, … and stops after
 * the first batch with a failure. Returns how many calls were made and succeeded, and the first
 * error.
 */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ attempted: { calls: number; succeeded: number }; failure?: unknown }> {
  let calls = 0;
  let succeeded = 0;
  let failure: unknown;
  for (let batch = 1; calls < count && failure === undefined; batch *= 2) {
    const n = Math.min(batch, count - calls);
    const results = await Promise.allSettled(Array.from({ length: n }, fn));
    calls += n;
    for (const r of results) {
      if (r.status === "fulfilled") succeeded++;
      else failure ??= r.reason ?? new Error("pod creation failed");
    }
  }
  return { attempted: { calls, succeeded }, failure };
}

/** The pod an owner creates: its template's labels, annotations, finalizers and spec. */
export function podFromTemplate(
  owner: ReplicaOwner,
  type: { apiVersion: string; kind: string },
): KubeObject {
  const template = owner.spec.template;
  const meta = template?.metadata;
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...meta?.labels },
      ownerReferences: [newControllerRef(owner, type)],
    },
    spec: structuredClone(template?.spec ?? {}),
  };
  if (meta?.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta?.finalizers) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

function rank(pod: Pod): number {
  // Lower goes first: unscheduled, then pending, then not ready, then ready.
  if (!pod.spec.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === "Pending") return 1;
  if (phase === "Unknown") return 2;
  if (!isPodReady(pod)) return 3;
  return 4;
}

/** Scale-down order: unscheduled, then not ready, then the newest first. */
export function deletionOrder(a: Pod, b: Pod): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? 1 : -1;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? 1 : -1;
}

/** Options of {@linkcode runReplicaSetController}. */
export interface ReplicaSetControllerOptions {
  informers: InformerSet;
  recorder: Recorder;
  logger?: Logger;
  /** Which kind to manage (default ReplicaSet). */
  type?: ReplicaControllerKind;
  /** Parallel reconciles (default 5, as kube-controller-manager). */
  workers?: number;
  /** Most pods created or deleted in one reconcile (Kubernetes' burstReplicas, 500). */
  burstReplicas?: number;
  /** Pod events for one owner within this window cause one reconcile (default 100 ms). */
  podBatchMs?: number;
}

/** Runs the ReplicaSet (or ReplicationController) controller until `signal` aborts. */
export async function runReplicaSetController(
  options: ReplicaSetControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const type = options.type ?? REPLICA_SET_KIND;
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child(type.kind.toLowerCase());
  const owners = informers.get<ReplicaOwner>(type.ref);
  const pods = informers.get<Pod>(PODS);
  const queue = new WorkQueue();
  const reconciler = new ReplicaSetReconciler({
    listers: { owners, pods },
    client: informers.client,
    recorder: options.recorder,
    type,
    burstReplicas: options.burstReplicas,
    enqueueAfter: (key, ms) => queue.addAfter(key, ms),
  });
  owners.addEventHandler({
    onAdd: (o) => queue.add(keyOf(o)),
    onUpdate: (_old, o) => queue.add(keyOf(o)),
    onDelete: (o) => {
      reconciler.expectations.delete(keyOf(o));
      queue.add(keyOf(o));
    },
  });
  // Pod events arrive in storms (10,000 pods of one ReplicaSet): collapse those within a short
  // window into one reconcile, which reads every pod anyway.
  const podBatchMs = options.podBatchMs ?? 100;
  const enqueue = (keys: string[]) => keys.forEach((k) => queue.addAfter(k, podBatchMs));
  pods.addEventHandler({
    onAdd: (pod) => enqueue(reconciler.observePod(pod, "add")),
    onUpdate: (old, pod) => enqueue(reconciler.observePod(pod, "update", old)),
    onDelete: (pod) => enqueue(reconciler.observePod(pod, "delete")),
  });
  await runController({
    name: type.kind.toLowerCase(),
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [owners, pods],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}
