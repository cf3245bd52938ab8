/**
 * The resource quota controller (kube-controller-manager's): keeps each ResourceQuota's
 * `status.hard` equal to `spec.hard` and `status.used` equal to what the namespace's objects use
 * (server/quota/), so usage admission charged is released when pods finish or go, and is right
 * again after a restart or a charge whose object never arrived.
 *
 * Level-triggered over shared informers: a quota is measured again when it is created or its spec
 * changes, when an object it counts is added, deleted or changes what it costs, when a counted
 * terminating pod's grace runs out, and every five minutes. Kinds named by `count/...` are
 * watched from the first quota that names them (custom resources through their CRDs).
 *
 * One rule keeps the controller from undoing admission: a charge lands in the quota just before
 * its object is stored, so for a moment the objects do not show it. Usage is therefore only
 * lowered once a few seconds have passed since the last charge the controller saw.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import type { ResourceQuota } from "../../shared/api/resource_quota.ts";
import { RESOURCES } from "../../shared/api/resources.ts";
import { delay } from "../../shared/backoff.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import {
  CONFIGMAPS,
  PERSISTENT_VOLUME_CLAIMS,
  PODS,
  REPLICATION_CONTROLLERS,
  RESOURCE_QUOTAS,
  SECRETS,
  SERVICES,
} from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import type { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import {
  calculateUsage,
  equalUsage,
  type Evaluator,
  evaluatorFor,
  formatUsage,
  isIgnoredResource,
  parseObjectCountName,
  parseUsage,
  type UsageSource,
} from "../quota/mod.ts";
import { keyOf } from "./controller_utils.ts";
import { customResourceInformers } from "./custom_resource_informers.ts";

/** How long after a charge usage may not be lowered (a charged object is on its way). */
export const CHARGE_SETTLE_MS = 3_000;
/** How often every quota is measured again (kube-controller-manager's resource-quota-sync-period). */
export const RESYNC_MS = 5 * 60_000;

/** What {@linkcode ResourceQuotaReconciler} reads and writes with. */
export interface ResourceQuotaReconcilerOptions {
  quotas: Lister<ResourceQuota>;
  /** The counted objects, per kind; a kind not (yet) watched leaves its resources as they were. */
  source: UsageSource;
  client: ControllerClient;
  /** Re-queues a quota after `ms` (a pod's grace running out, a charge settling, a conflict). */
  enqueueAfter: (key: string, ms: number) => void;
  clock?: Clock;
  /** Default {@linkcode CHARGE_SETTLE_MS}. */
  chargeSettleMs?: number;
}

/** Measures quotas and writes their status. */
export class ResourceQuotaReconciler {
  readonly #quotas: Lister<ResourceQuota>;
  readonly #source: UsageSource;
  readonly #client: ControllerClient;
  readonly #enqueueAfter: (key: string, ms: number) => void;
  readonly #clock: Clock;
  readonly #settleMs: number;
  /** When each quota's usage was last seen to grow (an admission charge). */
  readonly #charged = new Map<string, number>();

  constructor(o: ResourceQuotaReconcilerOptions) {
    this.#quotas = o.quotas;
    this.#source = o.source;
    this.#client = o.client;
    this.#enqueueAfter = o.enqueueAfter;
    this.#clock = o.clock ?? realClock;
    this.#settleMs = o.chargeSettleMs ?? CHARGE_SETTLE_MS;
  }

  /** Notes a quota update: usage that grew is a charge whose object may not be visible yet. */
  observe(old: ResourceQuota, quota: ResourceQuota): void {
    const before = parseUsage(old.status?.used);
    for (const [name, amount] of parseUsage(quota.status?.used)) {
      if (amount.millis > (before.get(name)?.millis ?? 0n)) {
        this.#charged.set(keyOf(quota), this.#clock.now());
        return;
      }
    }
  }

  /** Forgets a deleted quota. */
  forget(key: string): void {
    this.#charged.delete(key);
  }

  /** Writes the quota's status when it differs from `spec.hard` and the measured usage. */
  async reconcile(key: string): Promise<void> {
    const quota = this.#quotas.get(key);
    if (!quota) return this.forget(key);
    const now = this.#clock.now();
    const { used, nextChange } = calculateUsage(quota, this.#source, new Date(now));
    if (nextChange) this.#enqueueAfter(key, nextChange.getTime() - now + 1);
    const hard = quota.spec?.hard ?? {};
    const stored = parseUsage(quota.status?.used);
    const current = quota.status?.used !== undefined && equalUsage(used, stored) &&
      quota.status?.hard !== undefined &&
      equalUsage(parseUsage(quota.status.hard), parseUsage(hard));
    if (current) return;
    const lowers = [...used].some(([name, a]) => a.millis < (stored.get(name)?.millis ?? 0n));
    const charged = this.#charged.get(key);
    if (lowers && charged !== undefined && now - charged < this.#settleMs) {
      this.#enqueueAfter(key, this.#settleMs - (now - charged));
      return;
    }
    try {
      await this.#client.updateStatus(RESOURCE_QUOTAS, {
        ...quota,
        status: { hard, used: formatUsage(used) },
      });
    } catch (e) {
      if (isNotFound(e)) return;
      // Admission charged the quota since the cache was read: measure again on the new one.
      if (isConflict(e)) return this.#enqueueAfter(key, 0);
      throw e;
    }
  }
}

/** Options of {@linkcode runResourceQuotaController}. */
export interface ResourceQuotaControllerOptions {
  informers: InformerSet;
  logger?: Logger;
  /** Default {@linkcode RESYNC_MS}. */
  resyncMs?: number;
  /** Default {@linkcode CHARGE_SETTLE_MS}. */
  chargeSettleMs?: number;
}

