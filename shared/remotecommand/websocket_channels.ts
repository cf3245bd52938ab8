/**
 * The Kubernetes WebSocket channel protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`) that
 * `kubectl exec` and `kubectl attach` speak, and its port-forward variant. Every binary message is
 * `[channel byte][payload]`: stdin 0, stdout 1, stderr 2, error/status 3, resize 4; in v5 the
 * message `[255, channel]` closes that channel (kubectl sends `[255, 0]` at the end of stdin). An
 * exec ends with one channel-3 `Status` and a close frame.
 *
 * `kubectl port-forward` (1.30+) does not use channels: it tunnels SPDY/3.1 through the WebSocket
 * (`SPDY/3.1+portforward.k8s.io`), which {@linkcode servePortForwardWebSocket} hands to
 * `spdy_portforward.ts`. The channel form (data/error channel pair per port, each opened by a
 * 2-byte little-endian port number) is kept for other clients.
 */
import type { Status } from "../errors.ts";
import { BadRequestError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  servePortForwardSpdy,
  SPDY_PORT_FORWARD_PROTOCOL,
  SPDY_PORT_FORWARD_PROTOCOL_ALIAS,
} from "./spdy_portforward.ts";

/** The exec/attach subprotocols Skiff speaks, most preferred first. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

/** Channel numbers of the exec protocol. */
export const Channel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  error: 3,
  resize: 4,
  /** v5 only: `[255, n]` closes channel n. */
  close: 255,
} as const;

/** The port-forward channel subprotocols (not the SPDY tunnel kubectl uses). */
export const PORT_FORWARD_CHANNEL_PROTOCOLS = ["v4.channel.k8s.io", "portforward.k8s.io"] as const;

/** One message as `[channel][payload]`. */
export function encodeFrame(
  channel: number,
  payload: Uint8Array | string = new Uint8Array(),
): Uint8Array {
  const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(bytes.byteLength + 1);
  frame[0] = channel;
  frame.set(bytes, 1);
  return frame;
}

/** Splits a message into channel and payload; an empty message has no channel. */
export function decodeFrame(
  data: Uint8Array,
): { channel: number; payload: Uint8Array } | undefined {
  if (data.byteLength === 0) return undefined;
  return { channel: data[0], payload: data.subarray(1) };
}

/**
 * The final channel-3 `Status` of an exec: Success for exit code 0, otherwise the Failure that
 * makes kubectl print `command terminated with exit code <n>` and exit with n.
 */
export function execExitStatus(exitCode: number): Status {
  if (exitCode === 0) return execStatus({ status: "Success" });
  return execStatus({
    status: "Failure",
    reason: "NonZeroExitCode",
    message:
      `command terminated with non-zero exit code: error executing command, exit code ${exitCode}`,
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  });
}

/** The channel-3 `Status` for an exec that could not run at all (kubectl prints the message). */
export function execErrorStatus(message: string): Status {
  return execStatus({ status: "Failure", reason: "InternalError", message, code: 500 });
}

function execStatus(fields: Partial<Status> & Pick<Status, "status">): Status {
  // The kubelet sends no kind/apiVersion here; kubectl decodes the body as metav1.Status anyway.
  return { metadata: {}, ...fields } as Status;
}

/** Terminal size from a resize message (`{"Width":80,"Height":24}`). */
export interface TerminalSize {
  width: number;
  height: number;
}

/** The exec query parameters kubectl sends on `pods/<name>/exec` and `pods/<name>/attach`. */
export interface ExecOptions {
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Reads {@linkcode ExecOptions} from an exec/attach URL (`command` repeats, flags are "true"/"1"). */
export function parseExecOptions(url: URL): ExecOptions {
  const flag = (name: string) => ["true", "1"].includes(url.searchParams.get(name) ?? "");
  return {
    command: url.searchParams.getAll("command"),
    container: url.searchParams.get("container") || undefined,
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    stderr: flag("stderr"),
    tty: flag("tty"),
  };
}

/** What an exec's `run` callback gets: the client's streams, as standard Web streams. */
export interface ExecIO {
  /** Bytes the client typed/piped; ends at the client's stdin close (v5) or disconnect. */
  stdin: ReadableStream<Uint8Array>;
  /** Sent to the client on channel 1. */
  stdout: WritableStream<Uint8Array>;
  /** Sent to the client on channel 2 (with a tty, write everything to stdout). */
  stderr: WritableStream<Uint8Array>;
  /** Terminal size changes (kubectl sends one at start with `-t`). */
  resize: ReadableStream<TerminalSize>;
  /** Aborted when the client goes away; stop the process then. */
  signal: AbortSignal;
  /** The negotiated subprotocol. */
  protocol: string;
}

/** Options for {@linkcode serveExecWebSocket} and {@linkcode servePortForwardWebSocket}. */
export interface ChannelServeOptions {
  logger?: Logger;
}

/** Above this many unsent bytes, writers wait for the socket to drain. */
const HIGH_WATER_BYTES = 1 << 20;

function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

function assertWebSocketUpgrade(request: Request): void {
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    // kubectl falls back to SPDY only after a failed WebSocket upgrade; we have no SPDY
    // upgrade, so say which protocols work.
    throw new BadRequestError(
      "this endpoint needs a WebSocket upgrade (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)",
    );
  }
}

