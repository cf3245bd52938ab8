/**
 * The horizontal-pod-autoscaler controller (kube-controller-manager's podautoscaler): every
 * 15 s per HorizontalPodAutoscaler (upstream's sync period), read the target's `scale`
 * subresource, the pods its selector selects and their usage from the metrics API Skiff serves
 * (metrics.k8s.io, fed by the agents), compute a replica count per metric
 * (hpa_replica_calculator.ts) and take the largest, normalize it (hpa_behavior.ts: stabilization,
 * rate policies, min/max), write the new scale when it differs, and keep the status kubectl shows
 * (currentMetrics, current/desired replicas, lastScaleTime, the AbleToScale / ScalingActive /
 * ScalingLimited conditions) and upstream's events (SuccessfulRescale, FailedGetScale,
 * FailedGetResourceMetric, FailedComputeMetricsReplicas, FailedRescale).
 *
 * Shape: {@linkcode HorizontalPodAutoscalerReconciler} takes a lister, a recorder, a clock and an
 * {@linkcode HpaSources} (scale and metrics reads, scale writes) so its decisions are unit-tested
 * without a server; {@linkcode runHorizontalPodAutoscalerController} wires it to the informers
 * and the API.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { formatMillis, quantityMillis } from "../../shared/api/quantity.ts";
import { resourceForKind } from "../../shared/api/resources.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { errorFromResponse } from "../../shared/client/client.ts";
import { HORIZONTAL_POD_AUTOSCALERS, PODS } from "../../shared/client/refs.ts";
import { type Clock, realClock } from "../../shared/clock.ts";
import { runController } from "../../shared/controller.ts";
import type { EventRecorder, Recorder } from "../../shared/events.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { parseSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { rfc3339 } from "../../shared/time.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { keyOf } from "./controller_utils.ts";
import { normalizeReplicas, ScaleHistory } from "./hpa_behavior.ts";
import { type PodMetric, resourceReplicas } from "./hpa_replica_calculator.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Upstream's `--horizontal-pod-autoscaler-sync-period`. */
export const HPA_SYNC_PERIOD_MS = 15_000;

/** autoscaling/v1 Scale, as the `scale` subresource serves it. */
export interface Scale {
  metadata: Obj;
  spec: { replicas?: number };
  status: { replicas?: number; selector?: string };
}

/** What the reconciler reads and writes besides its lister. */
export interface HpaSources {
  getScale(namespace: string, ref: Obj): Promise<Scale>;
  updateScale(namespace: string, ref: Obj, scale: Scale): Promise<void>;
  /** Samples of the selected pods, by pod name, for one resource (and container). */
  podMetrics(
    namespace: string,
    selector: string,
    resource: string,
    container?: string,
  ): Promise<Map<string, PodMetric>>;
  writeStatus(hpa: KubeObject, status: Obj): Promise<void>;
}

/** What {@linkcode HorizontalPodAutoscalerReconciler} works on. */
export interface HpaReconcilerOptions {
  listers: { hpas: Lister<KubeObject>; pods: Lister<KubeObject> };
  sources: HpaSources;
  recorder: Recorder;
  clock?: Clock;
}

