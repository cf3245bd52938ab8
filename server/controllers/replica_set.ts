/**
 * The ReplicaSet controller, and the ReplicationController through a small adapter over the same
 * core: keep `spec.replicas` pods matching the selector, owned through a controller
 * ownerReference. Matching orphans are adopted, owned pods that stop matching are released;
 * creations go in slow-start batches (1, 2, 4, …) so a broken template can't flood the API;
 * scale-down removes unscheduled, then not-ready, then newest pods first; expectations keep it
 * from acting twice while its informer catches up. Status: replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas (minReadySeconds), observedGeneration.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { PODS, REPLICASETS, REPLICATION_CONTROLLERS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder } from "../../shared/events.ts";
import { type Selector, selectorFromLabelSelector, selectorFromSet } from "../../shared/labels.ts";
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
import type { InformerSet } from "./informer_set.ts";

/** What differs between ReplicaSet and ReplicationController. */
export interface ReplicaControllerKind {
  ref: ResourceRef;
  apiVersion: string;
  kind: string;
  /** The pod selector of an object of this kind. */
  selector(obj: KubeObject): Selector;
}

/** apps/v1 ReplicaSet: a structured `spec.selector`. */
export const REPLICA_SET_KIND: ReplicaControllerKind = {
  ref: REPLICASETS,
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  selector: (rs) => selectorFromLabelSelector(rs.spec?.selector),
};

/** core/v1 ReplicationController: a plain label map, defaulting to the template's labels. */
export const REPLICATION_CONTROLLER_KIND: ReplicaControllerKind = {
  ref: REPLICATION_CONTROLLERS,
  apiVersion: "v1",
  kind: "ReplicationController",
  selector: (rc) => {
    const set = rc.spec?.selector ?? rc.spec?.template?.metadata?.labels;
    // An empty selector would select every pod in the namespace: select nothing instead.
    return set && Object.keys(set).length > 0
      ? selectorFromSet(set)
      : selectorFromLabelSelector(null);
  },
};

