/**
 * Computes a pod's status from what the agent observed — the Docker containers of the pod, their
 * probe results and why any container is waiting — following the kubelet's rules for phase,
 * conditions and container states. Pure functions; the sync loop decides when to patch.
 */

import type { Docker } from "./docker_runtime.ts";
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
  PortMapping,
} from "./pod_types.ts";
import { rfc3339 } from "../shared/time.ts";
import { isSidecar } from "../shared/api/pod_resources.ts";
import { qosClass } from "../shared/api/qos_class.ts";
import type { PodPhase } from "../shared/api/core_v1.ts";

/** One Docker container instance of a pod container, as inspected. */
export interface ContainerInstance {
  id: string;
  restartCount: number;
  running: boolean;
  /** Created but never started (e.g. the agent died between create and start). */
  created: boolean;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  oomKilled: boolean;
  error?: string;
  imageID: string;
  /** What the container left at its terminationMessagePath (or its log's end), once exited. */
  terminationMessage?: string;
}

/** Reads the facts the status needs from a Docker inspect. */
export function instanceFromInspect(
  info: Docker.ContainerInspectInfo,
  restartCount: number,
): ContainerInstance {
  const s = info.State;
  const zero = (t?: string) => (!t || t.startsWith("0001-01-01") ? undefined : t);
  return {
    id: info.Id,
    restartCount,
    running: s.Running || s.Paused || s.Restarting,
    // A container whose start failed stays "created" with an error: that counts as a crash.
    created: s.Status === "created" && !s.Error,
    exitCode: s.ExitCode ?? 0,
    startedAt: zero(s.StartedAt),
    finishedAt: zero(s.FinishedAt),
    oomKilled: s.OOMKilled ?? false,
    error: s.Error || undefined,
    imageID: info.Image,
  };
}

/** How long after a SIGKILL exit Docker's `OOMKilled` mark is waited for. */
export const OOM_MARK_WAIT_MS = 1000;

/**
 * True while Docker may not yet have marked an exited container `OOMKilled`: it exited by
 * SIGKILL (137) less than `windowMs` ago without the mark. Docker sets the mark from the
 * runtime's OOM event, which can arrive after the exit is visible; a status written at once
 * would say `Error` for good.
 */
export function oomMayBePending(
  info: Docker.ContainerInspectInfo,
  now = Date.now(),
  windowMs = OOM_MARK_WAIT_MS,
): boolean {
  const s = info.State;
  if (s.Running || s.Status !== "exited" || s.ExitCode !== 137 || s.OOMKilled) return false;
  const finished = Date.parse(s.FinishedAt ?? "");
  return Number.isFinite(finished) && now - finished < windowMs;
}

/** What the agent knows about one container of the pod spec. */
export interface ContainerView {
  spec: Container;
  /** The newest Docker instance, if any. */
  current?: ContainerInstance;
  /** The instance before it (for `lastState`). */
  previous?: ContainerInstance;
  /** Why no instance is running now, when the agent is holding it back. */
  waiting?: { reason: string; message?: string };
  /** Readiness probe result (true when there is no readiness probe and it runs). */
  ready: boolean;
  /** Startup probe passed (true when there is none and it runs). */
  started: boolean;
}

/** Everything {@linkcode computePodStatus} needs. */
export interface PodObservation {
  hostIP: string;
  podIP?: string;
  portMappings: PortMapping[];
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** Ephemeral containers: reported, never counted in phase or readiness. */
  ephemeralContainers?: ContainerView[];
  /** When the agent first acknowledged the pod (kept from the previous status when set). */
  startTime: string;
  /** A pod-level failure to report (e.g. the sandbox couldn't be created). */
  message?: string;
  reason?: string;
  /** A phase the node decided on its own (Failed: active deadline exceeded). */
  phase?: PodPhase;
}

function terminatedState(i: ContainerInstance): ContainerState {
  const reason = i.oomKilled ? "OOMKilled" : i.exitCode === 0 ? "Completed" : "Error";
  return {
    terminated: {
      exitCode: i.exitCode,
      reason: i.error && !i.startedAt ? "ContainerCannotRun" : reason,
      // The termination message wins over the runtime's error, as in the kubelet.
      ...(i.terminationMessage || i.error ? { message: i.terminationMessage || i.error } : {}),
      startedAt: i.startedAt ?? i.finishedAt,
      finishedAt: i.finishedAt,
      containerID: `docker://${i.id}`,
    },
  };
}

function imageIDOf(i?: ContainerInstance): string {
  return i ? `docker://${i.imageID}` : "";
}

/** The containerStatus entry for one container. */
export function containerStatus(v: ContainerView): ContainerStatus {
  const cur = v.current;
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (cur && cur.running && !v.waiting) {
    state = { running: { startedAt: cur.startedAt } };
    if (v.previous) lastState = terminatedState(v.previous);
  } else if (v.waiting) {
    state = {
      waiting: {
        reason: v.waiting.reason,
        ...(v.waiting.message ? { message: v.waiting.message } : {}),
      },
    };
    if (cur && !cur.running && !cur.created) lastState = terminatedState(cur);
    else if (v.previous) lastState = terminatedState(v.previous);
  } else if (cur && !cur.created) {
    state = terminatedState(cur);
    if (v.previous) lastState = terminatedState(v.previous);
  } else {
    state = { waiting: { reason: "ContainerCreating" } };
  }
  const running = !!state.running;
  const status: ContainerStatus = {
    name: v.spec.name,
    state,
    lastState,
    ready: running && v.ready,
    restartCount: cur?.restartCount ?? 0,
    image: v.spec.image ?? "",
    imageID: imageIDOf(cur),
    started: running && v.started,
  };
  if (cur) status.containerID = `docker://${cur.id}`;
  if (v.spec.lifecycle?.stopSignal) status.stopSignal = v.spec.lifecycle.stopSignal;
  return status;
}

