/**
 * `kubectl port-forward` over a WebSocket. kubectl 1.30+ tunnels SPDY/3.1 through it
 * (`SPDY/3.1+portforward.k8s.io`), handed to `spdy_portforward.ts`; the channel form (a data and
 * an error channel per port, each opened by the port as 2 bytes little-endian) is kept for other
 * clients. Separate from websocket_channels.ts so that exec does not load SPDY and zlib.
 */
import { BadRequestError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  servePortForwardSpdy,
  SPDY_PORT_FORWARD_PROTOCOL,
  SPDY_PORT_FORWARD_PROTOCOL_ALIAS,
} from "./spdy_portforward.ts";
import {
  assertWebSocketUpgrade,
  type ChannelServeOptions,
  decodeFrame,
  drained,
  encodeFrame,
  offeredProtocols,
  PORT_FORWARD_CHANNEL_PROTOCOLS,
  sendIfOpen,
} from "./websocket_channels.ts";

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
