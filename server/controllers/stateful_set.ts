/**
 * The StatefulSet controller, shaped as kube-controller-manager's: `syncStatefulSet(key)` claims
 * the set's pods, `getStatefulSetRevisions` finds or creates the current and update
 * ControllerRevisions, `updateStatefulSet` creates, fixes and deletes pods one ordinal at a time
 * (`OrderedReady`: wait for each to be Running and Ready; `Parallel`: all at once), rolls
 * `RollingUpdate` from the highest ordinal down to `partition` (OnDelete leaves that to the
 * user), `updateStatefulSetStatus` writes the counters and revisions `kubectl rollout status`
 * reads, and `truncateHistory` keeps `revisionHistoryLimit` unused revisions.
 *
 * Pod `web-2` gets hostname `web-2`, subdomain `spec.serviceName`, the labels
 * `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
 * `controller-revision-hash`, and one PersistentVolumeClaim per `volumeClaimTemplates` entry named
 * `<claim>-web-2`, created before the pod and never deleted with it.
 * `persistentVolumeClaimRetentionPolicy` is honoured through owner references, as upstream: a
 * claim owned by the set (whenDeleted: Delete) or by its condemned pod (whenScaled: Delete) is
 * removed by the garbage collector.
 */
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import {
  CONTROLLERREVISIONS,
  PERSISTENT_VOLUME_CLAIMS,
  PODS,
  STATEFULSETS,
} from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  claimRevisions,
  createRevision,
  nextRevision,
  type Revision,
  revisionMatches,
  revisionTemplate,
  sortRevisions,
} from "./controller_history.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  isPodReady,
  keyOf,
  newControllerRef,
  orphanIndexValue,
  podAvailability,
} from "./controller_utils.ts";

/** Pod label naming the revision a pod was made from (the revision's name). */
export const STATEFULSET_REVISION_LABEL = "controller-revision-hash";
/** Pod label with the pod's own name (lets a Service select one member). */
export const STATEFULSET_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** Pod label with the pod's ordinal. */
export const STATEFULSET_POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
/** Revision label with the template hash. */
const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";
const STATEFULSET_TYPE = { apiVersion: "apps/v1", kind: "StatefulSet" };

// deno-lint-ignore no-explicit-any
type Any = any;

/** The caches the controller reads. */
export interface StatefulSetListers {
  statefulSets: Lister<KubeObject>;
  pods: Lister<KubeObject>;
  revisions: Lister<Revision>;
  claims: Lister<KubeObject>;
}

/** What {@linkcode StatefulSetController} is built from. */
export interface StatefulSetControllerOptions {
  listers: StatefulSetListers;
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
}

/** The status one pass computes, and when to look again. */
export interface StatefulSetSyncResult {
  status: Record<string, Any>;
  /** Sync again after this many ms (a pod becoming available after minReadySeconds). */
  requeueAfterMs?: number;
}

/** One ordinal's slot: the pod there, or the pod to create. */
interface Replica {
  pod: KubeObject;
  created: boolean;
}

/** What one `updateStatefulSet` pass works on: its inputs, the status it counts, the slots. */
interface SetPass {
  set: KubeObject;
  current: Revision;
  update: Revision;
  replicaCount: number;
  /** `spec.ordinals.start`. */
  start: number;
  minReady: number;
  /** `OrderedReady`: one step per pass, each after the previous pod is healthy. */
  monotonic: boolean;
  now: number;
  status: Record<string, Any>;
  /** Slot i holds ordinal start+i. */
  replicas: Replica[];
  /** Pods outside the wanted ordinals, lowest ordinal first. */
  condemned: KubeObject[];
  /** Ms until a ready pod becomes available (minReadySeconds). */
  recheck?: number;
}

function revisionOf(pod: KubeObject): string | undefined {
  return pod.metadata.labels?.[STATEFULSET_REVISION_LABEL];
}

/** Adds `delta` to the current/updated counters the pod's revision belongs to. */
function countRevision(pass: SetPass, pod: KubeObject, delta: number): void {
  if (revisionOf(pod) === pass.current.metadata.name) pass.status.currentReplicas += delta;
  if (revisionOf(pod) === pass.update.metadata.name) pass.status.updatedReplicas += delta;
}

/** Running and Ready for minReadySeconds, and not being deleted. */
function isHealthy(pass: SetPass, pod: KubeObject): boolean {
  return isRunningAndReady(pod) && !pod.metadata.deletionTimestamp &&
    podAvailability(pod, pass.minReady, pass.now) === true;
}

