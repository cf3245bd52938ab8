/**
 * The agent's streaming endpoints, as WebSockets the API server relays from kubectl unchanged:
 * `exec` speaks Kubernetes' channel protocol (`v5.channel.k8s.io` / `v4.channel.k8s.io`: a
 * channel byte then payload — stdin 0, stdout 1, stderr 2, status 3, resize 4, and v5's
 * `[255, 0]` closing stdin) and ends with one Status frame on channel 3; `portForward` tunnels the
 * raw bytes of one TCP connection to a port of the pod.
 */

import { type Logger, silentLogger } from "../shared/log.ts";
import type { DockerRuntime, ExecSession } from "./docker_runtime.ts";
import {
  LABEL_CONTAINER_NAME,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_RESTART_COUNT,
} from "./labels.ts";
import { sandboxIP } from "./pod_sandbox.ts";

/** The exec subprotocols the agent speaks, most preferred first. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

function statusFrame(status: Record<string, unknown>): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ metadata: {}, ...status }));
  const out = new Uint8Array(body.length + 1);
  out[0] = 3;
  out.set(body, 1);
  return out;
}

function frame(channel: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

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
 * Upgrades `req` to a WebSocket running `command` in the container. Errors before the process
 * starts are reported as a Failure status frame, as kubelet does.
 */
export function execWebSocket(
  req: Request,
  target: { namespace: string; pod: string; container: string },
  options: { rt: DockerRuntime; logger?: Logger },
): Response {
  const url = new URL(req.url);
  const command = url.searchParams.getAll("command");
  const stdin = url.searchParams.get("stdin") === "true" || url.searchParams.get("stdin") === "1";
  const tty = url.searchParams.get("tty") === "true" || url.searchParams.get("tty") === "1";
  const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
  const protocol = EXEC_PROTOCOLS.find((p) => offered.includes(p));
  const { socket, response } = Deno.upgradeWebSocket(req, protocol ? { protocol } : {});
  socket.binaryType = "arraybuffer";
  const log = options.logger ?? silentLogger;
  let session: ExecSession | undefined;
  const early: Uint8Array[] = [];
  let stdinClosed = false;

  const onInput = (msg: Uint8Array) => {
    if (!session) return void early.push(msg);
    const channel = msg[0];
    if (channel === 0 && !stdinClosed) session.write(msg.slice(1));
    else if (channel === 4) {
      try {
        const size = JSON.parse(new TextDecoder().decode(msg.slice(1)));
        void session.resize(Number(size.Width), Number(size.Height));
      } catch { /* malformed resize: ignore */ }
    } else if (channel === 255 && msg[1] === 0 && !stdinClosed) {
      stdinClosed = true;
      session.closeStdin();
    }
  };
  socket.onmessage = (e) => {
    if (e.data instanceof ArrayBuffer) onInput(new Uint8Array(e.data));
  };
  socket.onclose = () => session?.close();

  const send = (data: Uint8Array) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(data);
  };
  socket.onopen = async () => {
    try {
      if (command.length === 0) {
        throw new Error("you must specify at least one command for the container");
      }
      const id = await findRunningContainer(options.rt, target);
      if (!id) {
        throw new Error(`container ${target.container} is not running in pod ${target.pod}`);
      }
      session = await options.rt.execSession(id, command, { stdin, tty });
      for (const m of early.splice(0)) onInput(m);
      for await (const f of session.output) send(frame(f.stream === "stderr" ? 2 : 1, f.data));
      const code = await session.exitCode();
      if (code === 0) send(statusFrame({ status: "Success" }));
      else {
        send(statusFrame({
          status: "Failure",
          message: `command terminated with non-zero exit code: error executing command ${
            JSON.stringify(command)
          }, exit code ${code}`,
          reason: "NonZeroExitCode",
          details: { causes: [{ reason: "ExitCode", message: String(code) }] },
        }));
      }
    } catch (e) {
      log.warn("exec failed", { pod: `${target.namespace}/${target.pod}`, error: e });
      send(
        statusFrame({ status: "Failure", message: (e as Error).message, reason: "InternalError" }),
      );
    } finally {
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    }
  };
  return response;
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
