/**
 * Container probes: one worker per (container instance, probe kind) runs the probe — exec through
 * Docker, httpGet, or tcpSocket against the pod's IP — on its own timer with the probe's timing
 * fields, and turns runs into results with the success/failure thresholds. Startup gates the
 * other two; liveness (and startup) failure asks the pod's sync to restart the container;
 * readiness flips the container's `ready`. Every result change wakes the pod's sync.
 */

import { type Logger, silentLogger } from "../shared/log.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { delay } from "../shared/backoff.ts";
import type { Container, Pod, Probe } from "./pod_types.ts";

/** The three probe kinds. */
export type ProbeKind = "startup" | "liveness" | "readiness";

/** The outcome of one probe run. */
export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed (command output, HTTP status, connect error). */
  output: string;
}

/** Runs one probe once against a container. */
export async function runProbe(
  probe: Probe,
  target: { rt: DockerRuntime; containerId: string; podIP: string; container: Container },
): Promise<ProbeOutcome> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const r = await target.rt.exec(target.containerId, probe.exec.command ?? [], { timeoutMs });
    if (r.timedOut) return { ok: false, output: `command timed out after ${timeoutMs / 1000}s` };
    return { ok: r.exitCode === 0, output: (r.stdout + r.stderr).trim() };
  }
  const port = (p: number | string) => {
    if (typeof p === "number") return p;
    if (/^\d+$/.test(p)) return Number(p);
    const named = target.container.ports?.find((x) => x.name === p);
    if (!named) {
      throw new Error(`port "${p}" is not declared by container ${target.container.name}`);
    }
    return named.containerPort;
  };
  if (probe.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? "HTTP").toLowerCase();
    const host = g.host || target.podIP;
    const path = g.path ? (g.path.startsWith("/") ? g.path : `/${g.path}`) : "/";
    const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port(g.port)}${path}`;
    const headers = new Headers({ "User-Agent": "kube-probe/1.32" });
    for (const h of g.httpHeaders ?? []) headers.set(h.name, h.value);
    try {
      const res = await fetch(url, {
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 400) return { ok: true, output: "" };
      // The kubelet's words: the status code alone (it logs the body, it does not report it).
      return { ok: false, output: `HTTP probe failed with statuscode: ${res.status}` };
    } catch (e) {
      const timedOut = (e as Error).name === "TimeoutError";
      const why = timedOut
        ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        : `dial tcp ${host}:${port(g.port)}: ${dialError(e)}`;
      return { ok: false, output: `Get "${url}": ${why}` };
    }
  }
  if (probe.tcpSocket) {
    const host = probe.tcpSocket.host || target.podIP;
    const p = port(probe.tcpSocket.port);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const conn = await Deno.connect({ hostname: host, port: p, signal: ac.signal });
      conn.close();
      return { ok: true, output: "" };
    } catch (e) {
      return { ok: false, output: `dial tcp ${host}:${p}: ${dialError(e)}` };
    } finally {
      clearTimeout(timer);
    }
  }
  return { ok: true, output: "" };
}

/** Callbacks of {@linkcode ProbeManager}. */
export interface ProbeManagerOptions {
  rt: DockerRuntime;
  /** A result changed: sync the pod `namespace/name`. */
  onChange: (podKey: string) => void;
  /** A probe run failed (for the `Unhealthy` event). */
  onFailure?: (pod: Pod, container: string, kind: ProbeKind, output: string) => void;
  logger?: Logger;
}

interface Worker {
  ac: AbortController;
  done: Promise<void>;
}

interface ContainerProbeState {
  podKey: string;
  started: boolean;
  ready: boolean;
  /** Set when liveness or startup gave up: the reason to restart. */
  restartReason?: string;
  workers: Map<ProbeKind, Worker>;
}

/** Probe workers for all running containers of one node. */
export class ProbeManager {
  readonly #opts: ProbeManagerOptions;
  readonly #log: Logger;
  readonly #byId = new Map<string, ContainerProbeState>();

  constructor(options: ProbeManagerOptions) {
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Makes sure the probes of a running container instance are running (idempotent; call on every
   * sync of the pod). `startedAt` anchors `initialDelaySeconds`.
   */
  ensure(
    pod: Pod,
    container: Container,
    target: { containerId: string; podIP: string; startedAt?: string },
  ): void {
    if (this.#byId.has(target.containerId)) return;
    const podKey = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const st: ContainerProbeState = {
      podKey,
      started: !container.startupProbe,
      ready: !container.readinessProbe,
      workers: new Map(),
    };
    this.#byId.set(target.containerId, st);
    const startedMs = target.startedAt ? Date.parse(target.startedAt) : Date.now();
    const spawn = (kind: ProbeKind, probe: Probe) => {
      const ac = new AbortController();
      const done = this.#loop(pod, container, kind, probe, {
        ...target,
        startedMs,
        st,
        signal: ac.signal,
      }).catch((e) => this.#log.warn("probe worker failed", { pod: podKey, kind, error: e }));
      st.workers.set(kind, { ac, done });
    };
    if (container.startupProbe) spawn("startup", container.startupProbe);
    if (container.livenessProbe) spawn("liveness", container.livenessProbe);
    if (container.readinessProbe) spawn("readiness", container.readinessProbe);
  }

  /** Readiness of a container instance (true without a readiness probe). */
  ready(containerId: string): boolean {
    return this.#byId.get(containerId)?.ready ?? false;
  }

  /** Whether the startup probe passed (true without one). */
  started(containerId: string): boolean {
    return this.#byId.get(containerId)?.started ?? false;
  }

  /** Why the container must be restarted (liveness/startup gave up), if it must. */
  restartReason(containerId: string): string | undefined {
    return this.#byId.get(containerId)?.restartReason;
  }

  /** Stops the probes of every instance not in `keep` (dead or removed containers). */
  async retain(keep: Set<string>, podKey?: string): Promise<void> {
    const stopping: Promise<void>[] = [];
    for (const [id, st] of this.#byId) {
      if (keep.has(id) || (podKey !== undefined && st.podKey !== podKey)) continue;
      this.#byId.delete(id);
      for (const w of st.workers.values()) {
        w.ac.abort();
        stopping.push(w.done);
      }
    }
    await Promise.all(stopping);
  }

  /** Stops every probe worker. */
  async stop(): Promise<void> {
    await this.retain(new Set());
  }

  async #loop(
    pod: Pod,
    container: Container,
    kind: ProbeKind,
    probe: Probe,
    ctx: {
      containerId: string;
      podIP: string;
      startedMs: number;
      st: ContainerProbeState;
      signal: AbortSignal;
    },
  ): Promise<void> {
    const { st, signal } = ctx;
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const successThreshold = Math.max(1, probe.successThreshold ?? 1);
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    const initialMs = (probe.initialDelaySeconds ?? 0) * 1000;
    await delay(Math.max(0, ctx.startedMs + initialMs - Date.now()), signal);
    let successes = 0;
    let failures = 0;
    while (!signal.aborted) {
      // Liveness and readiness wait for the startup probe, as in Kubernetes.
      if (kind === "startup" || st.started) {
        let out: ProbeOutcome;
        try {
          out = await runProbe(probe, {
            rt: this.#opts.rt,
            containerId: ctx.containerId,
            podIP: ctx.podIP,
            container,
          });
        } catch (e) {
          out = { ok: false, output: (e as Error).message };
        }
        if (signal.aborted) return;
        if (out.ok) {
          successes++;
          failures = 0;
        } else {
          failures++;
          successes = 0;
          this.#opts.onFailure?.(pod, container.name, kind, out.output);
        }
        if (kind === "startup") {
          if (successes >= 1) {
            st.started = true;
            this.#opts.onChange(st.podKey);
            return;
          }
          if (failures >= failureThreshold) {
            st.restartReason =
              `Container ${container.name} failed startup probe, will be restarted`;
            this.#opts.onChange(st.podKey);
            return;
          }
        } else if (kind === "liveness") {
          if (failures >= failureThreshold) {
            st.restartReason =
              `Container ${container.name} failed liveness probe, will be restarted`;
            this.#opts.onChange(st.podKey);
            return;
          }
        } else {
          if (!st.ready && successes >= successThreshold) {
            st.ready = true;
            this.#opts.onChange(st.podKey);
          } else if (st.ready && failures >= failureThreshold) {
            st.ready = false;
            this.#opts.onChange(st.podKey);
          }
        }
      }
      await delay(periodMs, signal);
    }
  }
}

/**
 * A failed connection as Go's net package words it, which the kubelet's probe messages carry
 * (`connect: connection refused`); other errors keep their own message.
 */
function dialError(e: unknown): string {
  // fetch's TypeError("fetch failed") carries the connection's error as its cause.
  const cause = (e as Error).cause;
  const message = [(e as Error).message ?? String(e), (cause as Error)?.message].join(" ");
  if (
    e instanceof Deno.errors.ConnectionRefused || /Connection refused|os error 111/.test(message)
  ) {
    return "connect: connection refused";
  }
  if ((e as Error).name === "AbortError" || e instanceof Deno.errors.TimedOut) return "i/o timeout";
  if (/No route to host|os error 113/.test(message)) return "connect: no route to host";
  return (cause as Error)?.message ?? (e as Error).message ?? String(e);
}
