/**
 * The one wrapper that owns every Docker call the agent makes (the Engine API over its unix
 * socket, see docker_api.ts). It only lists and watches containers labelled with its own node
 * name, so several agents can share one engine; "already stopped" (304) and "not found" (404)
 * count as success for stop/remove; every Docker failure comes out as a {@linkcode DockerError}
 * with a readable message saying what was being done.
 */

import { delay } from "../shared/backoff.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { DockerApi, DockerError } from "./docker_api.ts";
import type * as DockerTypes from "./docker_types.ts";
import { LABEL_NODE } from "./labels.ts";

export { DockerError };
/** The Engine API shapes: `Docker.ContainerCreateOptions`, `Docker.ContainerInspectInfo`, ... */
export type * as Docker from "./docker_types.ts";

/** True when `err` is a Docker 404 (no such container/image). */
export function isDockerNotFound(err: unknown): boolean {
  return err instanceof DockerError && err.statusCode === 404;
}

/** Options for {@linkcode DockerRuntime}. */
export interface DockerRuntimeOptions {
  /** This agent's node name; the value of the `io.skiff.node` label on its containers. */
  nodeName: string;
  /** Path of the engine's unix socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  /**
   * Called after each engine operation (the kubelet's `operation_type` names, see
   * {@linkcode RUNTIME_OPERATIONS}) with whether it failed; the agent's metrics count them.
   */
  onOperation?: (operation: string, failed: boolean) => void;
  logger?: Logger;
}

/**
 * The counted operations: method → the kubelet's CRI `operation_type` name where one exists.
 * The event stream (long-lived) is not an operation.
 */
export const RUNTIME_OPERATIONS = {
  version: "version",
  info: "status",
  listContainers: "list_containers",
  createContainer: "create_container",
  startContainer: "start_container",
  stopContainer: "stop_container",
  killContainer: "kill_container",
  removeContainer: "remove_container",
  inspectContainer: "container_status",
  inspectNetwork: "inspect_network",
  createNetwork: "create_network",
  removeNetwork: "remove_network",
  inspectImage: "image_status",
  listImages: "list_images",
  pullImage: "pull_image",
  loadImage: "load_image",
  exec: "exec_sync",
  execSession: "exec",
  attachSession: "attach",
  logs: "container_logs",
  stats: "container_stats",
} as const;

/** One container event from the engine's event stream. */
export interface ContainerEvent {
  /** Docker action: `create`, `start`, `die`, `stop`, `kill`, `destroy`, `oom`, ... */
  action: string;
  id: string;
  labels: Record<string, string>;
  /** Exit code on `die`. */
  exitCode?: number;
  timeNano: number;
}

/** Result of {@linkcode DockerRuntime.exec}. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the command didn't finish within the timeout (exitCode is then -1). */
  timedOut: boolean;
}

/** An interactive exec started by {@linkcode DockerRuntime.execSession}. */
export interface ExecSession {
  /** Output frames until the process ends. */
  output: AsyncIterable<{ stream: "stdout" | "stderr"; data: Uint8Array }>;
  write(data: Uint8Array): void;
  /** Half-closes stdin (the process sees EOF). */
  closeStdin(): void;
  resize(width: number, height: number): Promise<void>;
  /** Drops the connection (the caller went away). */
  close(): void;
  /** The exit code, once the output has ended. */
  exitCode(): Promise<number>;
}

/** Options for {@linkcode DockerRuntime.logs}. */
export interface LogsOptions {
  follow?: boolean;
  /** Number of lines from the end. */
  tail?: number;
  /** Unix seconds; only lines after this. */
  since?: number;
  timestamps?: boolean;
  /** Stop following when aborted. */
  signal?: AbortSignal;
}