/** Options of {@linkcode runReplicaSetController}. */
export interface ReplicaSetControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
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
  const { informers, recorder } = options;
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child(type.kind.toLowerCase());
  const burst = options.burstReplicas ?? 500;
  const owners = informers.get(type.ref);
  const pods = informers.get(PODS);
  ensureControllerIndex(pods);
  const queue = new WorkQueue();
  const expectations = new Expectations();

  const selectorCache = new WeakMap<KubeObject, Selector | null>();
  const selectorOf = (o: KubeObject): Selector | null => {
    let s = selectorCache.get(o);
    if (s === undefined) {
      try {
        s = type.selector(o);
      } catch {
        s = null;
      }
      selectorCache.set(o, s);
    }
    return s;
  };

  /** Owners a pod belongs or may be adopted by: its controller, or matching owners if orphan. */
  const ownersOfPod = (pod: KubeObject): string[] => {
    const ref = controllerRef(pod);
    const ns = pod.metadata.namespace!;
    if (ref) return ref.kind === type.kind ? [`${ns}/${ref.name}`] : [];
    const out: string[] = [];
    for (const o of owners.byIndex("namespace", ns)) {
      if (selectorOf(o)?.matches(pod.metadata.labels)) out.push(keyOf(o));
    }
    return out;
  };

  owners.addEventHandler({
    onAdd: (o) => queue.add(keyOf(o)),
    onUpdate: (_old, o) => queue.add(keyOf(o)),
    onDelete: (o) => {
      expectations.delete(keyOf(o));
      queue.add(keyOf(o));
    },
  });
  // Pod events arrive in storms (10,000 pods of one ReplicaSet): collapse those within a short
  // window into one reconcile, which reads every pod anyway.
  const podQueue = (key: string) => queue.addAfter(key, options.podBatchMs ?? 100);
  pods.addEventHandler({
    onAdd: (pod) => {
      const ref = controllerRef(pod);
      if (ref?.kind === type.kind) expectations.observeAdd(`${pod.metadata.namespace}/${ref.name}`);
      if (pod.metadata.deletionTimestamp && ref?.kind === type.kind) {
        expectations.observeDelete(`${pod.metadata.namespace}/${ref.name}`, keyOf(pod));
      }
      for (const k of ownersOfPod(pod)) podQueue(k);
    },
    onUpdate: (old, pod) => {
      if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) {
        const ref = controllerRef(pod);
        if (ref?.kind === type.kind) {
          expectations.observeDelete(`${pod.metadata.namespace}/${ref.name}`, keyOf(pod));
        }
      }
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      const keys = new Set(ownersOfPod(pod));
      // Labels or owner changed: the previous owner must notice it lost the pod.
      for (const k of ownersOfPod(old)) keys.add(k);
      for (const k of keys) podQueue(k);
    },
    onDelete: (pod) => {
      const ref = controllerRef(pod);
      if (ref?.kind === type.kind) {
        expectations.observeDelete(`${pod.metadata.namespace}/${ref.name}`, keyOf(pod));
      }
      for (const k of ownersOfPod(pod)) podQueue(k);
    },
  });

  const reconcile = async (key: string) => {
    const owner = owners.get(key);
    if (!owner) {
      expectations.delete(key);
      return;
    }
    const ns = owner.metadata.namespace!;
    const selector = selectorOf(owner);
    const uid = owner.metadata.uid!;
    const deleting = !!owner.metadata.deletionTimestamp;

    // Claim: owned pods that match, adopt matching orphans, release owned pods that don't.
    const owned: KubeObject[] = [];
    const candidates = [
      ...pods.byIndex(CONTROLLER_INDEX, uid),
      ...pods.byIndex(CONTROLLER_INDEX, orphanIndexValue(ns)),
    ];
    for (const pod of candidates) {
      const ref = controllerRef(pod);
      const matches = selector?.matches(pod.metadata.labels) ?? false;
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches || deleting) {
          owned.push(pod);
          continue;
        }
        await patchOwnerRefs(pod, (refs) => refs.filter((r) => r.uid !== uid));
        continue;
      }
      if (!matches || deleting || pod.metadata.deletionTimestamp || !isPodActive(pod)) continue;
      const adopted = await patchOwnerRefs(pod, (refs) => [
        ...refs,
        newControllerRef(owner, type),
      ]);
      if (adopted) owned.push(adopted);
    }
    const active = owned.filter(isPodActive);

    let manageError: unknown;
    if (!deleting && expectations.satisfied(key)) {
      try {
        await manage(key, owner, active);
      } catch (err) {
        manageError = err;
      }
    }
    const requeueMs = await updateStatus(owner, active);
    if (requeueMs !== undefined) queue.addAfter(key, requeueMs);
    if (manageError) throw manageError;
  };

  /** Patches a pod's ownerReferences (uid-checked); returns the new pod, or undefined if gone. */
  const patchOwnerRefs = async (
    pod: KubeObject,
    edit: (refs: NonNullable<KubeObject["metadata"]["ownerReferences"]>) => typeof refs,
  ): Promise<KubeObject | undefined> => {
    const refs = pod.metadata.ownerReferences ?? [];
    try {
      return await client.patch(PODS, pod.metadata.name!, {
        metadata: { uid: pod.metadata.uid, ownerReferences: edit(refs) },
      }, { namespace: pod.metadata.namespace, type: "merge" });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return undefined;
      throw err;
    }
  };

  const manage = async (key: string, owner: KubeObject, active: KubeObject[]) => {
    const want = owner.spec?.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const total = Math.min(-diff, burst);
      expectations.expectAdds(key, total);
      let created = 0;
      let batch = 1;
      let failure: unknown;
      while (created < total && !failure) {
        const n = Math.min(batch, total - created);
        const results = await Promise.allSettled(
          Array.from({ length: n }, () => createPod(owner)),
        );
        for (const r of results) {
          if (r.status === "rejected") {
            failure ??= r.reason;
            expectations.observeAdd(key);
          }
        }
        created += n;
        batch *= 2;
      }
      // Pods never attempted will never be observed.
      for (let i = created; i < total; i++) expectations.observeAdd(key);
      if (failure) {
        recorder.record(
          withKind(owner, type),
          "Warning",
          "FailedCreate",
          `Error creating: ${(failure as Error).message}`,
        );
        throw failure;
      }
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, burst));
      expectations.expectDeletes(key, victims.map(keyOf));
      const results = await Promise.allSettled(victims.map(async (pod) => {
        try {
          await client.delete(PODS, pod.metadata.name!, {
            namespace: pod.metadata.namespace,
            preconditions: { uid: pod.metadata.uid },
          });
          recorder.record(
            withKind(owner, type),
            "Normal",
            "SuccessfulDelete",
            `Deleted pod: ${pod.metadata.name}`,
          );
        } catch (err) {
          expectations.observeDelete(key, keyOf(pod));
          if (!isNotFound(err)) throw err;
        }
      }));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  };

  const createPod = async (owner: KubeObject) => {
    const template = owner.spec?.template ?? {};
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${owner.metadata.name}-`,
        namespace: owner.metadata.namespace,
        labels: { ...template.metadata?.labels },
        ownerReferences: [newControllerRef(owner, type)],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    if (template.metadata?.annotations) {
      pod.metadata.annotations = { ...template.metadata.annotations };
    }
    if (template.metadata?.finalizers) pod.metadata.finalizers = [...template.metadata.finalizers];
    const created = await client.create(PODS, pod, { namespace: owner.metadata.namespace });
    recorder.record(
      withKind(owner, type),
      "Normal",
      "SuccessfulCreate",
      `Created pod: ${created.metadata.name}`,
    );
  };

  /** Writes status if it changed; returns ms after which availability must be re-checked. */
  const updateStatus = async (
    owner: KubeObject,
    active: KubeObject[],
  ): Promise<number | undefined> => {
    const minReady = owner.spec?.minReadySeconds ?? 0;
    const now = Date.now();
    const templateLabels = (owner.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
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
    const old = owner.status ?? {};
    const status: Record<string, unknown> = {
      ...old,
      replicas: active.length,
      fullyLabeledReplicas: fully,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: owner.metadata.generation ?? old.observedGeneration,
    };
    if (
      old.replicas !== status.replicas || old.fullyLabeledReplicas !== fully ||
      old.readyReplicas !== ready || old.availableReplicas !== available ||
      old.observedGeneration !== status.observedGeneration
    ) {
      try {
        await client.updateStatus(type.ref, { ...owner, status });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err; // a conflict retries with the fresher cache
      }
    }
    return recheck === undefined ? undefined : recheck + 10;
  };

  await runController({
    name: type.kind.toLowerCase(),
    queue,
    reconcile,
    informers: [owners, pods],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}

function withKind(owner: KubeObject, type: ReplicaControllerKind): KubeObject {
  return owner.kind ? owner : { ...owner, kind: type.kind, apiVersion: type.apiVersion };
}

function rank(pod: KubeObject): number {
  // Lower goes first: unscheduled, then pending, then not ready, then ready.
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === "Pending") return 1;
  if (phase === "Unknown") return 2;
  if (!isPodReady(pod)) return 3;
  return 4;
}

/** Scale-down order: unscheduled, then not ready, then the newest first. */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? 1 : -1;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? 1 : -1;
}
