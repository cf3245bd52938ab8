/**
 * What kubectl shows in a pod's READY, STATUS and RESTARTS columns, computed the way
 * kube-apiserver's pod printer does: the phase, overridden by the pod's reason, then by the first
 * unfinished init container (`Init:1/2`, `Init:ErrImagePull`), then by the last container with a
 * waiting or terminated reason (`ContainerCreating`, `CrashLoopBackOff`, `Completed`, `Error`,
 * `ExitCode:3`), and finally `Terminating` while a deletion is pending.
 */

import type { KubeObject } from "../../shared/api/object.ts";
import { humanDuration } from "./tables/human_duration.ts";

/** The pod reason the node lifecycle controller sets on pods of an unreachable node. */
const NODE_UNREACHABLE_REASON = "NodeLost";

// deno-lint-ignore no-explicit-any
type Any = any;

/** READY/STATUS/RESTARTS of one pod. */
export interface PodStatusSummary {
  readyContainers: number;
  totalContainers: number;
  /** `1/2`. */
  ready: string;
  /** The STATUS column. */
  status: string;
  restarts: number;
  /** When a container last terminated before a restart, if known. */
  lastRestart?: Date;
  /** The RESTARTS column: `0`, `3`, or `2 (5m ago)`. */
  restartsText: string;
}

function isRestartableInit(container: Any): boolean {
  return container?.restartPolicy === "Always";
}

function conditionTrue(pod: Any, type: string): boolean {
  return (pod.status?.conditions ?? []).some((c: Any) => c.type === type && c.status === "True");
}

function terminatedText(t: Any, prefix: string): string {
  if (t.reason) return `${prefix}${t.reason}`;
  if (t.signal) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

function later(a: Date | undefined, finishedAt: string | undefined): Date | undefined {
  if (!finishedAt) return a;
  const t = new Date(finishedAt);
  if (Number.isNaN(t.getTime())) return a;
  return a === undefined || a < t ? t : a;
}

/** Computes READY, STATUS and RESTARTS for `pod` as of `now` (for the "ago" of RESTARTS). */
export function podStatusSummary(pod: KubeObject, now: Date = new Date()): PodStatusSummary {
  const spec: Any = pod.spec ?? {};
  const status: Any = pod.status ?? {};
  const initSpecs: Any[] = spec.initContainers ?? [];
  const initByName = new Map<string, Any>(initSpecs.map((c) => [c.name, c]));

  const totalContainers = (spec.containers ?? []).length +
    initSpecs.filter(isRestartableInit).length;
  let readyContainers = 0;
  let restarts = 0;
  let lastRestart: Date | undefined;
  let sidecarRestarts = 0;
  let sidecarLastRestart: Date | undefined;

  let reason: string = status.phase ?? "";
  if (status.reason) reason = status.reason;
  for (const c of status.conditions ?? []) {
    if (c.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";
  }

  let initializing = false;
  const initStatuses: Any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const state = cs.state ?? {};
    restarts += cs.restartCount ?? 0;
    lastRestart = later(lastRestart, cs.lastState?.terminated?.finishedAt);
    const sidecar = isRestartableInit(initByName.get(cs.name));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      sidecarLastRestart = later(sidecarLastRestart, cs.lastState?.terminated?.finishedAt);
    }
    if (state.terminated && (state.terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (state.terminated) {
      reason = terminatedText(state.terminated, "Init:");
    } else if (state.waiting?.reason && state.waiting.reason !== "PodInitializing") {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, "Initialized")) {
    // Once initialized, only sidecar restarts count from the init containers.
    restarts = sidecarRestarts;
    lastRestart = sidecarLastRestart;
    let hasRunning = false;
    const statuses: Any[] = status.containerStatuses ?? [];
    // Walk backwards so that the first container's state wins, as kubectl shows it.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      const state = cs.state ?? {};
      restarts += cs.restartCount ?? 0;
      lastRestart = later(lastRestart, cs.lastState?.terminated?.finishedAt);
      if (state.waiting?.reason) {
        reason = state.waiting.reason;
      } else if (state.terminated) {
        reason = terminatedText(state.terminated, "");
      } else if (cs.ready && state.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = conditionTrue(pod, "Ready") ? "Running" : "NotReady";
    }
  }

  const terminal = status.phase === "Succeeded" || status.phase === "Failed";
  if (pod.metadata.deletionTimestamp && status.reason === NODE_UNREACHABLE_REASON) {
    reason = "Unknown";
  } else if (pod.metadata.deletionTimestamp && !terminal) {
    reason = "Terminating";
  }

  const restartsText = restarts !== 0 && lastRestart
    ? `${restarts} (${humanDuration(now.getTime() - lastRestart.getTime())} ago)`
    : String(restarts);
  return {
    readyContainers,
    totalContainers,
    ready: `${readyContainers}/${totalContainers}`,
    status: reason,
    restarts,
    lastRestart,
    restartsText,
  };
}