/** A point-in-time resource sample of one container (for `kubectl top`). */
export interface ContainerStatsSample {
  /** Cumulative CPU time used, in nanoseconds. */
  cpuUsageNanos: number;
  /** Memory in use minus page cache (the working set), in bytes. */
  memoryWorkingSetBytes: number;
  /** When the sample was taken (ms since epoch). */
  timestamp: number;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Splits Docker's multiplexed stdout/stderr stream (8-byte frame headers: stream type, 3 zero
 * bytes, big-endian length) back into frames. Feed chunks as they arrive.
 */
export class FrameDemuxer {
  #buf: Uint8Array = new Uint8Array(0);

  /** Adds a chunk; returns the complete frames it finished. */
  push(chunk: Uint8Array): { stream: "stdout" | "stderr"; data: Uint8Array }[] {
    this.#buf = concat(this.#buf, chunk);
    const frames: { stream: "stdout" | "stderr"; data: Uint8Array }[] = [];
    while (this.#buf.length >= 8) {
      const size = new DataView(this.#buf.buffer, this.#buf.byteOffset + 4, 4).getUint32(0);
      if (this.#buf.length < 8 + size) break;
      frames.push({
        stream: this.#buf[0] === 2 ? "stderr" : "stdout",
        data: this.#buf.slice(8, 8 + size),
      });
      this.#buf = this.#buf.slice(8 + size);
    }
    return frames;
  }
}

async function* jsonLines(
  body: ReadableStream<Uint8Array> | null,
): AsyncGenerator<Record<string, unknown>> {
  if (!body) return;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (pending.trim()) yield JSON.parse(pending.trim());
}

function decodeAll(parts: Uint8Array[]): string {
  return new TextDecoder().decode(parts.reduce((a, b) => concat(a, b), new Uint8Array(0)));
}

function short(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

const enc = encodeURIComponent;

/** The agent's handle on the local Docker engine. */
export class DockerRuntime {
  readonly nodeName: string;
  readonly socketPath: string;
  readonly #api: DockerApi;
  readonly #log: Logger;

  constructor(options: DockerRuntimeOptions) {
    this.nodeName = options.nodeName;
    this.socketPath = options.socketPath ?? "/var/run/docker.sock";
    this.#api = new DockerApi(this.socketPath);
    this.#log = options.logger ?? silentLogger;
    if (options.onOperation) this.#countOperations(options.onOperation);
  }

  /** Wraps every counted method of this instance so each call reports its outcome. */
  #countOperations(report: (operation: string, failed: boolean) => void): void {
    const self = this as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const [method, operation] of Object.entries(RUNTIME_OPERATIONS)) {
      const fn = self[method].bind(this);
      self[method] = async (...args) => {
        let failed = true;
        try {
          const r = await fn(...args);
          failed = false;
          return r;
        } finally {
          report(operation, failed);
        }
      };
    }
  }

  /** Engine version facts (`Version`, `ApiVersion`, `KernelVersion`, `Os`, `Arch`). */
  version(): Promise<DockerTypes.DockerVersion> {
    return this.#api.json("GET", "/version", `Docker engine at ${this.socketPath}`);
  }

  /** `docker info` (used for the node's runtime facts). */
  info(): Promise<Record<string, unknown>> {
    return this.#api.json("GET", "/info", `Docker engine at ${this.socketPath}`);
  }

  /**
   * This node's containers (running and exited), optionally narrowed by more labels.
   * Never returns containers of another node.
   */
  listContainers(labels: Record<string, string> = {}): Promise<DockerTypes.ContainerInfo[]> {
    const filter = [`${LABEL_NODE}=${this.nodeName}`];
    for (const [k, v] of Object.entries(labels)) filter.push(`${k}=${v}`);
    return this.#api.json("GET", "/containers/json", "list containers", {
      query: { all: 1, filters: { label: filter } },
    });
  }

  /** Creates a container (the node label is always added) and returns its ID. */
  async createContainer(options: DockerTypes.ContainerCreateOptions): Promise<string> {
    const { name, ...config } = options;
    const labels = { ...options.Labels, [LABEL_NODE]: this.nodeName };
    const r = await this.#api.json<{ Id: string }>(
      "POST",
      "/containers/create",
      `create container ${name ?? ""}`.trim(),
      { query: { name }, body: { ...config, Labels: labels } },
    );
    return r.Id;
  }

  /** Starts a container; already running is fine. */
  async startContainer(id: string): Promise<void> {
    try {
      await this.#api.call("POST", `/containers/${enc(id)}/start`, `start container ${short(id)}`);
    } catch (e) {
      if (e instanceof DockerError && e.statusCode === 304) return;
      throw e;
    }
  }

  /**
   * Stops a container: SIGTERM (or its stop signal), SIGKILL after `timeoutSeconds`.
   * Already stopped (304) or gone (404) is success.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.#api.call("POST", `/containers/${enc(id)}/stop`, `stop container ${short(id)}`, {
        query: { t: Math.max(0, Math.floor(timeoutSeconds)) },
      });
    } catch (e) {
      if (!(e instanceof DockerError)) throw e;
      if (e.statusCode === 304 || e.statusCode === 404) return;
      // 409 "is not running" after a race with its own exit.
      if (e.statusCode === 409 && /not running/i.test(e.message)) return;
      throw e;
    }
  }

  /** Sends a signal (default SIGKILL); a stopped or missing container is success. */
  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    try {
      await this.#api.call("POST", `/containers/${enc(id)}/kill`, `kill container ${short(id)}`, {
        query: { signal },
      });
    } catch (e) {
      if (!(e instanceof DockerError)) throw e;
      if (e.statusCode === 304 || e.statusCode === 404) return;
      if (e.statusCode === 409 && /not running/i.test(e.message)) return;
      throw e;
    }
  }

  /** Removes a container (forcefully: running ones are killed); missing is success. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.#api.call("DELETE", `/containers/${enc(id)}`, `remove container ${short(id)}`, {
        query: { force: true, v: true },
      });
    } catch (e) {
      if (!(e instanceof DockerError)) throw e;
      if (e.statusCode === 404) return;
      // Removal already in progress (another remove raced us) also ends in "gone".
      if (e.statusCode === 409 && /already in progress/i.test(e.message)) return;
      throw e;
    }
  }

  /** Full container facts, or `undefined` when it doesn't exist. */
  async inspectContainer(
    id: string,
    options: { size?: boolean } = {},
  ): Promise<DockerTypes.ContainerInspectInfo | undefined> {
    try {
      return await this.#api.json(
        "GET",
        `/containers/${enc(id)}/json${options.size ? "?size=true" : ""}`,
        `inspect container ${short(id)}`,
      );
    } catch (e) {
      if (isDockerNotFound(e)) return undefined;
      throw e;
    }
  }

  /** A network's facts, or `undefined` when there is none of that name or ID. */
  async inspectNetwork(name: string): Promise<DockerTypes.NetworkInspectInfo | undefined> {
    try {
      return await this.#api.json("GET", `/networks/${enc(name)}`, `inspect network ${name}`);
    } catch (e) {
      if (isDockerNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Creates a network (labelled with this node's name) and returns its ID. */
  async createNetwork(options: DockerTypes.NetworkCreateOptions): Promise<string> {
    const r = await this.#api.json<{ Id: string }>(
      "POST",
      "/networks/create",
      `create network ${options.Name}`,
      { body: { ...options, Labels: { ...options.Labels, [LABEL_NODE]: this.nodeName } } },
    );
    return r.Id;
  }

  /** Removes a network; missing is success. */
  async removeNetwork(name: string): Promise<void> {
    try {
      await this.#api.call("DELETE", `/networks/${enc(name)}`, `remove network ${name}`);
    } catch (e) {
      if (!isDockerNotFound(e)) throw e;
    }
  }

  /** Image facts, or `undefined` when the engine doesn't have it. */
  async inspectImage(ref: string): Promise<DockerTypes.ImageInspectInfo | undefined> {
    try {
      return await this.#api.json("GET", `/images/${ref}/json`, `inspect image ${ref}`);
    } catch (e) {
      if (isDockerNotFound(e)) return undefined;
      throw e;
    }
  }

  /** All images (for the node's `status.images`). */
  listImages(): Promise<DockerTypes.ImageInfo[]> {
    return this.#api.json("GET", "/images/json", "list images");
  }

  /**
   * Pulls an image; throws with the registry's message on failure. `registryAuth` is the
   * `X-Registry-Auth` header (docker_keyring.ts); without it the pull is anonymous — the engine
   * never uses credentials of its own (`docker login` only writes the CLI's config).
   */
  async pullImage(
    ref: string,
    options: { registryAuth?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    const what = `pull image ${ref}`;
    // A reference without a tag or digest means :latest (Docker would pull every tag).
    const lastPart = ref.slice(ref.lastIndexOf("/") + 1);
    const tagged = ref.includes("@") || lastPart.includes(":");
    const res = await this.#api.request("POST", "/images/create", what, {
      query: { fromImage: tagged ? ref : `${ref}:latest` },
      headers: options.registryAuth ? { "X-Registry-Auth": options.registryAuth } : undefined,
      signal: options.signal,
    });
    try {
      for await (const msg of jsonLines(res.body)) {
        if (typeof msg.error === "string") throw new DockerError(`${what}: ${msg.error}`, 500);
      }
    } catch (e) {
      if (e instanceof DockerError) throw e;
      throw new DockerError(`${what}: ${(e as Error).message}`, 0);
    }
  }

  /**
   * Loads a `docker save` tarball (`.tar`, or compressed: the engine detects gzip itself).
   * Returns the image references it loaded.
   */
  async loadImage(path: string): Promise<string[]> {
    const what = `load image tarball ${path}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
    } catch (e) {
      throw new DockerError(`${what}: ${(e as Error).message}`, 0);
    }
    const loaded: string[] = [];
    const res = await this.#api.request("POST", "/images/load", what, {
      query: { quiet: 1 },
      body: file.readable,
      contentType: "application/x-tar",
    });
    for await (const msg of jsonLines(res.body)) {
      if (typeof msg.error === "string") throw new DockerError(`${what}: ${msg.error}`, 500);
      const m = typeof msg.stream === "string"
        ? /Loaded image(?: ID)?: (\S+)/.exec(msg.stream)
        : null;
      if (m) loaded.push(m[1]);
    }
    return loaded;
  }

  async #createExec(
    id: string,
    cmd: string[],
    options: { stdin: boolean; tty: boolean },
    what: string,
  ): Promise<string> {
    const r = await this.#api.json<{ Id: string }>(
      "POST",
      `/containers/${enc(id)}/exec`,
      what,
      {
        body: {
          Cmd: cmd,
          AttachStdin: options.stdin,
          AttachStdout: true,
          AttachStderr: true,
          Tty: options.tty,
        },
      },
    );
    return r.Id;
  }

  async #execExitCode(execId: string, what: string): Promise<number> {
    // The engine may report the exit code a moment after the stream ends.
    for (let i = 0; i < 100; i++) {
      const info = await this.#api.json<{ Running: boolean; ExitCode: number | null }>(
        "GET",
        `/exec/${enc(execId)}/json`,
        what,
      );
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((r) => setTimeout(r, 10));
    }
    return -1;
  }

  /**
   * Runs a command in a running container and collects its output (probes, one-shot exec).
   * On timeout the result has `timedOut: true`; the process may linger in the container.
   */
  async exec(
    id: string,
    cmd: string[],
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ExecResult> {
    const what = `exec ${JSON.stringify(cmd.join(" "))} in container ${short(id)}`;
    const execId = await this.#createExec(id, cmd, { stdin: false, tty: false }, what);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = options.timeoutMs !== undefined
      ? setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, options.timeoutMs)
      : undefined;
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    try {
      const res = await this.#api.request("POST", `/exec/${enc(execId)}/start`, what, {
        body: { Detach: false, Tty: false },
        signal: ac.signal,
      });
      const demux = new FrameDemuxer();
      for await (const chunk of res.body ?? []) {
        for (const f of demux.push(chunk)) (f.stream === "stderr" ? err : out).push(f.data);
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
    if (timedOut) return { exitCode: -1, stdout: decodeAll(out), stderr: decodeAll(err), timedOut };
    const exitCode = await this.#execExitCode(execId, what);
    return { exitCode, stdout: decodeAll(out), stderr: decodeAll(err), timedOut: false };
  }

  /**
   * Starts an interactive exec (kubectl exec): output frames as they come (TTY output is all
   * `stdout`), stdin writes, stdin close, terminal resize, and the exit code at the end.
   */
  async execSession(
    id: string,
    cmd: string[],
    options: { stdin: boolean; tty: boolean },
  ): Promise<ExecSession> {
    const what = `exec ${JSON.stringify(cmd.join(" "))} in container ${short(id)}`;
    const execId = await this.#createExec(id, cmd, options, what);
    const conn = await this.#api.hijack(
      `/exec/${enc(execId)}/start`,
      { Detach: false, Tty: options.tty },
      what,
    );
    const demux = new FrameDemuxer();
    let writing: Promise<void> = Promise.resolve();
    async function* output(): AsyncGenerator<{ stream: "stdout" | "stderr"; data: Uint8Array }> {
      try {
        for await (const chunk of conn.readable) {
          if (options.tty) yield { stream: "stdout", data: chunk };
          else yield* demux.push(chunk);
        }
      } catch {
        // The connection closing is the normal end of an exec.
      } finally {
        conn.close();
      }
    }
    return {
      output: output(),
      write: (data) => {
        writing = writing.then(() => conn.write(data)).catch(() => {});
      },
      closeStdin: () => {
        writing = writing.then(() => conn.closeWrite());
      },
      resize: async (width, height) => {
        await this.#api.call("POST", `/exec/${enc(execId)}/resize`, what, {
          query: { h: height, w: width },
        }).catch(() => {});
      },
      close: () => conn.close(),
      exitCode: () => this.#execExitCode(execId, what),
    };
  }

  /**
   * Attaches to a running container's main process (kubectl attach): its output from now on,
   * stdin when asked (and the container was created with `OpenStdin`), resizes, and its exit
   * code once it ended (0 when it is still running, i.e. the caller detached).
   */
  async attachSession(
    id: string,
    options: { stdin: boolean },
  ): Promise<ExecSession & { tty: boolean }> {
    const what = `attach to container ${short(id)}`;
    const info = await this.inspectContainer(id);
    if (!info) throw new DockerError(`${what}: no such container`, 404);
    // Docker's attachment to a stopped container stays open without a byte or an end.
    if (!info.State.Running) throw new DockerError(`${what}: the container is not running`, 409);
    const tty = info.Config.Tty;
    const stdin = options.stdin && (info.Config.OpenStdin ?? false);
    const query = `stream=1&stdout=1&stderr=1&stdin=${stdin ? 1 : 0}`;
    const conn = await this.#api.hijack(`/containers/${enc(id)}/attach?${query}`, undefined, what);
    // An exit between the check and the attachment would leave it open for good: look again (an
    // exit after the attachment ends its stream).
    const attached = await this.inspectContainer(id).catch(() => undefined);
    if (!attached?.State.Running) conn.close();
    const demux = new FrameDemuxer();
    let writing: Promise<void> = Promise.resolve();
    async function* output(): AsyncGenerator<{ stream: "stdout" | "stderr"; data: Uint8Array }> {
      try {
        for await (const chunk of conn.readable) {
          if (tty) yield { stream: "stdout", data: chunk };
          else yield* demux.push(chunk);
        }
      } catch {
        // The connection closing is the normal end of an attachment.
      } finally {
        conn.close();
      }
    }
    return {
      tty,
      output: output(),
      write: (data) => {
        if (stdin) writing = writing.then(() => conn.write(data)).catch(() => {});
      },
      closeStdin: () => {
        writing = writing.then(() => conn.closeWrite());
      },
      resize: async (width, height) => {
        await this.#api.call("POST", `/containers/${enc(id)}/resize`, what, {
          query: { h: height, w: width },
        }).catch(() => {});
      },
      close: () => conn.close(),
      exitCode: async () => {
        const after = await this.inspectContainer(id).catch(() => undefined);
        return after && !after.State.Running ? after.State.ExitCode : 0;
      },
    };
  }

  /**
   * A container's log as a byte stream, stdout and stderr merged in order (TTY containers are
   * passed through raw). With `follow` the stream stays open until the container exits or
   * `signal` aborts.
   */
  async logs(id: string, options: LogsOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const what = `logs of container ${short(id)}`;
    const info = await this.inspectContainer(id);
    if (!info) throw new DockerError(`${what}: no such container`, 404);
    const tty = info.Config.Tty;
    const res = await this.#api.request("GET", `/containers/${enc(id)}/logs`, what, {
      query: {
        stdout: 1,
        stderr: 1,
        follow: options.follow ? 1 : 0,
        timestamps: options.timestamps ? 1 : 0,
        tail: options.tail ?? "all",
        since: options.since ?? 0,
      },
      signal: options.signal,
    });
    const body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    if (tty) return body;
    const demux = new FrameDemuxer();
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          for (const f of demux.push(chunk)) c.enqueue(f.data);
        },
      }),
    );
  }

  /** One resource sample of a running container. */
  async stats(id: string): Promise<ContainerStatsSample> {
    const s = await this.#api.json<DockerTypes.ContainerStats>(
      "GET",
      `/containers/${enc(id)}/stats`,
      `stats of container ${short(id)}`,
      { query: { stream: false, "one-shot": true } },
    );
    const mem = s.memory_stats ?? {};
    const st = mem.stats ?? {};
    const cache = st.inactive_file ?? st.total_inactive_file ?? st.cache ?? 0;
    return {
      cpuUsageNanos: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
      memoryWorkingSetBytes: Math.max(0, (mem.usage ?? 0) - cache),
      timestamp: Date.now(),
    };
  }

  /**
   * Streams this node's container events to `onEvent` until `signal` aborts, reconnecting with
   * back-off when the engine goes away. `onConnect` runs after every (re)connection — the caller
   * relists there, since events may have been missed while disconnected.
   */
  async watchEvents(
    signal: AbortSignal,
    handlers: { onEvent: (e: ContainerEvent) => void; onConnect?: () => void },
  ): Promise<void> {
    let backoffMs = 100;
    while (!signal.aborted) {
      try {
        const res = await this.#api.request("GET", "/events", "events", {
          query: { filters: { type: ["container"], label: [`${LABEL_NODE}=${this.nodeName}`] } },
          signal,
        });
        backoffMs = 100;
        handlers.onConnect?.();
        for await (const msg of jsonLines(res.body)) {
          const actor = (msg.Actor ?? {}) as { ID?: string; Attributes?: Record<string, string> };
          const attrs = actor.Attributes ?? {};
          const action = String(msg.Action ?? msg.status ?? "");
          handlers.onEvent({
            action: action.split(":")[0],
            id: actor.ID ?? String(msg.id ?? ""),
            labels: attrs,
            exitCode: attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined,
            timeNano: Number(msg.timeNano ?? 0),
          });
        }
        if (!signal.aborted) this.#log.warn("Docker event stream ended; reconnecting");
      } catch (e) {
        if (signal.aborted) break;
        this.#log.warn("Docker event stream failed; reconnecting", {
          error: (e as Error).message,
          retryMs: delay,
        });
      }
      if (signal.aborted) break;
      await delay(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 5000);
    }
  }
}