/** The kinds measured by their own evaluators, watched from the start. */
const BUILT_IN: readonly ResourceRef[] = [
  PODS,
  SERVICES,
  PERSISTENT_VOLUME_CLAIMS,
  CONFIGMAPS,
  SECRETS,
  REPLICATION_CONTROLLERS,
];

/** A served, namespaced, watchable built-in kind (`count/<resource>.<group>` of it). */
function builtInRef(group: string, resource: string): ResourceRef | undefined {
  return RESOURCES.find((r) =>
    r.group === group && r.plural === resource && r.namespaced && r.verbs.includes("watch")
  );
}

/** What an object costs and which scopes it is in, to tell an update that matters. */
function signature(evaluator: Evaluator, obj: KubeObject): string {
  return JSON.stringify([
    formatUsage(evaluator.usage(obj, new Date())),
    obj.spec?.activeDeadlineSeconds,
    obj.spec?.priorityClassName,
    obj.metadata.deletionTimestamp,
  ]);
}

/** Runs the resource quota controller until `signal` aborts. */
export async function runResourceQuotaController(
  options: ResourceQuotaControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("resourcequota");
  const quotas = informers.get<ResourceQuota>(RESOURCE_QUOTAS);
  const queue = new WorkQueue();
  const watched = new Map<string, Informer<KubeObject>>();
  const source: UsageSource = {
    objects(evaluator, namespace) {
      const inf = watched.get(`${evaluator.group}/${evaluator.resource}`);
      return inf?.hasSynced() ? inf.listNamespace(namespace) : undefined;
    },
  };
  const reconciler = new ResourceQuotaReconciler({
    quotas,
    source,
    client: informers.client,
    enqueueAfter: (key, ms) => queue.addAfter(key, ms),
    chargeSettleMs: options.chargeSettleMs,
  });

  /** The namespace's quotas that limit something `evaluator` measures. */
  const counting = (namespace: string | undefined, evaluator: Evaluator) =>
    quotas.listNamespace(namespace ?? "").filter((q) =>
      evaluator.matchingResources(Object.keys(q.spec?.hard ?? {})).length > 0
    );
  const enqueueCounting = (namespace: string | undefined, evaluator: Evaluator) => {
    for (const q of counting(namespace, evaluator)) queue.add(keyOf(q));
  };
  const watch = (group: string, resource: string, inf: Informer<KubeObject>) => {
    const id = `${group}/${resource}`;
    const evaluator = evaluatorFor(group, resource);
    if (!evaluator || watched.has(id)) return;
    watched.set(id, inf);
    inf.addEventHandler({
      onAdd: (o) => enqueueCounting(o.metadata.namespace, evaluator),
      onUpdate: (old, o) => {
        // Most updates (pod status) change no cost: only compare where a quota counts the kind.
        const qs = counting(o.metadata.namespace, evaluator);
        if (qs.length === 0 || signature(evaluator, old) === signature(evaluator, o)) return;
        for (const q of qs) queue.add(keyOf(q));
      },
      onDelete: (o) => enqueueCounting(o.metadata.namespace, evaluator),
    });
    // A kind watched late: its quotas are measured once its cache is filled (even if empty).
    inf.waitForSync(signal).then((ok) => {
      if (ok) { for (const q of quotas.list()) enqueueCounting(q.metadata.namespace, evaluator); }
    });
  };
  for (const r of BUILT_IN) watch(r.group, r.plural, informers.get(r));
  watch("", "resourcequotas", quotas as Informer<KubeObject>);
  const custom = customResourceInformers(informers, signal);
  custom.subscribe({
    onAdd: (k) => k.ref.namespaced && watch(k.ref.group, k.ref.plural, k.informer),
    onRemove: (k) => watched.delete(`${k.ref.group}/${k.ref.plural}`),
  });
  /** Watches the built-in kinds a quota counts by name. */
  const watchNamed = (q: ResourceQuota) => {
    for (const name of Object.keys(q.spec?.hard ?? {})) {
      const kind = parseObjectCountName(name);
      if (!kind || isIgnoredResource(kind.group, kind.resource)) continue;
      if (watched.has(`${kind.group}/${kind.resource}`)) continue;
      const ref = builtInRef(kind.group, kind.resource);
      if (ref) watch(kind.group, kind.resource, informers.get(ref));
    }
  };
  quotas.addEventHandler({
    onAdd: (q) => {
      watchNamed(q);
      queue.add(keyOf(q));
    },
    onUpdate: (old, q) => {
      reconciler.observe(old, q);
      watchNamed(q);
      const hard = parseUsage(q.spec?.hard);
      const stale = JSON.stringify(old.spec) !== JSON.stringify(q.spec) ||
        !equalUsage(parseUsage(q.status?.hard), hard) ||
        [...hard.keys()].some((n) => q.status?.used?.[n] === undefined);
      if (stale) queue.add(keyOf(q));
    },
    onDelete: (q) => reconciler.forget(keyOf(q)),
  });
  const resync = async () => {
    while (await delay(options.resyncMs ?? RESYNC_MS, signal)) {
      for (const q of quotas.list()) queue.add(keyOf(q));
    }
  };
  await Promise.all([
    resync(),
    runController({
      name: "resourcequota",
      queue,
      workers: 2,
      reconcile: (key) => reconciler.reconcile(key),
      informers: [quotas, custom.crds, ...BUILT_IN.map((r) => informers.get(r))],
      logger,
    }, signal),
  ]);
}