const HPA_TYPE = { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" };

/** One metric's proposal and status entry. */
interface MetricProposal {
  replicas: number;
  status: Obj;
  /** `cpu resource utilization (percentage of request)`, for events and conditions. */
  name: string;
}

/** The autoscaler's reconciler; see the module comment. */
export class HorizontalPodAutoscalerReconciler {
  readonly #l: HpaReconcilerOptions["listers"];
  readonly #sources: HpaSources;
  readonly #recorder: Recorder;
  readonly #clock: Clock;
  readonly #history = new Map<string, ScaleHistory>();

  constructor(options: HpaReconcilerOptions) {
    this.#l = options.listers;
    this.#sources = options.sources;
    this.#recorder = options.recorder;
    this.#clock = options.clock ?? realClock;
  }

  /** Forgets an autoscaler's history (it was deleted). */
  forget(key: string): void {
    this.#history.delete(key);
  }

  /** reconcileAutoscaler: one pass over one autoscaler. */
  async reconcile(key: string): Promise<void> {
    const hpa = this.#l.hpas.get(key) as Obj | undefined;
    if (!hpa) {
      this.forget(key);
      return;
    }
    const now = this.#clock.now();
    const conditions = new Conditions(hpa.status?.conditions ?? [], now);
    const scale = await this.#getScale(hpa, conditions);
    if (!scale) return;
    const current = scale.spec.replicas ?? 0;
    const decision = await this.#desiredReplicas(key, hpa, { scale, current, conditions, now });
    if (!decision) {
      await this.#writeStatus(hpa, {
        ...hpa.status,
        currentReplicas: current,
        desiredReplicas: hpa.status?.desiredReplicas ?? current,
        conditions: conditions.list,
      });
      return;
    }
    const { desired, reason, metricStatuses } = decision;
    const rescaled = desired !== current &&
      await this.rescale(hpa, scale, current, desired, reason, conditions, now);
    await this.#writeStatus(hpa, {
      ...hpa.status,
      observedGeneration: hpa.metadata.generation,
      currentReplicas: current,
      desiredReplicas: desired,
      ...(metricStatuses ? { currentMetrics: metricStatuses } : {}),
      ...(rescaled ? { lastScaleTime: rfc3339(new Date(now)) } : {}),
      conditions: conditions.list,
    });
  }

  /** The target's `/scale`; when it cannot be read, says so (event, condition) and is undefined. */
  async #getScale(hpa: Obj, conditions: Conditions): Promise<Scale | undefined> {
    let scale: Scale;
    try {
      scale = await this.#sources.getScale(hpa.metadata.namespace, hpa.spec.scaleTargetRef);
    } catch (err) {
      const message = `the HPA controller was unable to get the target's current scale: ${
        (err as Error).message
      }`;
      this.#event(hpa, "Warning", "FailedGetScale", (err as Error).message);
      conditions.set("AbleToScale", "False", "FailedGetScale", message);
      await this.#writeStatus(hpa, { ...hpa.status, conditions: conditions.list });
      return undefined;
    }
    conditions.set(
      "AbleToScale",
      "True",
      "SucceededGetScale",
      "the HPA controller was able to get the target's current scale",
    );
    return scale;
  }

  /**
   * The replica count to scale to and why: the min/max bounds first (a target scaled to zero is
   * left alone), else the metrics' proposal normalized by the behavior policies and the
   * stabilization window. Undefined when no metric could be computed.
   */
  async #desiredReplicas(
    key: string,
    hpa: Obj,
    options: { scale: Scale; current: number; conditions: Conditions; now: number },
  ): Promise<{ desired: number; reason: string; metricStatuses?: Obj[] } | undefined> {
    const { scale, current, conditions, now } = options;
    const spec = hpa.spec;
    const min = spec.minReplicas ?? 1;
    const metricStatuses: Obj[] | undefined = hpa.status?.currentMetrics;
    if (current === 0 && min !== 0) {
      conditions.set(
        "ScalingActive",
        "False",
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
      );
      return { desired: current, reason: "", metricStatuses };
    }
    if (current > spec.maxReplicas) {
      const reason = "Current number of replicas above Spec.MaxReplicas";
      return { desired: spec.maxReplicas, reason, metricStatuses };
    }
    if (current < min) {
      return {
        desired: min,
        reason: "Current number of replicas below Spec.MinReplicas",
        metricStatuses,
      };
    }
    const computed = await this.computeReplicasForMetrics(hpa, scale, current, conditions, now);
    if (!computed) return undefined;
    const normalized = normalizeReplicas({
      current,
      proposed: computed.replicas,
      minReplicas: min,
      maxReplicas: spec.maxReplicas,
      behavior: spec.behavior,
      history: this.#historyOf(key),
      now,
    });
    conditions.set(
      "AbleToScale",
      "True",
      normalized.stabilization.reason,
      normalized.stabilization.message,
    );
    conditions.set(
      "ScalingLimited",
      normalized.limited.status,
      normalized.limited.reason,
      normalized.limited.message,
    );
    return {
      desired: normalized.replicas,
      reason: computed.replicas > current
        ? `${computed.name} above target`
        : "All metrics below target",
      metricStatuses: computed.statuses,
    };
  }

  /** Every metric's proposal; the largest wins. Returns undefined when none could be computed. */
  async computeReplicasForMetrics(
    hpa: Obj,
    scale: Scale,
    current: number,
    conditions: Conditions,
    now: number,
  ): Promise<{ replicas: number; statuses: Obj[]; name: string } | undefined> {
    const selector = scale.status.selector;
    if (!selector) {
      const msg = "selector is required";
      this.#event(hpa, "Warning", "SelectorRequired", msg);
      conditions.set(
        "ScalingActive",
        "False",
        "InvalidSelector",
        "the HPA target's scale is missing a selector",
      );
      return undefined;
    }
    let best: MetricProposal | undefined;
    const statuses: Obj[] = [];
    let firstError: Error | undefined;
    for (const metric of hpa.spec.metrics ?? []) {
      try {
        const p = await this.computeMetric(hpa, metric, selector, current, now);
        statuses.push(p.status);
        if (!best || p.replicas > best.replicas) best = p;
      } catch (err) {
        firstError ??= err as Error;
        this.#event(hpa, "Warning", "FailedGetResourceMetric", (err as Error).message);
        conditions.set(
          "ScalingActive",
          "False",
          "FailedGetResourceMetric",
          `the HPA was unable to compute the replica count: ${(err as Error).message}`,
        );
      }
    }
    if (!best) {
      this.#event(
        hpa,
        "Warning",
        "FailedComputeMetricsReplicas",
        `invalid metrics (${hpa.spec.metrics?.length ?? 0} invalid out of ${
          hpa.spec.metrics?.length ?? 0
        }), first error is: ${firstError?.message}`,
      );
      return undefined;
    }
    if (!firstError) {
      conditions.set(
        "ScalingActive",
        "True",
        "ValidMetricFound",
        `the HPA was able to successfully calculate a replica count from ${best.name}`,
      );
    }
    return { replicas: best.replicas, statuses, name: best.name };
  }

  /** One Resource or ContainerResource metric. */
  async computeMetric(
    hpa: Obj,
    metric: Obj,
    selector: string,
    current: number,
    now: number,
  ): Promise<MetricProposal> {
    const container = metric.type === "ContainerResource"
      ? metric.containerResource.container
      : undefined;
    const source = metric.resource ?? metric.containerResource;
    const ns = hpa.metadata.namespace;
    const sel = parseSelector(selector);
    const pods = this.#l.pods.byIndex("namespace", ns).filter((p) =>
      sel.matches(p.metadata.labels)
    );
    const metrics = await this.#sources.podMetrics(ns, selector, source.name, container);
    const byUtilization = source.target.type === "Utilization";
    const result = resourceReplicas({
      currentReplicas: current,
      pods,
      metrics,
      resource: source.name,
      container,
      target: byUtilization
        ? { utilization: source.target.averageUtilization }
        : { averageValueMillis: quantityMillis(source.target.averageValue) },
      now,
    });
    const currentValue: Obj = {
      averageValue: source.name === "cpu"
        ? formatMillis(result.rawAverageMillis)
        : String(Math.trunc(result.rawAverageMillis / 1000)),
    };
    if (byUtilization) currentValue.averageUtilization = result.utilization;
    const field = metric.type === "ContainerResource" ? "containerResource" : "resource";
    return {
      replicas: result.replicas,
      status: {
        type: metric.type,
        [field]: { name: source.name, ...(container ? { container } : {}), current: currentValue },
      },
      name: byUtilization
        ? `${source.name} resource utilization (percentage of request)`
        : `${source.name} resource`,
    };
  }

  /** Writes the new scale; records the outcome. Returns whether it succeeded. */
  async rescale(
    hpa: Obj,
    scale: Scale,
    current: number,
    desired: number,
    reason: string,
    conditions: Conditions,
    now: number,
  ): Promise<boolean> {
    try {
      await this.#sources.updateScale(hpa.metadata.namespace, hpa.spec.scaleTargetRef, {
        ...scale,
        spec: { ...scale.spec, replicas: desired },
      });
    } catch (err) {
      const msg = (err as Error).message;
      this.#event(
        hpa,
        "Warning",
        "FailedRescale",
        `New size: ${desired}; reason: ${reason}; error: ${msg}`,
      );
      conditions.set(
        "AbleToScale",
        "False",
        "FailedUpdateScale",
        `the HPA controller was unable to update the target scale: ${msg}`,
      );
      return false;
    }
    this.#historyOf(keyOf(hpa as KubeObject)).recordScale(current, desired, now, hpa.spec.behavior);
    this.#event(hpa, "Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${reason}`);
    conditions.set(
      "AbleToScale",
      "True",
      "SucceededRescale",
      `the HPA controller was able to update the target scale to ${desired}`,
    );
    return true;
  }

  #historyOf(key: string): ScaleHistory {
    let h = this.#history.get(key);
    if (!h) this.#history.set(key, h = new ScaleHistory());
    return h;
  }

  #event(hpa: Obj, type: "Normal" | "Warning", reason: string, message: string): void {
    this.#recorder.record({ ...hpa, ...HPA_TYPE } as KubeObject, type, reason, message);
  }

  async #writeStatus(hpa: Obj, status: Obj): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(hpa.status ?? {})) return;
    await this.#sources.writeStatus(hpa as KubeObject, status);
  }
}

