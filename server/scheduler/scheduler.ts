/**
 * The scheduler loop: watches pods and nodes, takes unscheduled pods naming this scheduler from a
 * de-duplicating queue, runs the framework's filters and scores over the cache, books the pod on
 * the chosen node ("assume") and binds it through the `binding` subresource — several bindings
 * in flight while the next decision is already being made. A pod that fits nowhere gets
 * `PodScheduled=False/Unschedulable`, a `FailedScheduling` event, and waits in the unschedulable
 * set until the cluster changes (a node added or changed, a pod deleted or finished), then is
 * retried after its back-off (1 s doubling to 10 s) — never a busy loop. The queue hands out the
 * highest priority first; a pod that fits nowhere may preempt lower-priority pods (preemption.ts),
 * and the room they free is held for it while they terminate (nominator.ts).
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { errorFromResponse } from "../../shared/client/client.ts";
import {
  NAMESPACES,
  NODES,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  PODDISRUPTIONBUDGETS,
  PODS,
  STORAGE_CLASSES,
} from "../../shared/client/refs.ts";
import { isConflict, isNotFound } from "../../shared/errors.ts";
import { EventRecorder } from "../../shared/events.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import type { Counter, Gauge, Histogram } from "../../shared/prometheus.ts";
import { InformerSet } from "../../shared/informer_set.ts";
import { SchedulerCache } from "./cache.ts";
import { type ClusterEvent, numFeasibleNodesToFind, type Profile, schedule } from "./framework.ts";
import { isTerminated, podInfo } from "./pod_info.ts";
import { defaultProfile } from "./profile.ts";
import { rfc3339 } from "../../shared/time.ts";
import { type PodVolumes, VolumeBinding, volumeBinding } from "./volume_binding.ts";
import { prioritySort } from "./scheduling_queue.ts";
import { Nominator } from "./nominator.ts";
import { Preemptor } from "./preemptor.ts";
import { podPriority } from "../../shared/api/scheduling_v1.ts";

/** Options of {@linkcode runScheduler}. */
export interface SchedulerOptions {
  client: ApiClient;
  logger?: Logger;
  /** Pods whose `spec.schedulerName` is this are ours (default `default-scheduler`). */
  schedulerName?: string;
  /** Bindings in flight at once (default 32). */
  parallelBinds?: number;
  /** Plugin lists (default {@linkcode defaultProfile}). */
  profile?: Profile;
  /** Shared informers (e.g. the controllers'); a private set is created and run otherwise. */
  informers?: InformerSet;
  /** Back-off of a pod retried after failing to fit (default 1000 ms doubling to 10 000 ms). */
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  /** Unschedulable pods are retried at least this often even without a cluster change (60 s). */
  unschedulableFlushMs?: number;
  /** Where scheduling attempts and pending pods are counted (`scheduler_*`), if anywhere. */
  metrics?: SchedulerMetrics;
  /** Events recorder (default: one writing as `default-scheduler`). */
  recorder?: EventRecorder;
}

/** The kube-scheduler metric families the scheduler feeds (server/metrics.ts has them). */
export interface SchedulerMetrics {
  scheduleAttempts: Counter;
  schedulingDuration: Histogram;
  pendingPods: Gauge;
}

interface Unschedulable {
  attempts: number;
  since: number;
  /** The filters that rejected it; empty when none did (no nodes): any event retries it. */
  plugins: ReadonlySet<string>;
}

const DEFAULT_SCHEDULER = "default-scheduler";

/** Whether a pod's spec or labels differ (what scheduling reads of the pod itself). */
function specOrLabelsChanged(old: KubeObject, pod: KubeObject): boolean {
  return JSON.stringify(old.spec) !== JSON.stringify(pod.spec) ||
    JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels);
}

/** Runs the scheduler until `signal` aborts; resolves once in-flight bindings have finished. */
export async function runScheduler(options: SchedulerOptions, signal: AbortSignal): Promise<void> {
  const s = new Scheduler(options);
  await s.run(signal);
}

