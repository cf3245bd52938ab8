/**
 * The one wrapper that owns every Docker call the agent makes (dockerode over the engine's unix
 * socket). It only lists and watches containers labelled with its own node name, so several
 * agents can share one engine; "already stopped" (304) and "not found" (404) count as success for
 * stop/remove; every Docker failure comes out as a {@linkcode DockerError} with a readable message.
 */

// @ts-types="./dockerode.d.ts"
import Docker from "dockerode";
import type { NodeDuplex, NodeStream } from "./dockerode.d.ts";
import { Buffer } from "node:buffer";
import { createReadStream } from "node:fs";
import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import { LABEL_NODE } from "./labels.ts";

export type { Docker };

/** A Docker failure with the operation it happened in and the engine's own message. */
export class DockerError extends Error {
  /** HTTP status from the engine, 0 when the engine couldn't be reached. */
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super(message);
    this.name = "DockerError";
    this.statusCode = statusCode;
  }
}

/** True when `err` is a Docker 404 (no such container/image). */
export function isDockerNotFound(err: unknown): boolean {
  return err instanceof DockerError && err.statusCode === 404;
}

interface RawDockerError {
  statusCode?: number;
  reason?: string;
  json?: { message?: string } | string | null;
  message?: string;
  code?: string;
}

function engineMessage(err: RawDockerError): string {
  if (err.json && typeof err.json === "object" && err.json.message) return err.json.message;
  if (typeof err.json === "string" && err.json.trim()) return err.json.trim();
  if (err.code === "ECONNREFUSED" || err.code === "ENOENT") {
    return `cannot reach the Docker engine (${err.code})`;
  }
  // dockerode's own message: "(HTTP code 500) server error - <engine text>".
  const m = /^\(HTTP code \d+\) [^-]*- (.+)$/s.exec(err.message ?? "");
  if (m && m[1].trim()) return m[1].trim();
  return err.message ?? err.reason ?? String(err);
}

/** Wraps anything dockerode throws into a {@linkcode DockerError} saying what we were doing. */
export function toDockerError(err: unknown, what: string): DockerError {
  if (err instanceof DockerError) return err;
  const raw = (err ?? {}) as RawDockerError;
  return new DockerError(`${what}: ${engineMessage(raw)}`, raw.statusCode ?? 0);
}

/** Options for {@linkcode DockerRuntime}. */
export interface DockerRuntimeOptions {
  /** This agent's node name; the value of the `io.skiff.node` label on its containers. */
  nodeName: string;
  /** Path of the engine's unix socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  logger?: Logger;
}

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

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return new TextEncoder().encode(chunk);
  return new Uint8Array(Buffer.from(chunk as ArrayBuffer));
}

async function* jsonLines(stream: NodeStream): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(toBytes(chunk), { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (pending.trim()) yield JSON.parse(pending.trim());
}

function destroy(stream: NodeStream): void {
  stream.destroy?.();
}

/** The agent's handle on the local Docker engine. */
export class DockerRuntime {
  /** The raw dockerode client, for the rare call not wrapped here. */
  readonly docker: Docker;
  readonly nodeName: string;
  readonly socketPath: string;
  readonly #log: Logger;

  constructor(options: DockerRuntimeOptions) {
    this.nodeName = options.nodeName;
    this.socketPath = options.socketPath ?? "/var/run/docker.sock";
    this.docker = new Docker({ socketPath: this.socketPath });
    this.#log = options.logger ?? silentLogger;
  }

  /** Engine version facts (`Version`, `ApiVersion`, `KernelVersion`, `Os`, `Arch`). */
  async version(): Promise<Docker.DockerVersion> {
    try {
      return await this.docker.version();
    } catch (e) {
      throw toDockerError(e, `Docker engine at ${this.socketPath}`);
    }
  }

  /** `docker info` (used for the node's runtime facts). */
  async info(): Promise<Record<string, unknown>> {
    try {
      return await this.docker.info();
    } catch (e) {
      throw toDockerError(e, `Docker engine at ${this.socketPath}`);
    }
  }

  /**
   * This node's containers (running and exited), optionally narrowed by more labels.
   * Never returns containers of another node.
   */
  async listContainers(labels: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const filter = [`${LABEL_NODE}=${this.nodeName}`];
    for (const [k, v] of Object.entries(labels)) filter.push(`${k}=${v}`);
    try {
      return await this.docker.listContainers({ all: true, filters: { label: filter } });
    } catch (e) {
      throw toDockerError(e, "list containers");
    }
  }

  /** Creates a container (the node label is always added) and returns its ID. */
  async createContainer(options: Docker.ContainerCreateOptions): Promise<string> {
    const labels = { ...options.Labels, [LABEL_NODE]: this.nodeName };
    try {
      const c = await this.docker.createContainer({ ...options, Labels: labels });
      return c.id;
    } catch (e) {
      throw toDockerError(e, `create container ${options.name ?? ""}`.trim());
    }
  }