/** Waits until the socket has room, or is closed. */
async function drained(socket: WebSocket): Promise<void> {
  while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > HIGH_WATER_BYTES) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends if the socket is still open (a client may leave at any time). */
function sendIfOpen(socket: WebSocket, frame: Uint8Array): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(frame);
}

function channelWriter(socket: WebSocket, channel: number): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(chunk) {
      if (chunk.byteLength === 0) return;
      sendIfOpen(socket, encodeFrame(channel, chunk));
      await drained(socket);
    },
  });
}

/**
 * Upgrades an exec/attach request to the channel protocol and runs `run` with the client's
 * streams. When `run` resolves, sends the channel-3 Status for its exit code and closes; if it
 * throws, sends a Failure Status with the error's message. The response echoes the chosen
 * `Sec-WebSocket-Protocol`, without which kubectl treats the upgrade as failed.
 *
 * @throws {BadRequestError} not a WebSocket upgrade, or no supported subprotocol offered.
 */
export function serveExecWebSocket(
  request: Request,
  run: (io: ExecIO) => Promise<{ exitCode: number }>,
  options: ChannelServeOptions = {},
): Response {
  const logger = options.logger ?? silentLogger;
  assertWebSocketUpgrade(request);
  const protocol = EXEC_PROTOCOLS.find((p) => offeredProtocols(request).includes(p));
  if (!protocol) {
    throw new BadRequestError(
      `unsupported exec subprotocols "${request.headers.get("sec-websocket-protocol") ?? ""}"; ` +
        `use one of ${EXEC_PROTOCOLS.join(", ")}`,
    );
  }
  const { socket, response } = Deno.upgradeWebSocket(request, { protocol });
  socket.binaryType = "arraybuffer";
  const aborter = new AbortController();
  let stdinController!: ReadableStreamDefaultController<Uint8Array>;
  let resizeController!: ReadableStreamDefaultController<TerminalSize>;
  let stdinOpen = true;
  let resizeOpen = true;
  const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (stdinController = c) });
  const resize = new ReadableStream<TerminalSize>({ start: (c) => void (resizeController = c) });
  const closeStdin = () => {
    if (stdinOpen) stdinController.close();
    stdinOpen = false;
  };
  const closeResize = () => {
    if (resizeOpen) resizeController.close();
    resizeOpen = false;
  };

  socket.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return; // the base64 text variants are not offered
    const frame = decodeFrame(new Uint8Array(event.data));
    if (!frame) return;
    if (frame.channel === Channel.stdin) {
      if (stdinOpen && frame.payload.byteLength > 0) stdinController.enqueue(frame.payload.slice());
    } else if (frame.channel === Channel.resize) {
      const size = parseResize(frame.payload);
      if (size && resizeOpen) resizeController.enqueue(size);
    } else if (frame.channel === Channel.close && protocol === "v5.channel.k8s.io") {
      if (frame.payload[0] === Channel.stdin) closeStdin();
      if (frame.payload[0] === Channel.resize) closeResize();
    }
  };
  socket.onclose = () => {
    closeStdin();
    closeResize();
    aborter.abort(new Error("the exec client disconnected"));
  };
  socket.onerror = () => {}; // onclose follows and cleans up
  socket.onopen = async () => {
    let status: Status;
    try {
      const { exitCode } = await run({
        stdin,
        stdout: channelWriter(socket, Channel.stdout),
        stderr: channelWriter(socket, Channel.stderr),
        resize,
        signal: aborter.signal,
        protocol,
      });
      status = execExitStatus(exitCode);
    } catch (err) {
      logger.warn("exec failed", { error: err });
      status = execErrorStatus(err instanceof Error ? err.message : String(err));
    }
    sendIfOpen(socket, encodeFrame(Channel.error, JSON.stringify(status)));
    closeStdin();
    closeResize();
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
  };
  return response;
}

