/**
 * The Kubernetes WebSocket channel protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`) that
 * `kubectl exec` and `kubectl attach` speak, and its port-forward variant. Every binary message is
 * `[channel byte][payload]`: stdin 0, stdout 1, stderr 2, error/status 3, resize 4; in v5 the
 * message `[255, channel]` closes that channel (kubectl sends `[255, 0]` at the end of stdin). An
 * exec ends with one channel-3 `Status` and a close frame.
 *
 * Port-forwarding is in websocket_portforward.ts, so that exec alone loads no SPDY (zlib): the
 * agent serves exec from this module in every process.
 */
import type { Status } from "../errors.ts";
import { BadRequestError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";

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

export function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

export function assertWebSocketUpgrade(request: Request): void {
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    // kubectl falls back to SPDY only after a failed WebSocket upgrade; we have no SPDY
    // upgrade, so say which protocols work.
    throw new BadRequestError(
      "this endpoint needs a WebSocket upgrade (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)",
    );
  }
}

/** Waits until the socket has room, or is closed. */
export async function drained(socket: WebSocket): Promise<void> {
  while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > HIGH_WATER_BYTES) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends if the socket is still open (a client may leave at any time). */
export function sendIfOpen(socket: WebSocket, frame: Uint8Array): void {
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
