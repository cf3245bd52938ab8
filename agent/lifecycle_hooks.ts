/**
 * Container lifecycle hooks (`lifecycle.postStart`, `lifecycle.preStop`) run as the kubelet's
 * handler runner does: `exec` inside the container, `httpGet` from the agent against the pod's
 * IP (or the hook's `host`), `sleep` in the agent. `tcpSocket` is accepted by the API for
 * backward compatibility only and fails at run time, as in Kubernetes. The failure messages are
 * the kubelet's, so `kubectl describe` reads the same.
 */

import type { DockerRuntime } from "./docker_runtime.ts";
import type { Container, LifecycleHandler, Pod } from "./pod_types.ts";

/** Where a hook runs. */
export interface HookTarget {
  rt: DockerRuntime;
  containerId: string;
  podIP: string;
  pod: Pod;
  container: Container;
}

/** What a hook run came to: `error` is set (the kubelet's message) when it failed. */
export interface HookOutcome {
  error?: string;
}

/** The kubelet's `format.Pod`: `name_namespace(uid)`. */
function podRef(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

function resolvePort(port: number | string, container: Container): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`couldn't find port: ${port} in ${container.name}`);
  return named.containerPort;
}

/**
 * Runs one hook to its end, or until `signal` aborts (the preStop's share of the grace period
 * ran out; the exec may linger in the container until it is killed).
 */
export async function runLifecycleHook(
  handler: LifecycleHandler,
  target: HookTarget,
  signal?: AbortSignal,
): Promise<HookOutcome> {
  const { container, pod } = target;
  const who = `for Container "${container.name}" in Pod "${podRef(pod)}"`;
  if (handler.exec) {
    const cmd = handler.exec.command ?? [];
    try {
      const r = await target.rt.exec(target.containerId, cmd, { signal });
      if (r.timedOut || signal?.aborted) return {};
      if (r.exitCode === 0) return {};
      const output = r.stdout + r.stderr;
      return {
        error: `Exec lifecycle hook ([${cmd.join(" ")}]) ${who} failed - error: command '${
          cmd.join(" ")
        }' exited with ${r.exitCode}: ${output}, message: ${JSON.stringify(output)}`,
      };
    } catch (e) {
      if (signal?.aborted) return {};
      return {
        error: `Exec lifecycle hook ([${cmd.join(" ")}]) ${who} failed - error: ${
          (e as Error).message
        }, message: ""`,
      };
    }
  }
  if (handler.httpGet) {
    const g = handler.httpGet;
    const path = g.path ? (g.path.startsWith("/") ? g.path : `/${g.path}`) : "/";
    try {
      const host = g.host || target.podIP;
      const port = resolvePort(g.port, container);
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
      const headers = new Headers({ "User-Agent": "kube-lifecycle/1.32" });
      for (const h of g.httpHeaders ?? []) headers.set(h.name, h.value);
      const res = await fetch(url, { headers, signal });
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) {
        throw new Error(`HTTP lifecycle hook (${path}) ${who} failed with status ${res.status}`);
      }
      return {};
    } catch (e) {
      if (signal?.aborted) return {};
      return {
        error: `HTTP lifecycle hook (${path}) ${who} failed - error: ${(e as Error).message}`,
      };
    }
  }
  if (handler.sleep) {
    const seconds = handler.sleep.seconds;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, seconds * 1000);
      signal?.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
    });
    return {};
  }
  // tcpSocket (and an empty handler): Kubernetes keeps tcpSocket only for compatibility and
  // fails it when it runs.
  return { error: `Cannot run handler: invalid handler: ${JSON.stringify(handler)}` };
}

/**
 * Runs a preStop hook within `graceSeconds` and returns how many whole seconds it took (what
 * the kubelet takes off the grace period before it sends the stop signal).
 */
export async function runPreStopHook(
  handler: LifecycleHandler,
  target: HookTarget,
  graceSeconds: number,
): Promise<{ elapsedSeconds: number; error?: string }> {
  const started = performance.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), graceSeconds * 1000);
  try {
    const outcome = await runLifecycleHook(handler, target, ac.signal);
    return {
      elapsedSeconds: Math.floor((performance.now() - started) / 1000),
      error: outcome.error,
    };
  } finally {
    clearTimeout(timer);
  }
}
