/**
 * The DaemonSet controller, shaped as kube-controller-manager's: `syncDaemonSet(key)` builds the
 * template history (`constructHistory`: ControllerRevisions named `<ds>-<hash>`), then `manage`
 * creates one pod per node that should run it (`nodeShouldRunDaemonPod`) and deletes pods on
 * nodes that should not, `rollingUpdate` replaces out-of-date pods within maxUnavailable /
 * maxSurge (OnDelete leaves that to the user), `cleanupHistory` trims revisions beyond
 * `revisionHistoryLimit`, and `updateDaemonSetStatus` writes the counters kubectl prints.
 *
 * Daemon pods are not bound by the controller: each carries a required node affinity on
 * `metadata.name` and the default scheduler binds it, as upstream. A pod whose node is deleted is
 * deleted here (Kubernetes leaves that to its pod garbage collector, which Skiff has not).
 */
import type { Taint } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { EventRecorder } from "../../shared/events.ts";
import { type Selector, selectorFromLabelSelector } from "../../shared/labels.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  claimRevisions,
  createRevision,
  nextRevision,
  type Revision,
  revisionMatches,
  sortRevisions,
} from "./controller_history.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import type { Lister } from "../../shared/lister.ts";
import type { Recorder } from "../../shared/events.ts";
import {
  CONTROLLER_INDEX,
  controllerRef,
  ensureControllerIndex,
  Expectations,
  isPodReady,
  keyOf,
  newControllerRef,
  orphanIndexValue,
  podAvailability,
} from "./controller_utils.ts";
import {
  addDaemonPodTolerations,
  type DaemonTemplate,
  daemonTemplate,
  nodeShouldRunDaemonPod,
  pinToNode,
  targetNodeName,
} from "./daemon_set_node.ts";
import type { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { scaledValue } from "./rolling_update.ts";

/** Label on daemon pods and revisions naming the template revision (Kubernetes' key). */
export const DAEMONSET_HASH_LABEL = "controller-revision-hash";
const DAEMONSET_TYPE = { apiVersion: "apps/v1", kind: "DaemonSet" };

/** The caches the controller reads. */
export interface DaemonSetListers {
  daemonSets: Lister<KubeObject>;
  nodes: Lister<KubeObject>;
  pods: Lister<KubeObject>;
  revisions: Lister<Revision>;
}

/** What {@linkcode DaemonSetController} is built from. */
export interface DaemonSetControllerOptions {
  listers: DaemonSetListers;
  client: ControllerClient;
  recorder: Recorder;
  clock?: Clock;
  /** Most pods created or deleted in one sync (Kubernetes' BurstReplicas, 250). */
  burstReplicas?: number;
}

/** What one sync asks of its runner. */
export interface SyncResult {
  /** Sync again after this many ms (minReadySeconds, failed-pod back-off). */
  requeueAfterMs?: number;
}

type NodeToPods = Map<string, KubeObject[]>;

/** Reconciles DaemonSets; see the module comment. */
export class DaemonSetController {
  readonly expectations = new Expectations();
  readonly #l: DaemonSetListers;
  readonly #client: ControllerClient;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #burst: number;
  /** Failed-pod back-off per `dsUid/node`: when the next deletion may happen, and the delay. */
  readonly #failedBackoff = new Map<string, { until: number; delayMs: number }>();

  constructor(options: DaemonSetControllerOptions) {
    this.#l = options.listers;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#clock = options.clock ?? realClock;
    this.#burst = options.burstReplicas ?? 250;
    ensureControllerIndex(this.#l.pods);
  }

  /** The controller's reconcile: `syncDaemonSet`. */
  reconcile(key: string): Promise<SyncResult> {
    return this.syncDaemonSet(key);
  }

  /** Brings one DaemonSet's pods, history and status in line with its spec. */
  async syncDaemonSet(key: string): Promise<SyncResult> {
    const ds = this.#l.daemonSets.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return {};
    }
    if (ds.metadata.deletionTimestamp) return {};
    const selector = selectorOf(ds);
    // An empty selector would take every pod in the namespace (validation forbids it).
    if (!selector || selector.empty) return {};
    const nodes = this.#l.nodes.list();
    const { cur, old } = await this.constructHistory(ds, selector);
    const hash = cur.metadata.labels?.[DAEMONSET_HASH_LABEL] ?? "";
    const template = daemonTemplate(ds);
    const nodeToPods = groupByNode(await this.getDaemonPods(ds, selector));
    const state = syncState({ nodes, nodeToPods, template, hash });

    if (!this.expectations.satisfied(key)) {
      return await this.updateDaemonSetStatus(ds, state);
    }
    const result: SyncResult = {};
    let failure: unknown;
    try {
      const managed = await this.manage(ds, state);
      result.requeueAfterMs = managed.retryMs;
      // Roll only from a settled view: pods manage() just created or deleted may already be
      // observed (expectations met) yet be missing from this sync's snapshot.
      if (
        !managed.acted && this.expectations.satisfied(key) &&
        (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate"
      ) {
        await this.rollingUpdate(ds, state);
      }
    } catch (err) {
      failure = err;
    }
    await this.cleanupHistory(ds, old, nodeToPods);
    const status = await this.updateDaemonSetStatus(ds, state);
    if (failure) throw failure;
    return { requeueAfterMs: minDefined(result.requeueAfterMs, status.requeueAfterMs) };
  }

  /**
   * The current revision (created when the template is new, renumbered to the newest when a
   * rollback returns to an old one) and the older ones.
   */
  async constructHistory(
    ds: KubeObject,
    selector: Selector,
  ): Promise<{ cur: Revision; old: Revision[] }> {
    const candidates = this.#l.revisions.byIndex("namespace", ds.metadata.namespace!);
    const owned = await claimRevisions(this.#client, ds, {
      selector,
      type: DAEMONSET_TYPE,
      candidates,
    });
    const template = ds.spec?.template;
    const matching = sortRevisions(owned.filter((r) => revisionMatches(template, r)));
    const old = owned.filter((r) => !matching.includes(r));
    const max = nextRevision(owned) - 1;
    let cur = matching.at(-1);
    // Duplicates of the current template (a lost race) go.
    for (const dup of matching.slice(0, -1)) await this.#deleteRevision(dup);
    if (!cur) {
      cur = await this.#createRevision(ds, max + 1);
    } else if (cur.revision < max) {
      cur = await this.#client.update<Revision>(CONTROLLERREVISIONS, { ...cur, revision: max + 1 });
    }
    if (!cur.metadata.labels?.[DAEMONSET_HASH_LABEL]) {
      const hash = cur.metadata.name!.slice(ds.metadata.name!.length + 1);
      cur = await this.#client.update<Revision>(CONTROLLERREVISIONS, {
        ...cur,
        metadata: {
          ...cur.metadata,
          labels: { ...cur.metadata.labels, [DAEMONSET_HASH_LABEL]: hash },
        },
      });
    }
    return { cur, old };
  }

  #createRevision(ds: KubeObject, revision: number): Promise<Revision> {
    return createRevision(this.#client, ds, {
      type: DAEMONSET_TYPE,
      ownerResource: DAEMONSETS,
      hashLabel: DAEMONSET_HASH_LABEL,
      revision,
    });
  }

  async #deleteRevision(rev: Revision): Promise<void> {
    try {
      await this.#client.delete(CONTROLLERREVISIONS, rev.metadata.name!, {
        namespace: rev.metadata.namespace,
        preconditions: { uid: rev.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /**
   * The DaemonSet's pods, claimed: owned ones that match, orphans that match adopted, owned ones
   * that stopped matching released. Pods being deleted are included: a node whose daemon pod is
   * terminating gets its replacement only once it is gone (host ports, host paths).
   */
  async getDaemonPods(ds: KubeObject, selector: Selector): Promise<KubeObject[]> {
    const uid = ds.metadata.uid!;
    const out: KubeObject[] = [];
    const candidates = [
      ...this.#l.pods.byIndex(CONTROLLER_INDEX, uid),
      ...this.#l.pods.byIndex(CONTROLLER_INDEX, orphanIndexValue(ds.metadata.namespace!)),
    ];
    for (const pod of candidates) {
      const ref = controllerRef(pod);
      const matches = selector.matches(pod.metadata.labels);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) {
          out.push(pod);
          continue;
        }
        await this.#patchOwners(
          pod,
          (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid),
        );
        continue;
      }
      if (!matches || pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const adopted = await this.#patchOwners(pod, [
        ...(pod.metadata.ownerReferences ?? []),
        newControllerRef(ds, DAEMONSET_TYPE),
      ]);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  async #patchOwners(
    pod: KubeObject,
    refs: NonNullable<KubeObject["metadata"]["ownerReferences"]>,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.#client.patch(PODS, pod.metadata.name!, {
        metadata: { uid: pod.metadata.uid, ownerReferences: refs },
      }, { namespace: pod.metadata.namespace, type: "merge" });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return undefined;
      throw err;
    }
  }

  /**
   * Creates daemon pods on nodes that should run one and have none, and deletes pods on nodes
   * that should not (or no longer exist), duplicates, and failed pods (with per-node back-off).
   * Says whether it changed anything, and when to sync again if a failed pod is waiting out
   * its back-off.
   */
  async manage(ds: KubeObject, s: SyncState): Promise<{ acted: boolean; retryMs?: number }> {
    const nodesNeedingPods: string[] = [];
    const podsToDelete: KubeObject[] = [];
    let retryMs: number | undefined;
    let failedPods = 0;
    const known = new Set<string>();
    for (const node of s.nodes) {
      const name = node.metadata.name!;
      known.add(name);
      const r = this.podsShouldBeOnNode(ds, node, s.nodeToPods.get(name) ?? [], s);
      if (r.createPod) nodesNeedingPods.push(name);
      podsToDelete.push(...r.podsToDelete);
      failedPods += r.failedPods;
      if (r.retryMs !== undefined) retryMs = minDefined(retryMs, r.retryMs);
    }
    for (const [name, pods] of s.nodeToPods) {
      if (!known.has(name)) podsToDelete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    }
    await this.syncNodes(ds, { podsToDelete, nodesNeedingPods, hash: s.hash });
    if (failedPods > 0) {
      throw new Error(
        `found failed daemon pods of DaemonSet "${ds.metadata.name}", replacing them`,
      );
    }
    return { acted: podsToDelete.length + nodesNeedingPods.length > 0, retryMs };
  }

  /** What should change on one node (Kubernetes' `podsShouldBeOnNode`). */
  podsShouldBeOnNode(
    ds: KubeObject,
    node: KubeObject,
    pods: KubeObject[],
    s: SyncState,
  ): { createPod: boolean; podsToDelete: KubeObject[]; failedPods: number; retryMs?: number } {
    const { shouldRun, shouldContinueRunning } = s.shouldRun(node);
    const out = {
      createPod: false,
      podsToDelete: [] as KubeObject[],
      failedPods: 0,
      retryMs: undefined as number | undefined,
    };
    if (shouldRun && pods.length === 0) {
      out.createPod = true;
      return out;
    }
    if (!shouldContinueRunning) {
      out.podsToDelete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
      return out;
    }
    const running: KubeObject[] = [];
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      if (pod.status?.phase !== "Failed") {
        running.push(pod);
        continue;
      }
      // A failed daemon pod is replaced, but not in a hot loop: back off per node.
      const bk = `${ds.metadata.uid}/${node.metadata.name}`;
      const now = this.#clock.now();
      const b = this.#failedBackoff.get(bk);
      if (b && now < b.until) {
        out.retryMs = b.until - now;
        continue;
      }
      const delayMs = Math.min((b?.delayMs ?? 500) * 2, 15 * 60_000);
      this.#failedBackoff.set(bk, { until: now + delayMs, delayMs });
      out.failedPods++;
      out.podsToDelete.push(pod);
    }
    if (allowsSurge(ds) && running.length > 1) {
      // Surge: keep the oldest updated pod and the oldest old pod; the old one goes once the
      // new one is available.
      const updated = running.filter((p) => isUpdated(p, s.hash)).sort(byCreation);
      const outdated = running.filter((p) => !isUpdated(p, s.hash)).sort(byCreation);
      out.podsToDelete.push(...updated.slice(1), ...outdated.slice(1));
      if (updated[0] && outdated[0] && this.#available(ds, updated[0]) === true) {
        out.podsToDelete.push(outdated[0]);
      }
    } else if (running.length > 1) {
      out.podsToDelete.push(...[...running].sort(byCreation).slice(1));
    }
    return out;
  }

  /**
   * Deletes `podsToDelete` and creates a pod on each of `nodesNeedingPods` (at most
   * burstReplicas of each, creations in slow-start batches of 1, 2, 4, …), under expectations.
   */
  async syncNodes(
    ds: KubeObject,
    options: { podsToDelete: KubeObject[]; nodesNeedingPods: string[]; hash: string },
  ): Promise<void> {
    const key = keyOf(ds);
    const toCreate = options.nodesNeedingPods.slice(0, this.#burst);
    const toDelete = options.podsToDelete.slice(0, this.#burst);
    this.expectations.expectAdds(key, toCreate.length);
    this.expectations.expectDeletes(key, toDelete.map(keyOf));
    let failure: unknown;

    let pos = 0;
    for (let batch = 1; pos < toCreate.length && !failure; batch *= 2) {
      const nodes = toCreate.slice(pos, pos + batch);
      pos += nodes.length;
      const results = await Promise.allSettled(
        nodes.map((n) => this.#createPod(ds, n, options.hash)),
      );
      for (const r of results) {
        if (r.status === "rejected") {
          failure ??= r.reason;
          this.expectations.observeAdd(key);
        }
      }
    }
    // Creations never attempted will never be observed.
    for (; pos < toCreate.length; pos++) this.expectations.observeAdd(key);
    if (failure) {
      this.#recorder.record(
        withKind(ds),
        "Warning",
        "FailedCreate",
        `Error creating: ${(failure as Error).message}`,
      );
    }

    const deletions = await Promise.allSettled(toDelete.map(async (pod) => {
      try {
        await this.#client.delete(PODS, pod.metadata.name!, {
          namespace: pod.metadata.namespace,
          preconditions: { uid: pod.metadata.uid },
        });
        this.#recorder.record(
          withKind(ds),
          "Normal",
          "SuccessfulDelete",
          `Deleted pod: ${pod.metadata.name}`,
        );
      } catch (err) {
        this.expectations.observeDelete(key, keyOf(pod));
        if (!isNotFound(err)) throw err;
      }
    }));
    const failedDelete = deletions.find((r) => r.status === "rejected");
    if (failedDelete) failure ??= (failedDelete as PromiseRejectedResult).reason;
    if (failure) throw failure;
  }

  async #createPod(ds: KubeObject, nodeName: string, hash: string): Promise<void> {
    const template = ds.spec?.template ?? {};
    const spec = structuredClone(template.spec ?? {});
    addDaemonPodTolerations(spec);
    pinToNode(spec, nodeName);
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: { ...template.metadata?.labels, [DAEMONSET_HASH_LABEL]: hash },
        ownerReferences: [newControllerRef(ds, DAEMONSET_TYPE)],
      },
      spec,
    };
    if (template.metadata?.annotations) {
      pod.metadata.annotations = { ...template.metadata.annotations };
    }
    if (template.metadata?.finalizers) pod.metadata.finalizers = [...template.metadata.finalizers];
    const created = await this.#client.create(PODS, pod, { namespace: ds.metadata.namespace });
    this.#recorder.record(
      withKind(ds),
      "Normal",
      "SuccessfulCreate",
      `Created pod: ${created.metadata.name}`,
    );
  }

  /**
   * Replaces out-of-date pods: without surge, deletes old pods while at most maxUnavailable
   * nodes lack an available pod (an unavailable old pod is replaced at once); with surge,
   * starts new pods beside old ones on up to maxSurge nodes and deletes an old pod once its
   * replacement is available.
   */
  async rollingUpdate(ds: KubeObject, s: SyncState): Promise<void> {
    const { maxSurge, maxUnavailable } = this.updatedDesiredNodeCounts(ds, s);
    const oldPodsToDelete: KubeObject[] = [];
    const nodesToCreate: string[] = [];
    if (maxSurge === 0) {
      let numUnavailable = 0;
      const allowedReplacements: KubeObject[] = [];
      const candidates: KubeObject[] = [];
      for (const [, pods] of sortedNodes(s.nodeToPods)) {
        const found = findUpdatedPodsOnNode(pods, s.hash);
        if (!found) {
          numUnavailable++;
          continue;
        }
        const { newPod, oldPod } = found;
        if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
        else if (newPod) {
          if (this.#available(ds, newPod) !== true) numUnavailable++;
        } else if (oldPod) {
          if (this.#available(ds, oldPod) !== true) allowedReplacements.push(oldPod);
          else if (numUnavailable < maxUnavailable) candidates.push(oldPod);
        }
      }
      const remaining = Math.max(0, Math.min(maxUnavailable - numUnavailable, candidates.length));
      oldPodsToDelete.push(...allowedReplacements, ...candidates.slice(0, remaining));
    } else {
      let numSurge = 0;
      const allowedNew: string[] = [];
      const candidateNew: string[] = [];
      for (const [nodeName, pods] of sortedNodes(s.nodeToPods)) {
        const found = findUpdatedPodsOnNode(pods, s.hash);
        if (!found) continue;
        const { newPod, oldPod } = found;
        if (!newPod && oldPod) {
          const node = this.#l.nodes.get(nodeName);
          if (!node || !s.shouldRun(node).shouldRun) continue;
          if (this.#available(ds, oldPod) !== true) allowedNew.push(nodeName);
          else candidateNew.push(nodeName);
        } else if (newPod && oldPod) {
          if (this.#available(ds, newPod) === true) oldPodsToDelete.push(oldPod);
          else numSurge++;
        }
      }
      const remaining = Math.max(0, Math.min(maxSurge - numSurge, candidateNew.length));
      nodesToCreate.push(...allowedNew, ...candidateNew.slice(0, remaining));
    }
    if (oldPodsToDelete.length === 0 && nodesToCreate.length === 0) return;
    await this.syncNodes(ds, {
      podsToDelete: oldPodsToDelete,
      nodesNeedingPods: nodesToCreate,
      hash: s.hash,
    });
  }

  /** maxSurge and maxUnavailable as node counts (percentages of desired nodes, rounded up). */
  updatedDesiredNodeCounts(
    ds: KubeObject,
    s: SyncState,
  ): { maxSurge: number; maxUnavailable: number } {
    let desired = 0;
    for (const node of s.nodes) {
      if (s.shouldRun(node).shouldRun) desired++;
    }
    const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
    const maxSurge = scaledValue(ru.maxSurge ?? 0, desired, true);
    let maxUnavailable = scaledValue(ru.maxUnavailable ?? 1, desired, true);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    return { maxSurge, maxUnavailable };
  }

  /** Deletes the oldest revisions beyond `revisionHistoryLimit` that no live pod still uses. */
  async cleanupHistory(ds: KubeObject, old: Revision[], nodeToPods: NodeToPods): Promise<void> {
    const limit: number = ds.spec?.revisionHistoryLimit ?? 10;
    const excess = old.length - limit;
    if (excess <= 0) return;
    const live = new Set<string>();
    for (const pods of nodeToPods.values()) {
      for (const p of pods) {
        const h = p.metadata.labels?.[DAEMONSET_HASH_LABEL];
        if (h) live.add(h);
      }
    }
    const deletable = sortRevisions(old).filter((r) =>
      !live.has(r.metadata.labels?.[DAEMONSET_HASH_LABEL] ?? "")
    );
    for (const rev of deletable.slice(0, excess)) await this.#deleteRevision(rev);
  }

  /** Writes desired/current/ready/up-to-date/available/misscheduled counts if they changed. */
  async updateDaemonSetStatus(ds: KubeObject, s: SyncState): Promise<SyncResult> {
    let desired = 0, current = 0, ready = 0, available = 0, updated = 0, misscheduled = 0;
    let recheck: number | undefined;
    for (const node of s.nodes) {
      const { shouldRun } = s.shouldRun(node);
      const pods = (s.nodeToPods.get(node.metadata.name!) ?? []).filter((p) =>
        !p.metadata.deletionTimestamp
      );
      if (!shouldRun) {
        if (pods.length > 0) misscheduled++;
        continue;
      }
      desired++;
      if (pods.length === 0) continue;
      current++;
      const pod = [...pods].sort(byCreation)[0];
      if (isPodReady(pod)) {
        ready++;
        const a = this.#available(ds, pod);
        if (a === true) available++;
        else if (typeof a === "number") recheck = minDefined(recheck, a + 10);
      }
      if (isUpdated(pod, s.hash)) updated++;
    }
    const old = ds.status ?? {};
    const status = {
      ...old,
      desiredNumberScheduled: desired,
      currentNumberScheduled: current,
      numberReady: ready,
      numberAvailable: available,
      numberUnavailable: desired - available,
      updatedNumberScheduled: updated,
      numberMisscheduled: misscheduled,
      observedGeneration: ds.metadata.generation ?? old.observedGeneration,
    };
    const changed = Object.entries(status).some(([k, v]) => old[k] !== v);
    if (changed) {
      try {
        await this.#client.updateStatus(DAEMONSETS, { ...ds, status });
      } catch (err) {
        if (!isNotFound(err)) throw err; // a conflict retries with the fresher cache
      }
    }
    return { requeueAfterMs: recheck };
  }

  #available(ds: KubeObject, pod: KubeObject): true | false | number {
    return podAvailability(pod, ds.spec?.minReadySeconds ?? 0, this.#clock.now());
  }
}

/** The state one sync works from. */
export interface SyncState {
  nodes: KubeObject[];
  nodeToPods: NodeToPods;
  template: DaemonTemplate;
  hash: string;
  /** `nodeShouldRunDaemonPod` for this sync's template, computed once per node. */
  shouldRun(node: KubeObject): { shouldRun: boolean; shouldContinueRunning: boolean };
}

/** The state of one sync, with `shouldRun` memoised per node. */
export function syncState(
  s: Omit<SyncState, "shouldRun">,
): SyncState {
  const memo = new Map<string, ReturnType<typeof nodeShouldRunDaemonPod>>();
  return {
    ...s,
    shouldRun(node) {
      let r = memo.get(node.metadata.name!);
      if (!r) {
        r = nodeShouldRunDaemonPod(node, s.template);
        memo.set(node.metadata.name!, r);
      }
      return r;
    },
  };
}

function selectorOf(ds: KubeObject): Selector | null {
  try {
    return selectorFromLabelSelector(ds.spec?.selector);
  } catch {
    return null;
  }
}

/** Pods by the node they are for; a pod for no node is filed under "". */
function groupByNode(pods: KubeObject[]): NodeToPods {
  const out: NodeToPods = new Map();
  for (const pod of pods) {
    const node = targetNodeName(pod) ?? "";
    const list = out.get(node);
    if (list) list.push(pod);
    else out.set(node, [pod]);
  }
  return out;
}

function sortedNodes(m: NodeToPods): [string, KubeObject[]][] {
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Whether a daemon pod runs the current template. */
export function isUpdated(pod: KubeObject, hash: string): boolean {
  return pod.metadata.labels?.[DAEMONSET_HASH_LABEL] === hash;
}

/**
 * The node's one updated and one out-of-date pod; undefined when it has more than one of either
 * (the manage step cleans those up first). Failed pods are ignored.
 */
function findUpdatedPodsOnNode(
  pods: KubeObject[],
  hash: string,
): { newPod?: KubeObject; oldPod?: KubeObject } | undefined {
  let newPod: KubeObject | undefined;
  let oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || pod.status?.phase === "Failed") continue;
    if (isUpdated(pod, hash)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { newPod, oldPod };
}

function allowsSurge(ds: KubeObject): boolean {
  const strategy = ds.spec?.updateStrategy;
  if ((strategy?.type ?? "RollingUpdate") !== "RollingUpdate") return false;
  const surge = strategy?.rollingUpdate?.maxSurge;
  return surge !== undefined && surge !== 0 && surge !== "0%" && surge !== "0";
}

function byCreation(a: KubeObject, b: KubeObject): number {
  return (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function withKind(ds: KubeObject): KubeObject {
  return ds.kind ? ds : { ...ds, ...DAEMONSET_TYPE };
}

/** Whether a node change can change where daemon pods belong (labels, taints, readiness). */
export function nodeChangedForDaemons(old: KubeObject, cur: KubeObject): boolean {
  const ready = (n: KubeObject) =>
    ((n.status?.conditions ?? []) as { type: string; status: string }[])
      .find((c) => c.type === "Ready")?.status;
  return JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {}) ||
    JSON.stringify(
        (old.spec?.taints ?? []).map((t: Taint) => [t.key, t.value, t.effect]),
      ) !==
      JSON.stringify(
        (cur.spec?.taints ?? []).map((t: Taint) => [t.key, t.value, t.effect]),
      ) ||
    !!old.spec?.unschedulable !== !!cur.spec?.unschedulable ||
    ready(old) !== ready(cur);
}

/** Options of {@linkcode runDaemonSetController}. */
export interface RunDaemonSetControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  /** Parallel syncs (default 2, as kube-controller-manager's concurrent-daemonset-syncs). */
  workers?: number;
  /** Pod events for one DaemonSet within this window cause one sync (default 100 ms). */
  podBatchMs?: number;
}

/** Wires {@linkcode DaemonSetController} to shared informers and runs it until `signal` aborts. */
export async function runDaemonSetController(
  options: RunDaemonSetControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("daemonset");
  const daemonSets = informers.get(DAEMONSETS);
  const nodes = informers.get(NODES);
  const pods = informers.get(PODS);
  const revisions = informers.get<Revision>(CONTROLLERREVISIONS);
  ensureControllerIndex(pods);
  const controller = new DaemonSetController({
    listers: { daemonSets, nodes, pods, revisions },
    client: informers.client,
    recorder: options.recorder,
  });
  const { expectations } = controller;
  const queue = new WorkQueue();
  const enqueueAll = () => {
    for (const ds of daemonSets.list()) queue.add(keyOf(ds));
  };
  daemonSets.addEventHandler({
    onAdd: (ds) => queue.add(keyOf(ds)),
    onUpdate: (old, ds) => {
      // A status-only change (our own write coming back) needs no sync.
      if (
        old.metadata.generation === ds.metadata.generation &&
        old.metadata.deletionTimestamp === ds.metadata.deletionTimestamp &&
        JSON.stringify(old.metadata.annotations) === JSON.stringify(ds.metadata.annotations) &&
        JSON.stringify(old.metadata.labels) === JSON.stringify(ds.metadata.labels)
      ) return;
      queue.add(keyOf(ds));
    },
    onDelete: (ds) => {
      expectations.delete(keyOf(ds));
      queue.add(keyOf(ds));
    },
  });
  nodes.addEventHandler({
    onAdd: enqueueAll,
    onUpdate: (old, cur) => {
      if (nodeChangedForDaemons(old, cur)) enqueueAll();
    },
    onDelete: enqueueAll,
  });
  watchPodsOfDaemonSets(pods, daemonSets, {
    expectations,
    enqueue: (key) => queue.addAfter(key, options.podBatchMs ?? 100),
  });
  revisions.addEventHandler({
    onAdd: (r) => ownerKey(r) && queue.add(ownerKey(r)!),
    onDelete: (r) => ownerKey(r) && queue.add(ownerKey(r)!),
  });

  await runController({
    name: "daemonset",
    queue,
    reconcile: async (key) => {
      const { requeueAfterMs } = await controller.reconcile(key);
      if (requeueAfterMs !== undefined) queue.addAfter(key, requeueAfterMs);
    },
    informers: [daemonSets, nodes, pods, revisions],
    workers: options.workers ?? 2,
    logger,
  }, signal);
}

/** `ns/name` of the DaemonSet controlling `obj` (a pod or a revision), if one does. */
function ownerKey(obj: KubeObject): string | undefined {
  const ref = controllerRef(obj);
  return ref?.kind === "DaemonSet" ? `${obj.metadata.namespace}/${ref.name}` : undefined;
}

/**
 * Pod events: they settle the owner's expectations (a create or delete seen) and sync the
 * DaemonSets the pod belongs to — its controller, or for an orphan every DaemonSet whose
 * selector matches it (it may be adopted).
 */
function watchPodsOfDaemonSets(
  pods: Informer,
  daemonSets: Informer,
  options: { expectations: Expectations; enqueue: (key: string) => void },
): void {
  const { expectations, enqueue } = options;
  const ownersOfPod = (pod: KubeObject): string[] => {
    const ref = controllerRef(pod);
    const ns = pod.metadata.namespace!;
    if (ref) return ref.kind === "DaemonSet" ? [`${ns}/${ref.name}`] : [];
    return daemonSets.byIndex("namespace", ns)
      .filter((ds) => selectorOf(ds)?.matches(pod.metadata.labels))
      .map(keyOf);
  };
  pods.addEventHandler({
    onAdd: (pod) => {
      const k = ownerKey(pod);
      if (k) expectations.observeAdd(k);
      for (const o of ownersOfPod(pod)) enqueue(o);
    },
    onUpdate: (old, pod) => {
      const k = ownerKey(pod);
      if (k && pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) {
        expectations.observeDelete(k, keyOf(pod));
      }
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      for (const o of new Set([...ownersOfPod(pod), ...ownersOfPod(old)])) enqueue(o);
    },
    onDelete: (pod) => {
      const k = ownerKey(pod);
      if (k) expectations.observeDelete(k, keyOf(pod));
      for (const o of ownersOfPod(pod)) enqueue(o);
    },
  });
}
