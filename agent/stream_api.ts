/**
 * The agent's streaming endpoints loaded in every agent process, as WebSockets the API server
 * relays from kubectl unchanged: `exec` speaks Kubernetes' channel protocol through
 * shared/remotecommand/websocket_channels.ts (no SPDY: attach and kubectl's port-forward, which
 * need it, are in kubectl_streams.ts, loaded on first use); `portForward` here tunnels the raw
 * bytes of one TCP connection to a port of the pod (the API server's own port-forward).
 */

import { type Logger, silentLogger } from "../shared/log.ts";
import type { DockerRuntime, ExecSession } from "./docker_runtime.ts";
import {
  type ExecIO,
  parseExecOptions,
  serveExecWebSocket,
} from "../shared/remotecommand/websocket_channels.ts";
import {
  LABEL_CONTAINER_NAME,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_RESTART_COUNT,
} from "./labels.ts";
import { sandboxIP } from "./pod_sandbox.ts";

/** The running container instance of `namespace/pod/container`, newest first. */
export async function findRunningContainer(
  rt: DockerRuntime,
  ref: { namespace: string; pod: string; container?: string },
): Promise<string | undefined> {
  const labels: Record<string, string> = {
    [LABEL_POD_NAMESPACE]: ref.namespace,
    [LABEL_POD_NAME]: ref.pod,
  };
  if (ref.container) labels[LABEL_CONTAINER_NAME] = ref.container;
  const list = (await rt.listContainers(labels))
    .filter((c) => c.Labels[LABEL_KIND] !== "sandbox" && c.State === "running")
    .sort((a, b) =>
      Number(b.Labels[LABEL_RESTART_COUNT] ?? 0) - Number(a.Labels[LABEL_RESTART_COUNT] ?? 0)
    );
  return list[0]?.Id;
}

/**
 * Joins a client's channel streams to an exec or attach session until its output ends: stdin
 * (when asked for; `closeStdinAtEnd` passes the client's EOF on), terminal resizes, stdout and
 * stderr; the client leaving closes the session. Returns the exit code.
 */
export async function relaySession(
  io: ExecIO,
  session: ExecSession,
  options: { stdin: boolean; closeStdinAtEnd: boolean },
): Promise<number> {
  const onAbort = () => session.close();
  io.signal.addEventListener("abort", onAbort, { once: true });
  if (options.stdin) {
    (async () => {
      for await (const chunk of io.stdin) session.write(chunk);
      if (options.closeStdinAtEnd) session.closeStdin();
    })().catch(() => {});
  }
  (async () => {
    for await (const size of io.resize) await session.resize(size.width, size.height);
  })().catch(() => {});
  const stdout = io.stdout.getWriter();
  const stderr = io.stderr.getWriter();
  try {
    for await (const f of session.output) {
      await (f.stream === "stderr" ? stderr : stdout).write(f.data);
    }
    return await session.exitCode();
  } finally {
    io.signal.removeEventListener("abort", onAbort);
    session.close();
  }
}

/**
 * `kubectl exec`: runs the URL's `command` in the container over the channel protocol
 * (shared/remotecommand/websocket_channels.ts, which kubectl attach uses too). Errors before the
 * process starts end in a Failure status, as the kubelet's.
 */
export function serveExec(
  req: Request,
  target: { namespace: string; pod: string; container: string },
  options: { rt: DockerRuntime; logger?: Logger },
): Response {
  const { command, stdin, tty } = parseExecOptions(new URL(req.url));
  return serveExecWebSocket(req, async (io) => {
    if (command.length === 0) {
      throw new Error("you must specify at least one command for the container");
    }
    const id = await findRunningContainer(options.rt, target);
    if (!id) throw new Error(`container ${target.container} is not running in pod ${target.pod}`);
    const session = await options.rt.execSession(id, command, { stdin, tty });
    return { exitCode: await relaySession(io, session, { stdin, closeStdinAtEnd: true }) };
  }, { logger: options.logger });
}

/** The pod's IP on this node (its sandbox's address), if the pod runs here. */
export async function podAddress(
  rt: DockerRuntime,
  ref: { namespace: string; pod: string; nodeAddress: string },
): Promise<string | undefined> {
  const sandboxes = (await rt.listContainers({
    [LABEL_POD_NAMESPACE]: ref.namespace,
    [LABEL_POD_NAME]: ref.pod,
    [LABEL_KIND]: "sandbox",
  })).filter((c) => c.State === "running");
  if (!sandboxes.length) return undefined;
  const info = await rt.inspectContainer(sandboxes[0].Id);
  return info ? sandboxIP(info, ref.nodeAddress) : undefined;
}

/**
 * Upgrades `req` to a WebSocket carrying one TCP connection to `port` of the pod: binary frames
 * in both directions are the connection's bytes; either side closing closes the other.
 */
export function portForwardWebSocket(
  req: Request,
  target: { namespace: string; pod: string; port: number; nodeAddress: string },
  options: { rt: DockerRuntime; logger?: Logger },
): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  const log = options.logger ?? silentLogger;
  let conn: Deno.TcpConn | undefined;
  const pending: Uint8Array[] = [];
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
  };
  const writeAll = async (data: Uint8Array) => {
    let off = 0;
    while (off < data.length) off += await conn!.write(data.subarray(off));
  };
  let writing: Promise<void> = Promise.resolve();
  socket.onmessage = (e) => {
    if (!(e.data instanceof ArrayBuffer)) return;
    const data = new Uint8Array(e.data);
    if (!conn) return void pending.push(data);
    writing = writing.then(() => writeAll(data)).catch(closeAll);
  };
  socket.onclose = () => {
    void writing.finally(closeAll);
  };
  socket.onopen = async () => {
    try {
      const ip = await podAddress(options.rt, target);
      if (!ip) throw new Error(`pod ${target.pod} has no running sandbox on this node`);
      conn = await Deno.connect({ hostname: ip, port: target.port });
      for (const d of pending.splice(0)) writing = writing.then(() => writeAll(d));
      const buf = new Uint8Array(32 * 1024);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        if (socket.readyState !== WebSocket.OPEN) break;
        socket.send(buf.slice(0, n));
      }
    } catch (e) {
      if (!closed) log.debug("port-forward ended", { pod: target.pod, error: e });
    } finally {
      closeAll();
    }
  };
  return response;
}