/** An autoscaler's conditions, changed in place; a transition time moves only on a new status. */
export class Conditions {
  readonly list: Obj[];
  readonly #now: number;

  constructor(existing: Obj[], now: number) {
    this.list = existing.map((c) => ({ ...c }));
    this.#now = now;
  }

  set(type: string, status: string, reason: string, message: string): void {
    const at = rfc3339(new Date(this.#now));
    const c = this.list.find((x) => x.type === type);
    if (!c) {
      this.list.push({ type, status, lastTransitionTime: at, reason, message });
      return;
    }
    if (c.status !== status) c.lastTransitionTime = at;
    Object.assign(c, { status, reason, message });
  }
}

/** The milli-unit sample of one pod's metrics object for `resource` (one container, or all). */
export function podMetricSample(
  item: Obj,
  resource: string,
  container?: string,
): PodMetric | undefined {
  let total = 0;
  let found = false;
  for (const c of item.containers ?? []) {
    if (container && c.name !== container) continue;
    const q = c.usage?.[resource];
    if (q === undefined) continue;
    total += quantityMillis(q);
    found = true;
  }
  if (!found) return undefined;
  const windowMs = (Number(/^(\d+(?:\.\d+)?)s$/.exec(item.window ?? "")?.[1]) || 0) * 1000;
  return { valueMillis: total, timestampMs: Date.parse(item.timestamp) || 0, windowMs };
}

/** {@linkcode HpaSources} over the API: the scale subresource and metrics.k8s.io. */
export function apiHpaSources(client: ControllerClient): HpaSources {
  const scalePath = (namespace: string, ref: Obj) => {
    const entry = resourceForKind(ref.apiVersion ?? "", ref.kind);
    if (!entry || !entry.subresources?.includes("scale")) {
      throw new Error(
        `the server could not find the requested resource (${ref.kind} "${ref.name}" has no scale subresource)`,
      );
    }
    const prefix = entry.group ? `/apis/${apiVersionOf(entry)}` : "/api/v1";
    return `${prefix}/namespaces/${namespace}/${entry.plural}/${ref.name}/scale`;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await client.request(method, path, body === undefined ? {} : { body });
    if (!res.ok) throw await errorFromResponse(res);
    return await res.json();
  };
  return {
    getScale: async (namespace, ref) => await call("GET", scalePath(namespace, ref)) as Scale,
    updateScale: async (namespace, ref, scale) => {
      await call("PUT", scalePath(namespace, ref), scale);
    },
    podMetrics: async (namespace, selector, resource, container) => {
      const list = await call(
        "GET",
        `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods?labelSelector=${
          encodeURIComponent(selector)
        }`,
      );
      const out = new Map<string, PodMetric>();
      for (const item of list.items ?? []) {
        const sample = podMetricSample(item, resource, container);
        if (sample) out.set(item.metadata.name, sample);
      }
      return out;
    },
    writeStatus: async (hpa, status) => {
      await client.updateStatus(HORIZONTAL_POD_AUTOSCALERS, { ...hpa, ...HPA_TYPE, status });
    },
  };
}

/** Options of {@linkcode runHorizontalPodAutoscalerController}. */
export interface RunHpaControllerOptions {
  informers: InformerSet;
  recorder: EventRecorder;
  logger?: Logger;
  syncPeriodMs?: number;
}

/** Runs the controller over the shared informers until `signal` aborts. */
export async function runHorizontalPodAutoscalerController(
  options: RunHpaControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const hpas = informers.get(HORIZONTAL_POD_AUTOSCALERS);
  const pods = informers.get(PODS);
  const queue = new WorkQueue();
  const r = new HorizontalPodAutoscalerReconciler({
    listers: { hpas, pods },
    sources: apiHpaSources(informers.client),
    recorder: options.recorder,
  });
  hpas.addEventHandler({
    onAdd: (h) => queue.add(keyOf(h)),
    // Status writes come back as updates: only spec changes need an early pass.
    onUpdate: (o, h) => {
      if (o.metadata.generation !== h.metadata.generation) queue.add(keyOf(h));
    },
    onDelete: (h) => r.forget(keyOf(h)),
  });
  const period = options.syncPeriodMs ?? HPA_SYNC_PERIOD_MS;
  await runController({
    name: "horizontal-pod-autoscaler",
    queue,
    reconcile: async (key) => {
      try {
        await r.reconcile(key);
      } finally {
        if (hpas.get(key)) queue.addAfter(key, period);
      }
    },
    informers: [hpas, pods],
    workers: 2,
    logger: (options.logger ?? silentLogger).child("horizontal-pod-autoscaler"),
  }, signal);
}