/** One scheduler instance (exported for tests and the benchmark's counters). */
export class Scheduler {
  readonly cache = new SchedulerCache();
  /** Pods bound since start. */
  bound = 0;
  readonly #o: SchedulerOptions;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #profile: Profile;
  readonly #queue = new WorkQueue({
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    order: prioritySort((key) => this.#pods?.get(key)),
  });
  #pods?: { get(key: string): KubeObject | undefined };
  readonly #nominator = new Nominator();
  #preemptor?: Preemptor;
  readonly #unschedulable = new Map<string, Unschedulable>();
  readonly #attempts = new Map<string, number>();
  readonly #recorder: EventRecorder;
  readonly #inFlight = new Set<Promise<void>>();
  #slotWaiter: (() => void) | undefined;
  #start = 0;
  #volumeBinding?: VolumeBinding;
  /** Namespace labels, for pod affinity's `namespaceSelector`. */
  #namespaceLabels?: (namespace: string) => Record<string, string> | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger).child("scheduler");
    this.#name = options.schedulerName ?? DEFAULT_SCHEDULER;
    this.#profile = options.profile ?? defaultProfile();
    this.#recorder = options.recorder ??
      new EventRecorder(options.client, { component: this.#name, logger: this.#logger });
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.#o.metrics?.pendingPods.collect(() => [
      [{ queue: "active" }, this.#queue.len],
      [{ queue: "unschedulable" }, this.#unschedulable.size],
    ]);
    const own = !this.#o.informers;
    const informers = this.#o.informers ??
      new InformerSet(this.#o.client, { logger: this.#logger });
    const pods = informers.get(PODS);
    this.#pods = pods;
    const nodes = informers.get(NODES);
    nodes.addEventHandler({
      onAdd: (n) => {
        this.cache.setNode(n);
        this.#clusterChanged("Node");
      },
      onUpdate: (old, n) => {
        this.cache.setNode(n);
        if (nodeSchedulingChanged(old, n)) this.#clusterChanged("Node");
      },
      onDelete: (n) => {
        this.cache.removeNode(n.metadata.name!);
        this.#clusterChanged("NodeDelete");
      },
    });
    pods.addEventHandler({
      onAdd: (p) => this.#podSeen(p),
      onUpdate: (old, p) => {
        this.#podSeen(p);
        if (
          !p.spec?.nodeName && this.#unschedulable.has(podKey(p)) && specOrLabelsChanged(old, p)
        ) {
          // The pod itself changed (a toleration added, a label that its own affinity or spread
          // reads): retry it after its back-off, as kube-scheduler does for an unschedulable
          // pod's update. Status writes (ours among them) are not such a change.
          this.#retryAfterBackoff(podKey(p));
        }
        // A pod that finished frees its node's resources.
        if (old.spec?.nodeName && !isTerminated(old) && isTerminated(p)) {
          this.#clusterChanged("AssignedPodDelete");
        }
      },
      onDelete: (p) => {
        const key = podKey(p);
        this.#nominator.delete(key);
        this.#unschedulable.delete(key);
        this.#attempts.delete(key);
        if (p.spec?.nodeName) {
          this.cache.deletePod(p);
          this.#clusterChanged("AssignedPodDelete");
        } else {
          this.cache.forget(key);
        }
      },
    });
    // Claims, volumes and classes decide where pods with PersistentVolumeClaims may go; any
    // change to them may make a waiting pod schedulable.
    const claims = informers.get(PERSISTENT_VOLUME_CLAIMS);
    const volumes = informers.get(PERSISTENT_VOLUMES);
    const classes = informers.get(STORAGE_CLASSES);
    const storageChanged = {
      onAdd: () => this.#clusterChanged("Storage"),
      onUpdate: () => this.#clusterChanged("Storage"),
    };
    claims.addEventHandler(storageChanged);
    volumes.addEventHandler({ ...storageChanged, onDelete: () => this.#clusterChanged("Storage") });
    classes.addEventHandler(storageChanged);
    // Pod affinity's namespaceSelector reads namespaces' labels; a relabelled namespace may let a
    // waiting pod in.
    const namespaces = informers.get(NAMESPACES);
    namespaces.addEventHandler({
      onUpdate: (old, n) => {
        if (JSON.stringify(old.metadata.labels) !== JSON.stringify(n.metadata.labels)) {
          this.#clusterChanged("NamespaceLabels");
        }
      },
    });
    this.#namespaceLabels = (name) => namespaces.get(name)?.metadata.labels;
    this.#volumeBinding = new VolumeBinding({
      listers: { claims, volumes, classes, pods },
      client: this.#o.client,
    });
    const pdbs = informers.get(PODDISRUPTIONBUDGETS);
    this.#preemptor = new Preemptor({
      listers: { pods, pdbs },
      client: this.#o.client,
      recorder: this.#recorder,
      nominator: this.#nominator,
      profile: this.#profile,
      schedulerName: this.#name,
      logger: this.#logger,
      requeue: (key) => {
        this.#unschedulable.delete(key);
        this.#queue.add(key);
      },
    });
    const informerRun = own ? informers.run(signal) : Promise.resolve();
    const flush = this.#flushLoop(signal);
    const onAbort = () => this.#queue.shutDown();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const synced = await pods.waitForSync(signal) && await nodes.waitForSync(signal) &&
        await claims.waitForSync(signal) && await volumes.waitForSync(signal) &&
        await classes.waitForSync(signal) && await pdbs.waitForSync(signal) &&
        await namespaces.waitForSync(signal);
      if (synced) await this.#loop(pods, signal);
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#queue.shutDown();
      await Promise.all([...this.#inFlight]);
      await this.#recorder.flush();
      await flush;
      await informerRun;
    }
  }

  #podSeen(p: KubeObject): void {
    this.#nominator.update(podKey(p), p);
    if (p.spec?.nodeName || isTerminated(p)) {
      // A pod placed (or relabelled) on a node can satisfy a waiting pod's pod affinity or
      // raise a topology domain's count.
      if (this.cache.updatePod(p)) this.#clusterChanged("AssignedPodAdd");
      return;
    }
    // A pod with scheduling gates waits until they are all removed (kube-scheduler's
    // SchedulingGates PreEnqueue): the update that removes the last one queues it.
    if (!this.#isOurs(p) || isGated(p)) return;
    const key = podKey(p);
    // Unschedulable pods wait for a cluster change, not for their own updates (our own status
    // write would otherwise retry them at once).
    if (this.#unschedulable.has(key)) return;
    this.#queue.add(key);
  }

  #isOurs(p: KubeObject): boolean {
    return (p.spec?.schedulerName ?? DEFAULT_SCHEDULER) === this.#name &&
      !p.metadata.deletionTimestamp;
  }

  /**
   * Something that may make an unschedulable pod fit happened: retry, after back-off, the pods
   * that a filter interested in `event` rejected (kube-scheduler's queueing hints), so that one
   * more pod bound does not retry every pod waiting for memory.
   */
  #clusterChanged(event: ClusterEvent): void {
    if (this.#unschedulable.size === 0) return;
    const now = Date.now();
    const interested = this.#interestedIn(event);
    for (const [key, u] of this.#unschedulable) {
      if (u.plugins.size > 0 && ![...u.plugins].some((p) => interested.has(p))) continue;
      this.#retryAfterBackoff(key, now);
    }
  }

  /** Moves a waiting pod to the queue once its back-off since its last attempt has passed. */
  #retryAfterBackoff(key: string, now = Date.now()): void {
    const u = this.#unschedulable.get(key);
    if (!u) return;
    this.#unschedulable.delete(key);
    this.#queue.addAfter(key, Math.max(0, this.#backoff(u.attempts) - (now - u.since)));
  }

  /** The filters whose rejections `event` may undo (all of those that declare no events). */
  #interestedIn(event: ClusterEvent): Set<string> {
    const names = new Set<string>();
    for (const f of this.#profile.filters) {
      if (!f.events || f.events.includes(event)) names.add(f.name);
    }
    return names;
  }

  #backoff(attempts: number): number {
    const initial = this.#o.podInitialBackoffMs ?? 1000;
    const max = this.#o.podMaxBackoffMs ?? 10_000;
    return Math.min(initial * 2 ** Math.min(Math.max(attempts - 1, 0), 20), max);
  }

  async #flushLoop(signal: AbortSignal): Promise<void> {
    const every = this.#o.unschedulableFlushMs ?? 60_000;
    while (!signal.aborted) {
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          signal.removeEventListener("abort", stop);
          resolve(true);
        }, every);
        const stop = () => {
          clearTimeout(t);
          resolve(false);
        };
        signal.addEventListener("abort", stop, { once: true });
      });
      if (!ok) return;
      const now = Date.now();
      for (const [key, u] of this.#unschedulable) {
        if (now - u.since >= every) {
          this.#unschedulable.delete(key);
          this.#queue.add(key);
        }
      }
    }
  }

  async #loop(
    pods: { get(key: string): KubeObject | undefined },
    signal: AbortSignal,
  ): Promise<void> {
    const parallel = Math.max(1, this.#o.parallelBinds ?? 32);
    let lastYield = performance.now();
    while (true) {
      // With the in-process client every step can complete on microtasks alone; give timers
      // and sockets (kubectl, agents, watches) a turn so a scheduling burst never starves them.
      if (performance.now() - lastYield > 10) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
      const key = await this.#queue.get(signal);
      if (key === undefined) return;
      try {
        const pod = pods.get(key);
        if (
          !pod || pod.spec?.nodeName || !this.#isOurs(pod) || isGated(pod) ||
          this.cache.isAssumed(key)
        ) {
          continue;
        }
        this.#scheduleOne(key, pod);
      } catch (err) {
        this.#logger.error("scheduling attempt failed", { pod: key, error: err });
        this.#queue.addRateLimited(key);
      } finally {
        this.#queue.done(key);
      }
      while (this.#inFlight.size >= parallel) {
        await new Promise<void>((resolve) => this.#slotWaiter = resolve);
      }
    }
  }

  #scheduleOne(key: string, pod: KubeObject): void {
    const started = performance.now();
    const result = this.#attempt(key, pod);
    const m = this.#o.metrics;
    if (m) {
      const labels = { result, profile: this.#o.schedulerName ?? "default-scheduler" };
      m.scheduleAttempts.inc(labels);
      m.schedulingDuration.observe(labels, (performance.now() - started) / 1000);
    }
  }

  /** One scheduling cycle; returns its result as kube-scheduler's metrics name it. */
  #attempt(key: string, pod: KubeObject): "scheduled" | "unschedulable" {
    const info = podInfo(pod);
    // Room held for nominated pods of higher or equal priority is not this pod's to take.
    const nodes = this.#nominator.view(this.cache.nodes(), key, podPriority(pod));
    // PreFilter: a claim problem no node can fix fails the pod before any node is tried.
    const volumes = this.#volumeBinding?.preFilter(pod);
    if (volumes && "message" in volumes) {
      this.#unschedulableNow(
        key,
        pod,
        `0/${nodes.length} nodes are available: ${volumes.message}.`,
        new Set([volumeBinding.name]),
      );
      return "unschedulable";
    }
    info.volumes = volumes;
    info.namespaceLabels = this.#namespaceLabels;
    const result = schedule(info, nodes, {
      profile: this.#profile,
      feasibleNodesToFind: numFeasibleNodesToFind(nodes.length),
      start: this.#start,
    });
    this.#start = result.nextStart;
    if (!result.node) {
      // PostFilter: preemption, whose API calls run beside the next decisions.
      const preempting = this.#preemptor?.preempt(key, pod, info, nodes);
      if (preempting) this.#track(preempting);
      this.#unschedulableNow(key, pod, result.message, result.plugins);
      return "unschedulable";
    }
    const nodeName = result.node.name;
    this.cache.assume(key, nodeName, info);
    this.#track(this.#bind(key, pod, nodeName, { volumes, node: result.node.node }));
    return "scheduled";
  }

  #unschedulableNow(
    key: string,
    pod: KubeObject,
    message: string,
    plugins: ReadonlySet<string>,
  ): void {
    const attempts = (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, attempts);
    this.#unschedulable.set(key, { attempts, since: Date.now(), plugins });
    this.#logger.debug("unschedulable", { pod: key, message });
    this.#recorder.record(withKind(pod), "Warning", "FailedScheduling", message);
    this.#track(this.#markUnschedulable(pod, message));
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    p.finally(() => {
      this.#inFlight.delete(p);
      const wake = this.#slotWaiter;
      this.#slotWaiter = undefined;
      wake?.();
    });
  }

  async #bind(
    key: string,
    pod: KubeObject,
    nodeName: string,
    chosen: { volumes?: PodVolumes; node: KubeObject },
  ): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    // PreBind: the pod's waiting claims get their volume or their selected node first. A failure
    // (a volume taken meanwhile: 409) sends the pod round again with fresh caches.
    if (chosen.volumes?.delayed.length) {
      try {
        await this.#volumeBinding!.preBind(chosen.volumes, chosen.node);
      } catch (err) {
        this.cache.forget(key);
        this.#logger.info("binding volumes failed, will retry", { pod: key, error: err });
        this.#queue.addRateLimited(key);
        return;
      }
    }
    try {
      const res = await this.#o.client.request(
        "POST",
        `/api/v1/namespaces/${encodeURIComponent(namespace!)}/pods/${
          encodeURIComponent(name!)
        }/binding`,
        {
          body: {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name, namespace, uid },
            target: { apiVersion: "v1", kind: "Node", name: nodeName },
          },
        },
      );
      if (!res.ok) throw await errorFromResponse(res);
      await res.body?.cancel();
      this.bound++;
      this.#attempts.delete(key);
      this.#queue.forget(key);
      this.#recorder.record(
        withKind(pod),
        "Normal",
        "Scheduled",
        `Successfully assigned ${namespace}/${name} to ${nodeName}`,
      );
    } catch (err) {
      this.cache.forget(key);
      // Gone, or already bound by someone else (409): the watch will tell us the truth.
      if (isNotFound(err) || isConflict(err)) return;
      this.#logger.warn("binding failed, will retry", { pod: key, node: nodeName, error: err });
      this.#queue.addRateLimited(key);
    }
  }

  async #markUnschedulable(pod: KubeObject, message: string): Promise<void> {
    const conditions = (pod.status?.conditions ?? []) as Record<string, unknown>[];
    const old = conditions.find((c) => c.type === "PodScheduled");
    if (old && old.status === "False" && old.message === message) return;
    const cond = {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
      lastProbeTime: null,
      lastTransitionTime: old?.status === "False" ? old.lastTransitionTime : rfc3339(),
    };
    const next = [...conditions.filter((c) => c.type !== "PodScheduled"), cond];
    try {
      await this.#o.client.patch(PODS, pod.metadata.name!, { status: { conditions: next } }, {
        namespace: pod.metadata.namespace,
        type: "merge",
        subresource: "status",
      });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#logger.warn("could not set PodScheduled=False", { pod: podKey(pod), error: err });
      }
    }
  }
}

function podKey(p: KubeObject): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** The pod with kind/apiVersion set (list items may lack them) for event references. */
function withKind(pod: KubeObject): KubeObject {
  return pod.kind ? pod : { ...pod, kind: "Pod", apiVersion: "v1" };
}

function nodeSchedulingChanged(a: KubeObject, b: KubeObject): boolean {
  return JSON.stringify([
    a.spec?.unschedulable,
    a.spec?.taints,
    a.metadata.labels,
    a.status?.allocatable,
    a.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status,
  ]) !== JSON.stringify([
    b.spec?.unschedulable,
    b.spec?.taints,
    b.metadata.labels,
    b.status?.allocatable,
    b.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status,
  ]);
}

/** A pod some scheduling gate still holds back. */
function isGated(p: KubeObject): boolean {
  return ((p.spec?.schedulingGates as unknown[] | undefined) ?? []).length > 0;
}