function condition(
  type: string,
  ok: boolean,
  prev: PodCondition[] | undefined,
  now: string,
  reason?: string,
): PodCondition {
  const status = ok ? "True" : "False";
  const old = prev?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
  };
  if (!ok && reason) c.reason = reason;
  return c;
}

/** The kubelet's phase rules, from the containers' statuses. */
export function podPhase(
  pod: Pod,
  init: ContainerStatus[],
  statuses: ContainerStatus[],
): PodPhase {
  const policy = pod.spec.restartPolicy ?? "Always";
  const sidecars = sidecarNames(pod);
  // An init container that failed for good fails the pod; one not yet done keeps it Pending.
  for (const s of init) {
    if (sidecars.has(s.name)) continue;
    const t = s.state.terminated;
    if (t && t.exitCode === 0) continue;
    if (t && policy === "Never") return "Failed";
    return "Pending";
  }
  let waiting = 0, running = 0, stopped = 0, succeeded = 0;
  // Sidecars not started yet keep a pod Pending until its app containers have run (the
  // kubelet's pendingRestartableInitContainers); a sidecar that stopped counts for nothing.
  const appsRan = anyRan(statuses);
  const sidecarPending = init.some((s) =>
    sidecars.has(s.name) &&
    (s.state.running ? !s.started : s.state.waiting ? !s.lastState.terminated : !s.state.terminated)
  );
  if (sidecarPending && !appsRan) return "Pending";
  for (const s of statuses) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      // A container waiting to restart has run before: it counts as stopped, not pending.
      if (s.lastState.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (succeeded === stopped) return "Succeeded";
    return policy === "Never" ? "Failed" : "Running";
  }
  return "Pending";
}

/** The full status the pod should have now, reusing transition times from `pod.status`. */
export function computePodStatus(pod: Pod, obs: PodObservation, now = new Date()): PodStatus {
  const ts = rfc3339(now);
  const prev = pod.status?.conditions;
  const init = obs.initContainers.map(containerStatus);
  const statuses = obs.containers.map(containerStatus);
  const phase = obs.phase ?? podPhase(pod, init, statuses);
  const sidecars = sidecarNames(pod);
  // A sidecar counts as initialized once started, and its readiness counts with the app's; a pod
  // whose app containers have run stays initialized while a sidecar restarts (the kubelet's).
  const initialized = (sidecars.size > 0 && anyRan(statuses)) ||
    init.every((s) =>
      sidecars.has(s.name) ? s.started === true : s.state.terminated?.exitCode === 0
    );
  const containersReady = statuses.length > 0 && statuses.every((s) => s.ready) &&
    init.every((s) => !sidecars.has(s.name) || s.ready);
  const gates = (pod.spec.readinessGates ?? []).every((g) =>
    pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === "True")
  );
  const terminal = phase === "Succeeded" || phase === "Failed";
  const notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady";
  const conditions: PodCondition[] = [
    condition("PodReadyToStartContainers", obs.podIP !== undefined, prev, ts),
    condition(
      "Initialized",
      initialized,
      prev,
      ts,
      terminal ? "PodCompleted" : "ContainersNotInitialized",
    ),
    condition("Ready", containersReady && gates && !terminal, prev, ts, notReadyReason),
    condition("ContainersReady", containersReady && !terminal, prev, ts, notReadyReason),
    condition("PodScheduled", true, prev, ts),
  ];
  // Keep conditions other components own (readiness gates, DisruptionTarget, ...).
  for (const c of prev ?? []) {
    if (!conditions.some((x) => x.type === c.type)) conditions.push(c);
  }
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: obs.hostIP,
    hostIPs: [{ ip: obs.hostIP }],
    startTime: obs.startTime,
    containerStatuses: statuses,
    qosClass: pod.status?.qosClass ?? qosClass(pod.spec),
    portMappings: obs.portMappings,
  };
  if (obs.podIP) {
    status.podIP = obs.podIP;
    status.podIPs = [{ ip: obs.podIP }];
  }
  if (init.length) status.initContainerStatuses = init;
  if (obs.ephemeralContainers?.length) {
    status.ephemeralContainerStatuses = obs.ephemeralContainers.map(containerStatus);
  }
  if (obs.message) status.message = obs.message;
  if (obs.reason) status.reason = obs.reason;
  return status;
}

/** Stable JSON used to tell whether a status changed. */
export function statusFingerprint(s: PodStatus | undefined): string {
  if (!s) return "";
  return JSON.stringify(sortKeys(s));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}

/** Whether any of these containers has run (is running, or has terminated at least once). */
function anyRan(statuses: ContainerStatus[]): boolean {
  return statuses.some((s) => !s.state.waiting || s.lastState.terminated);
}

/** Names of the pod's sidecars (init containers with `restartPolicy: Always`). */
function sidecarNames(pod: Pod): Set<string> {
  return new Set((pod.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name));
}