function parseResize(payload: Uint8Array): TerminalSize | undefined {
  try {
    const { Width, Height } = JSON.parse(new TextDecoder().decode(payload));
    if (Number.isInteger(Width) && Number.isInteger(Height)) {
      return { width: Width, height: Height };
    }
  } catch {
    // A malformed resize is ignored, as the kubelet does.
  }
  return undefined;
}

/**
 * Upgrades a `pods/<name>/portforward` request and forwards it to `connect(port)`.
 * kubectl 1.30+ offers `SPDY/3.1+portforward.k8s.io` (SPDY tunnelled through the WebSocket; one
 * data and one error stream per local connection); other clients may use the channel protocol
 * with `?ports=8080,9090` (one TCP connection per port for the socket's life).
 *
 * @throws {BadRequestError} not a WebSocket upgrade, no supported subprotocol, or bad ports.
 */
export function servePortForwardWebSocket(
  request: Request,
  connect: (port: number) => Promise<Deno.Conn>,
  options: ChannelServeOptions = {},
): Response {
  const logger = options.logger ?? silentLogger;
  assertWebSocketUpgrade(request);
  const offered = offeredProtocols(request);
  const spdy = [SPDY_PORT_FORWARD_PROTOCOL, SPDY_PORT_FORWARD_PROTOCOL_ALIAS].find((p) =>
    offered.includes(p)
  );
  if (spdy) {
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: spdy });
    servePortForwardSpdy(socket, connect, { logger });
    return response;
  }
  const protocol = PORT_FORWARD_CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
  if (!protocol) {
    throw new BadRequestError(
      `unsupported port-forward subprotocols "${offered.join(", ")}"; use ` +
        [SPDY_PORT_FORWARD_PROTOCOL, ...PORT_FORWARD_CHANNEL_PROTOCOLS].join(", "),
    );
  }
  const ports = parsePorts(new URL(request.url));
  const { socket, response } = Deno.upgradeWebSocket(request, { protocol });
  socket.binaryType = "arraybuffer";
  servePortForwardChannels(socket, ports, connect, logger);
  return response;
}

function parsePorts(url: URL): number[] {
  const ports = url.searchParams.getAll("ports").flatMap((p) => p.split(",")).filter((p) => p);
  if (ports.length === 0) throw new BadRequestError('query parameter "ports" is required');
  return ports.map((p) => {
    const port = Number(p);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new BadRequestError(`invalid port "${p}"`);
    }
    return port;
  });
}

/** Port i uses data channel 2i and error channel 2i+1; both open with the port (uint16 LE). */
function servePortForwardChannels(
  socket: WebSocket,
  ports: number[],
  connect: (port: number) => Promise<Deno.Conn>,
  logger: Logger,
): void {
  const conns: Promise<Deno.Conn | undefined>[] = [];
  // Writes to each connection, chained so that messages arrive in order.
  const writes: Promise<unknown>[] = [];
  let closed = false;
  const fail = (i: number, err: unknown) => {
    if (closed) return;
    logger.debug("port-forward connection ended", { port: ports[i], error: err });
    const message = err instanceof Error ? err.message : String(err);
    sendIfOpen(socket, encodeFrame(2 * i + 1, `error forwarding port ${ports[i]}: ${message}`));
  };
  const pump = async (i: number, conn: Deno.Conn) => {
    for await (const chunk of conn.readable) {
      sendIfOpen(socket, encodeFrame(2 * i, chunk));
      await drained(socket);
    }
  };
  socket.onopen = () => {
    ports.forEach((port, i) => {
      const prefix = new Uint8Array([port & 0xff, port >> 8]);
      socket.send(encodeFrame(2 * i, prefix));
      socket.send(encodeFrame(2 * i + 1, prefix));
      conns[i] = connect(port).then((conn) => {
        if (closed) {
          closeQuietly(conn);
          return undefined;
        }
        pump(i, conn).catch((err) => fail(i, err));
        return conn;
      }, (err) => {
        fail(i, err);
        return undefined;
      });
      writes[i] = conns[i];
    });
  };
  socket.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return;
    const frame = decodeFrame(new Uint8Array(event.data));
    if (!frame || frame.channel % 2 !== 0 || frame.channel / 2 >= ports.length) return;
    const i = frame.channel / 2;
    const payload = frame.payload;
    if (payload.byteLength === 0) return;
    writes[i] = writes[i].then(async () => {
      const conn = await conns[i];
      if (conn) await writeAll(conn, payload);
    }).catch((err) => fail(i, err));
  };
  socket.onerror = () => {};
  socket.onclose = () => {
    closed = true;
    for (const conn of conns) conn?.then(closeQuietly);
  };
}

/** Writes all of `bytes` to a connection. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}