  /** Starts a container; already running is fine. */
  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      const err = toDockerError(e, `start container ${short(id)}`);
      if (err.statusCode === 304) return;
      throw err;
    }
  }

  /**
   * Stops a container: SIGTERM (or its stop signal), SIGKILL after `timeoutSeconds`.
   * Already stopped (304) or gone (404) is success.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.floor(timeoutSeconds)) });
    } catch (e) {
      const err = toDockerError(e, `stop container ${short(id)}`);
      if (err.statusCode === 304 || err.statusCode === 404) return;
      // 409 "is not running" after a race with its own exit.
      if (err.statusCode === 409 && /not running/i.test(err.message)) return;
      throw err;
    }
  }

  /** Sends a signal (default SIGKILL); a stopped or missing container is success. */
  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (e) {
      const err = toDockerError(e, `kill container ${short(id)}`);
      if (err.statusCode === 304 || err.statusCode === 404) return;
      if (err.statusCode === 409 && /not running/i.test(err.message)) return;
      throw err;
    }
  }

  /** Removes a container (forcefully: running ones are killed); missing is success. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const err = toDockerError(e, `remove container ${short(id)}`);
      if (err.statusCode === 404) return;
      // Removal already in progress (another remove raced us) also ends in "gone".
      if (err.statusCode === 409 && /already in progress/i.test(err.message)) return;
      throw err;
    }
  }

  /** Full container facts, or `undefined` when it doesn't exist. */
  async inspectContainer(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (e) {
      const err = toDockerError(e, `inspect container ${short(id)}`);
      if (err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Image facts, or `undefined` when the engine doesn't have it. */
  async inspectImage(ref: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(ref).inspect();
    } catch (e) {
      const err = toDockerError(e, `inspect image ${ref}`);
      if (err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** All images (for the node's `status.images`). */
  async listImages(): Promise<Docker.ImageInfo[]> {
    try {
      return await this.docker.listImages();
    } catch (e) {
      throw toDockerError(e, "list images");
    }
  }

  /** Pulls an image; throws with the registry's message on failure. */
  async pullImage(ref: string, signal?: AbortSignal): Promise<void> {
    let stream: NodeStream;
    try {
      stream = await this.docker.pull(ref);
    } catch (e) {
      throw toDockerError(e, `pull image ${ref}`);
    }
    const onAbort = () => destroy(stream);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const msg of jsonLines(stream)) {
        if (typeof msg.error === "string") {
          throw new DockerError(`pull image ${ref}: ${msg.error}`, 500);
        }
      }
    } catch (e) {
      throw toDockerError(e, `pull image ${ref}`);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Loads a `docker save` tarball (`.tar`, or compressed: the engine detects gzip itself).
   * Returns the image references it loaded.
   */
  async loadImage(path: string): Promise<string[]> {
    const loaded: string[] = [];
    try {
      const stream = await this.docker.loadImage(createReadStream(path), { quiet: true });
      for await (const msg of jsonLines(stream)) {
        if (typeof msg.error === "string") throw new DockerError(msg.error, 500);
        const m = typeof msg.stream === "string"
          ? /Loaded image(?: ID)?: (\S+)/.exec(msg.stream)
          : null;
        if (m) loaded.push(m[1]);
      }
    } catch (e) {
      throw toDockerError(e, `load image tarball ${path}`);
    }
    return loaded;
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
    let execObj: Docker.Exec;
    let stream: NodeStream;
    try {
      execObj = await this.docker.getContainer(id).exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
      });
      stream = await execObj.start({ hijack: true, stdin: false });
    } catch (e) {
      throw toDockerError(e, what);
    }
    const demux = new FrameDemuxer();
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = (async () => {
      for await (const chunk of stream) {
        for (const f of demux.push(toBytes(chunk))) {
          (f.stream === "stderr" ? err : out).push(f.data);
        }
      }
    })();
    const timeout = new Promise<void>((resolve) => {
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, options.timeoutMs);
      }
    });
    const onAbort = () => destroy(stream);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([finished, timeout]);
    } catch (e) {
      throw toDockerError(e, what);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (timedOut) {
        destroy(stream);
        await finished.catch(() => {});
      }
    }
    const decode = (parts: Uint8Array[]) =>
      new TextDecoder().decode(parts.reduce((a, b) => concat(a, b), new Uint8Array(0)));
    if (timedOut) return { exitCode: -1, stdout: decode(out), stderr: decode(err), timedOut };
    let exitCode = -1;
    try {
      // The engine may report the exit code a moment after the stream ends.
      for (let i = 0; i < 50; i++) {
        const info = await execObj.inspect();
        if (!info.Running && info.ExitCode !== null) {
          exitCode = info.ExitCode;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } catch (e) {
      throw toDockerError(e, what);
    }
    return { exitCode, stdout: decode(out), stderr: decode(err), timedOut: false };
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
    let execObj: Docker.Exec;
    let stream: NodeDuplex;
    try {
      execObj = await this.docker.getContainer(id).exec({
        Cmd: cmd,
        AttachStdin: options.stdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: options.tty,
      });
      stream = await execObj.start({ hijack: true, stdin: options.stdin, Tty: options.tty });
    } catch (e) {
      throw toDockerError(e, what);
    }
    const demux = new FrameDemuxer();
    async function* output(): AsyncGenerator<{ stream: "stdout" | "stderr"; data: Uint8Array }> {
      try {
        for await (const chunk of stream) {
          const bytes = toBytes(chunk);
          if (options.tty) yield { stream: "stdout", data: bytes };
          else yield* demux.push(bytes);
        }
      } catch {
        // The connection closing is the normal end of an exec.
      }
    }
    return {
      output: output(),
      write: (data) => void stream.write(data),
      closeStdin: () => stream.end(),
      resize: async (width, height) => {
        await execObj.resize({ w: width, h: height }).catch(() => {});
      },
      close: () => stream.destroy?.(),
      exitCode: async () => {
        for (let i = 0; i < 100; i++) {
          const info = await execObj.inspect().catch(() => undefined);
          if (info && !info.Running && info.ExitCode !== null) return info.ExitCode;
          await new Promise((r) => setTimeout(r, 10));
        }
        return -1;
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
    const base = {
      stdout: true,
      stderr: true,
      timestamps: options.timestamps ?? false,
      since: options.since ?? 0,
      // The engine takes "all"; the typings only know numbers.
      tail: (options.tail ?? "all") as number,
    };
    const container = this.docker.getContainer(id);
    if (!options.follow) {
      let buf: Uint8Array;
      try {
        buf = await container.logs({ ...base, follow: false });
      } catch (e) {
        throw toDockerError(e, what);
      }
      const bytes = toBytes(buf);
      const data: Uint8Array = tty ? bytes : new FrameDemuxer().push(bytes).reduce(
        (a: Uint8Array, f) => concat(a, f.data),
        new Uint8Array(0),
      );
      return new ReadableStream({
        start(c) {
          if (data.length) c.enqueue(data);
          c.close();
        },
      });
    }
    let stream: NodeStream;
    try {
      stream = await container.logs({ ...base, follow: true });
    } catch (e) {
      throw toDockerError(e, what);
    }
    const demux = new FrameDemuxer();
    const iterator = stream[Symbol.asyncIterator]();
    const onAbort = () => destroy(stream);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      options.signal?.removeEventListener("abort", onAbort);
      destroy(stream);
    };
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          for (;;) {
            const r = await iterator.next();
            if (r.done) {
              cleanup();
              c.close();
              return;
            }
            const bytes = toBytes(r.value);
            if (tty) {
              c.enqueue(bytes);
              return;
            }
            const frames = demux.push(bytes);
            if (frames.length) {
              for (const f of frames) c.enqueue(f.data);
              return;
            }
          }
        } catch {
          // Aborted or the engine closed the connection: end the log stream.
          cleanup();
          c.close();
        }
      },
      cancel() {
        cleanup();
      },
    });
  }

  /** One resource sample of a running container. */
  async stats(id: string): Promise<ContainerStatsSample> {
    try {
      const s = await this.docker.getContainer(id).stats({ stream: false, "one-shot": true });
      const mem = s.memory_stats ?? {};
      const st = (mem as { stats?: Record<string, number> }).stats ?? {};
      const cache = st.inactive_file ?? st.total_inactive_file ?? st.cache ?? 0;
      return {
        cpuUsageNanos: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
        memoryWorkingSetBytes: Math.max(0, (mem.usage ?? 0) - cache),
        timestamp: Date.now(),
      };
    } catch (e) {
      throw toDockerError(e, `stats of container ${short(id)}`);
    }
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
    let delay = 100;
    while (!signal.aborted) {
      let stream: NodeStream | undefined;
      const onAbort = () => stream && destroy(stream);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        stream = await this.docker.getEvents({
          filters: { type: ["container"], label: [`${LABEL_NODE}=${this.nodeName}`] },
        });
        if (signal.aborted) {
          destroy(stream);
          break;
        }
        delay = 100;
        handlers.onConnect?.();
        for await (const msg of jsonLines(stream)) {
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
          error: toDockerError(e, "events").message,
          retryMs: delay,
        });
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (signal.aborted) break;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** Sleeps `ms`, waking early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function short(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}