/** Reconciles StatefulSets; see the module comment. */
export class StatefulSetController {
  readonly #l: StatefulSetListers;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;

  constructor(options: StatefulSetControllerOptions) {
    this.#l = options.listers;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#clock = options.clock ?? realClock;
    ensureControllerIndex(this.#l.pods);
  }

  /** The controller's reconcile: `syncStatefulSet`. */
  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const r = await this.syncStatefulSet(key);
    return { requeueAfterMs: r?.requeueAfterMs };
  }

  /** Claims pods and revisions, then runs `updateStatefulSet` and writes status and history. */
  async syncStatefulSet(key: string): Promise<StatefulSetSyncResult | undefined> {
    const set = this.#l.statefulSets.get(key);
    if (!set) return undefined;
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(set.spec?.selector);
    } catch {
      return undefined;
    }
    if (selector.empty) return undefined;
    const pods = await this.getPodsForStatefulSet(set, selector);
    const owned = await claimRevisions(this.#client, set, {
      selector,
      type: STATEFULSET_TYPE,
      candidates: this.#l.revisions.byIndex("namespace", set.metadata.namespace!),
    });
    const revisions = sortRevisions(owned);
    const { current, update } = await this.getStatefulSetRevisions(set, revisions);
    const result = await this.updateStatefulSet(set, { current, update, pods });
    await this.updateStatefulSetStatus(set, result.status);
    await this.truncateHistory(set, { pods, revisions, current, update });
    return result;
  }

  /** The set's pods, claimed: members (`<set>-<ordinal>`) that match are adopted or kept. */
  async getPodsForStatefulSet(set: KubeObject, selector: Selector): Promise<KubeObject[]> {
    const uid = set.metadata.uid!;
    const out: KubeObject[] = [];
    const candidates = [
      ...this.#l.pods.byIndex(CONTROLLER_INDEX, uid),
      ...this.#l.pods.byIndex(CONTROLLER_INDEX, orphanIndexValue(set.metadata.namespace!)),
    ];
    for (const pod of candidates) {
      const ref = controllerRef(pod);
      const member = ordinalOf(set, pod) !== undefined && selector.matches(pod.metadata.labels);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (member) out.push(pod);
        else {
          await this.#patchOwners(
            PODS,
            pod,
            (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid),
          );
        }
        continue;
      }
      if (!member || pod.metadata.deletionTimestamp || set.metadata.deletionTimestamp) continue;
      const adopted = await this.#patchOwners(PODS, pod, [
        ...(pod.metadata.ownerReferences ?? []),
        newControllerRef(set, STATEFULSET_TYPE),
      ]);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  async #patchOwners(
    r: typeof PODS,
    obj: KubeObject,
    refs: OwnerReference[],
  ): Promise<KubeObject | undefined> {
    try {
      return await this.#client.patch(r, obj.metadata.name!, {
        metadata: { uid: obj.metadata.uid, ownerReferences: refs },
      }, { namespace: obj.metadata.namespace, type: "merge" });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return undefined;
      throw err;
    }
  }

  /**
   * The update revision (the set's template: an equal old revision is renumbered to the newest,
   * else a new one is created) and the current one (`status.currentRevision`, else the update).
   */
  async getStatefulSetRevisions(
    set: KubeObject,
    revisions: Revision[],
  ): Promise<{ current: Revision; update: Revision }> {
    const template = set.spec?.template;
    const equal = revisions.filter((r) => revisionMatches(template, r));
    const next = nextRevision(revisions);
    let update: Revision;
    if (equal.length > 0) {
      update = equal.at(-1)!;
      if (update !== revisions.at(-1)) {
        update = await this.#client.update<Revision>(CONTROLLERREVISIONS, {
          ...update,
          revision: next,
        });
      }
    } else {
      update = await this.#createRevision(set, next);
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ??
      update;
    return { current, update };
  }

  #createRevision(set: KubeObject, revision: number): Promise<Revision> {
    return createRevision(this.#client, set, {
      type: STATEFULSET_TYPE,
      ownerResource: STATEFULSETS,
      hashLabel: REVISION_HASH_LABEL,
      revision,
    });
  }

  /**
   * One pass of Kubernetes' `updateStatefulSet`: create missing pods (and their claims), replace
   * failed ones, fix identity, delete ordinals beyond `replicas` from the highest, then roll one
   * out-of-date pod at or above `partition`. In `OrderedReady` mode the pass stops at the first
   * pod that is not yet Running and Ready.
   */
  async updateStatefulSet(
    set: KubeObject,
    options: { current: Revision; update: Revision; pods: KubeObject[] },
  ): Promise<StatefulSetSyncResult> {
    const pass = this.#inventory(set, options);
    const result = () => ({
      status: pass.status,
      requeueAfterMs: pass.recheck === undefined ? undefined : pass.recheck + 10,
    });
    if (set.metadata.deletionTimestamp) return result();
    if (await this.#syncReplicas(pass)) return result();
    if (await this.#deleteCondemned(pass)) return result();
    if (set.spec?.updateStrategy?.type !== "OnDelete") await this.#rollOne(pass);
    return result();
  }

  /** Counts the pods into a fresh status and sorts them into ordinal slots and condemned ones. */
  #inventory(
    set: KubeObject,
    options: { current: Revision; update: Revision; pods: KubeObject[] },
  ): SetPass {
    const { current, update } = options;
    const spec = set.spec ?? {};
    const pass: SetPass = {
      set,
      current,
      update,
      replicaCount: spec.replicas ?? 1,
      start: spec.ordinals?.start ?? 0,
      minReady: spec.minReadySeconds ?? 0,
      monotonic: spec.podManagementPolicy !== "Parallel",
      now: this.#clock.now(),
      status: {
        observedGeneration: set.metadata.generation,
        replicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        currentReplicas: 0,
        updatedReplicas: 0,
        currentRevision: current.metadata.name,
        updateRevision: update.metadata.name,
        collisionCount: set.status?.collisionCount ?? 0,
      },
      replicas: [],
      condemned: [],
    };
    const slots: (Replica | undefined)[] = new Array(pass.replicaCount);
    for (const pod of options.pods) {
      pass.status.replicas++;
      if (isRunningAndReady(pod)) {
        pass.status.readyReplicas++;
        const a = podAvailability(pod, pass.minReady, pass.now);
        if (a === true) pass.status.availableReplicas++;
        else if (typeof a === "number") pass.recheck = Math.min(pass.recheck ?? a, a);
      }
      if (!pod.metadata.deletionTimestamp) countRevision(pass, pod, 1);
      const ord = ordinalOf(set, pod)!;
      if (ord >= pass.start && ord < pass.start + pass.replicaCount) {
        slots[ord - pass.start] = { pod, created: true };
      } else pass.condemned.push(pod);
    }
    for (let i = 0; i < pass.replicaCount; i++) {
      slots[i] ??= { pod: this.#podFor(pass, pass.start + i), created: false };
    }
    pass.replicas = slots as Replica[];
    pass.condemned.sort((a, b) => ordinalOf(set, a)! - ordinalOf(set, b)!);
    return pass;
  }

  #podFor(pass: SetPass, ordinal: number): KubeObject {
    return this.newVersionedPod(pass.set, { current: pass.current, update: pass.update, ordinal });
  }

  /**
   * Ordinals `start…start+replicas-1`, lowest first: a finished pod is replaced, a missing one
   * created (claims first), a healthy one gets its claims' owners and identity labels fixed.
   * Returns true when the pass must stop here (`OrderedReady` waits for each step).
   */
  async #syncReplicas(pass: SetPass): Promise<boolean> {
    const { set, monotonic } = pass;
    for (let i = 0; i < pass.replicaCount; i++) {
      const r = pass.replicas[i];
      const pod = r.pod;
      const phase = pod.status?.phase;
      if (
        r.created && (phase === "Failed" || phase === "Succeeded") &&
        !pod.metadata.deletionTimestamp
      ) {
        // A pod that ran to completion is replaced under the same identity.
        await this.#deletePod(set, pod);
        countRevision(pass, pod, -1);
        pass.status.replicas--;
        r.pod = this.#podFor(pass, pass.start + i);
        r.created = false;
        if (monotonic) return true;
        continue;
      }
      if (!r.created) {
        await this.createPersistentVolumeClaims(set, pod);
        await this.#createPod(set, pod);
        pass.status.replicas++;
        countRevision(pass, pod, 1);
        r.created = true;
        if (monotonic) return true;
        continue;
      }
      if (phase === "Pending") await this.createPersistentVolumeClaims(set, pod);
      if (pod.metadata.deletionTimestamp && monotonic) return true;
      if (!isHealthy(pass, pod) && monotonic) return true;
      await this.updateClaimOwners(set, pod, { condemned: false });
      // An adopted pod may lack the identity labels (its spec cannot change: it keeps running).
      const labels = identityLabels(set, pass.start + i);
      if (Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v)) continue;
      await this.#client.patch(PODS, pod.metadata.name!, { metadata: { labels } }, {
        namespace: pod.metadata.namespace,
        type: "merge",
      });
    }
    return false;
  }

  /**
   * Pods beyond the wanted ordinals go, highest first; `OrderedReady` deletes one per pass and
   * only while every other pod is healthy (the first unhealthy pod may itself be deleted).
   */
  async #deleteCondemned(pass: SetPass): Promise<boolean> {
    const { set, condemned, monotonic } = pass;
    // Computed before this pass deleted anything, as upstream does.
    const firstUnhealthy = [
      ...pass.replicas.map((r) => r.pod),
      ...[...condemned].reverse(),
    ].find((p) => !isHealthy(pass, p));
    for (const pod of condemned) await this.updateClaimOwners(set, pod, { condemned: true });
    for (let t = condemned.length - 1; t >= 0; t--) {
      const pod = condemned[t];
      if (pod.metadata.deletionTimestamp) {
        if (monotonic) return true;
        continue;
      }
      if (!isRunningAndReady(pod) && monotonic && pod !== firstUnhealthy) return true;
      await this.#deletePod(set, pod);
      countRevision(pass, pod, -1);
      if (monotonic) return true;
    }
    return false;
  }

  /**
   * RollingUpdate: deletes the highest out-of-date pod at or above `partition` (it comes back
   * from the update revision), one at a time, each only after the ones above it are healthy.
   */
  async #rollOne(pass: SetPass): Promise<void> {
    const partition: number = pass.set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let t = pass.replicaCount - 1; t >= partition - pass.start && t >= 0; t--) {
      const pod = pass.replicas[t].pod;
      if (revisionOf(pod) !== pass.update.metadata.name && !pod.metadata.deletionTimestamp) {
        await this.#deletePod(pass.set, pod);
        countRevision(pass, pod, -1);
        return;
      }
      if (!isHealthy(pass, pod)) return;
    }
  }

  /**
   * The pod for `ordinal`: from the current revision's template when the rolling update has not
   * reached it yet (below `partition`, or below the current replica count of an unfinished
   * update), else from the update revision's.
   */
  newVersionedPod(
    set: KubeObject,
    o: { current: Revision; update: Revision; ordinal: number },
  ): KubeObject {
    const strategy = set.spec?.updateStrategy;
    const partition = strategy?.rollingUpdate?.partition;
    const useCurrent = (strategy?.type ?? "RollingUpdate") === "RollingUpdate" &&
      o.current.metadata.name !== o.update.metadata.name &&
      ((partition === undefined && o.ordinal < (set.status?.currentReplicas ?? 0)) ||
        (partition !== undefined && o.ordinal < partition));
    const rev = useCurrent ? o.current : o.update;
    const template = revisionTemplate(rev) as Any;
    const name = `${set.metadata.name}-${o.ordinal}`;
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: set.metadata.namespace,
        labels: { ...template.metadata?.labels, [STATEFULSET_REVISION_LABEL]: rev.metadata.name! },
        ownerReferences: [newControllerRef(set, STATEFULSET_TYPE)],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    if (template.metadata?.annotations) {
      pod.metadata.annotations = { ...template.metadata.annotations };
    }
    setIdentity(set, pod, o.ordinal);
    return pod;
  }

  /** Creates the pod's claims that do not exist yet (one per volumeClaimTemplates entry). */
  async createPersistentVolumeClaims(set: KubeObject, pod: KubeObject): Promise<void> {
    const ordinal = ordinalOf(set, pod)!;
    for (const claim of claimsFor(set, ordinal)) {
      const existing = this.#l.claims.get(`${claim.metadata.namespace}/${claim.metadata.name}`);
      if (existing) continue;
      claim.metadata.ownerReferences = retentionOwners(set, undefined, { condemned: false });
      try {
        await this.#client.create(PERSISTENT_VOLUME_CLAIMS, claim);
        this.#recorder.record(
          withKind(set),
          "Normal",
          "SuccessfulCreate",
          `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
        );
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        this.#recorder.record(
          withKind(set),
          "Warning",
          "FailedCreate",
          `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${
            (err as Error).message
          }`,
        );
        throw err;
      }
    }
  }

  /**
   * Keeps each claim's owner references as the retention policy says: the set (whenDeleted:
   * Delete), the pod while it is condemned (whenScaled: Delete), nothing for Retain.
   */
  async updateClaimOwners(
    set: KubeObject,
    pod: KubeObject,
    o: { condemned: boolean },
  ): Promise<void> {
    const ordinal = ordinalOf(set, pod)!;
    for (const claim of claimsFor(set, ordinal)) {
      const existing = this.#l.claims.get(`${claim.metadata.namespace}/${claim.metadata.name}`);
      if (!existing) continue;
      const refs = existing.metadata.ownerReferences ?? [];
      const others = refs.filter((r) => r.uid !== set.metadata.uid && r.uid !== pod.metadata.uid);
      const want = [...others, ...retentionOwners(set, pod, o)];
      const uids = (rs: OwnerReference[]) => rs.map((r) => r.uid).sort().join(",");
      if (uids(want) === uids(refs)) continue;
      await this.#patchOwners(PERSISTENT_VOLUME_CLAIMS, existing, want);
    }
  }

  async #createPod(set: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.#client.create(PODS, pod);
      this.#recorder.record(
        withKind(set),
        "Normal",
        "SuccessfulCreate",
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      if (isAlreadyExists(err)) return; // the informer has not shown it yet
      this.#recorder.record(
        withKind(set),
        "Warning",
        "FailedCreate",
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${
          (err as Error).message
        }`,
      );
      throw err;
    }
  }

  async #deletePod(set: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.#client.delete(PODS, pod.metadata.name!, {
        namespace: pod.metadata.namespace,
        preconditions: { uid: pod.metadata.uid },
      });
      this.#recorder.record(
        withKind(set),
        "Normal",
        "SuccessfulDelete",
        `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** Writes status when it changed; a finished rolling update makes the update revision current. */
  async updateStatefulSetStatus(set: KubeObject, status: Record<string, Any>): Promise<void> {
    if (
      (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate" &&
      status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas
    ) {
      status.currentReplicas = status.updatedReplicas;
      status.currentRevision = status.updateRevision;
    }
    const old = set.status ?? {};
    const next = { ...old, ...status };
    if (Object.entries(status).every(([k, v]) => old[k] === v)) return;
    try {
      await this.#client.updateStatus(STATEFULSETS, { ...set, status: next });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes the oldest revisions beyond `revisionHistoryLimit` that no pod uses. */
  async truncateHistory(
    set: KubeObject,
    o: { pods: KubeObject[]; revisions: Revision[]; current: Revision; update: Revision },
  ): Promise<void> {
    const live = new Set(o.pods.map((p) => p.metadata.labels?.[STATEFULSET_REVISION_LABEL]));
    live.add(o.current.metadata.name);
    live.add(o.update.metadata.name);
    const history = o.revisions.filter((r) => !live.has(r.metadata.name));
    const excess = history.length - (set.spec?.revisionHistoryLimit ?? 10);
    for (const rev of history.slice(0, Math.max(0, excess))) {
      try {
        await this.#client.delete(CONTROLLERREVISIONS, rev.metadata.name!, {
          namespace: rev.metadata.namespace,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}

/** The ordinal of a member pod (`<set>-<n>`), undefined for other pods. */
export function ordinalOf(set: KubeObject, pod: KubeObject): number | undefined {
  const m = /^(.*)-(\d+)$/.exec(pod.metadata.name ?? "");
  if (!m || m[1] !== set.metadata.name) return undefined;
  return Number(m[2]);
}

/** The claims of `ordinal`, named `<template>-<set>-<ordinal>`, labelled with the selector's. */
export function claimsFor(set: KubeObject, ordinal: number): KubeObject[] {
  return ((set.spec?.volumeClaimTemplates ?? []) as KubeObject[]).map((t) => {
    const claim = structuredClone(t);
    claim.apiVersion = "v1";
    claim.kind = "PersistentVolumeClaim";
    claim.metadata = {
      ...claim.metadata,
      name: `${t.metadata.name}-${set.metadata.name}-${ordinal}`,
      namespace: set.metadata.namespace,
      labels: { ...claim.metadata.labels, ...set.spec?.selector?.matchLabels },
    };
    delete claim.status;
    return claim;
  });
}

function retentionOwners(
  set: KubeObject,
  pod: KubeObject | undefined,
  o: { condemned: boolean },
): OwnerReference[] {
  const policy = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  const out: OwnerReference[] = [];
  const ref = (obj: KubeObject, type: { apiVersion: string; kind: string }) => ({
    apiVersion: type.apiVersion,
    kind: type.kind,
    name: obj.metadata.name!,
    uid: obj.metadata.uid!,
  });
  // A condemned pod's claim under whenScaled: Delete is owned by the pod alone, so it goes with
  // the pod even when whenDeleted: Delete would have the set own it.
  if (policy.whenScaled === "Delete" && o.condemned && pod?.metadata.uid) {
    out.push(ref(pod, { apiVersion: "v1", kind: "Pod" }));
  } else if (policy.whenDeleted === "Delete") out.push(ref(set, STATEFULSET_TYPE));
  return out;
}

/** Sets the pod's stable identity and storage: name labels, hostname, subdomain, claim volumes. */
function setIdentity(set: KubeObject, pod: KubeObject, ordinal: number): void {
  const name = `${set.metadata.name}-${ordinal}`;
  pod.metadata.labels = { ...pod.metadata.labels, ...identityLabels(set, ordinal) };
  pod.spec ??= {};
  pod.spec.hostname = name;
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
  const claims = ((set.spec?.volumeClaimTemplates ?? []) as KubeObject[]).map((t) => ({
    name: t.metadata.name!,
    persistentVolumeClaim: { claimName: `${t.metadata.name}-${set.metadata.name}-${ordinal}` },
  }));
  if (claims.length > 0) {
    const kept = ((pod.spec.volumes ?? []) as { name: string }[]).filter((v) =>
      !claims.some((c) => c.name === v.name)
    );
    pod.spec.volumes = [...kept, ...claims];
  }
}

/** The labels naming a member: its pod name and ordinal. */
function identityLabels(set: KubeObject, ordinal: number): Record<string, string> {
  return {
    [STATEFULSET_POD_NAME_LABEL]: `${set.metadata.name}-${ordinal}`,
    [STATEFULSET_POD_INDEX_LABEL]: String(ordinal),
  };
}

function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === "Running" && isPodReady(pod);
}

function withKind(set: KubeObject): KubeObject {
  return set.kind ? set : { ...set, ...STATEFULSET_TYPE };
}

/** Options of {@linkcode runStatefulSetController}. */
export interface RunStatefulSetControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /** Parallel syncs (default 5, as kube-controller-manager's concurrent-statefulset-syncs). */
  workers?: number;
}

/** Wires {@linkcode StatefulSetController} to shared informers; runs until `signal` aborts. */
export async function runStatefulSetController(
  options: RunStatefulSetControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("statefulset");
  const statefulSets = informers.get(STATEFULSETS);
  const pods = informers.get(PODS);
  const revisions = informers.get<Revision>(CONTROLLERREVISIONS);
  const claims = informers.get(PERSISTENT_VOLUME_CLAIMS);
  const controller = new StatefulSetController({
    listers: { statefulSets, pods, revisions, claims },
    client: informers.client,
    recorder: options.recorder,
  });
  const queue = new WorkQueue();
  const ownerKey = (o: KubeObject) => {
    const ref = controllerRef(o);
    return ref?.kind === "StatefulSet" ? `${o.metadata.namespace}/${ref.name}` : undefined;
  };
  const ownersOfPod = (pod: KubeObject): string[] => {
    const k = ownerKey(pod);
    if (k) return [k];
    if (controllerRef(pod)) return [];
    return statefulSets.byIndex("namespace", pod.metadata.namespace!)
      .filter((s) => ordinalOf(s, pod) !== undefined)
      .map(keyOf);
  };
  statefulSets.addEventHandler({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
    onDelete: (s) => queue.add(keyOf(s)),
  });
  pods.addEventHandler({
    onAdd: (p) => ownersOfPod(p).forEach((k) => queue.add(k)),
    onUpdate: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      for (const k of new Set([...ownersOfPod(p), ...ownersOfPod(old)])) queue.add(k);
    },
    onDelete: (p) => ownersOfPod(p).forEach((k) => queue.add(k)),
  });
  revisions.addEventHandler({
    onAdd: (r) => ownerKey(r) && queue.add(ownerKey(r)!),
    onDelete: (r) => ownerKey(r) && queue.add(ownerKey(r)!),
  });
  await runController({
    name: "statefulset",
    queue,
    reconcile: async (key) => {
      const { requeueAfterMs } = await controller.reconcile(key);
      if (requeueAfterMs !== undefined) queue.addAfter(key, requeueAfterMs);
    },
    informers: [statefulSets, pods, revisions, claims],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}
