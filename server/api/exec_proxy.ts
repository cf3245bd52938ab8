/**
 * Relays kubectl's exec / attach / port-forward WebSocket to the agent that runs the pod, as
 * kube-apiserver relays them to the kubelet: the server opens a WebSocket to the agent offering
 * the client's subprotocols, answers the client with the one the agent chose, and then copies
 * messages both ways unchanged (channel frames or the SPDY tunnel alike). The agent serves the
 * protocol itself with `serveExecWebSocket` / `servePortForwardWebSocket`.
 *
 * Deno's WebSocket client refuses subprotocol names that are not HTTP tokens, such as
 * `SPDY/3.1+portforward.k8s.io`; on the server→agent hop those travel under an alias
 * ({@linkcode internalProtocol}: `SPDY-3.1+portforward.k8s.io`) that
 * `servePortForwardWebSocket` also accepts.
 */
import { BadRequestError, ServiceUnavailableError } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";

/** Where to relay to: the agent's WebSocket URL and the bearer token it expects. */
export interface Upstream {
  /** `ws://<node address>:<agent port>/…` with the client's query (command, ports, ...). */
  url: string;
  token?: string;
  /** More request headers for the upstream handshake (the proxy subresources' forwarded ones). */
  headers?: Record<string, string>;
}

/** Options for {@linkcode proxyWebSocket}. */
export interface ProxyWebSocketOptions {
  logger?: Logger;
  /** How long to wait for the agent to accept the WebSocket; default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Offer the client's subprotocols under their own names (a pod's application), not under
   * the server → agent aliases of {@linkcode internalProtocol}.
   */
  keepProtocolNames?: boolean;
  /** What a failed dial's 503 message starts with; default `error dialing the node agent`. */
  describe?: string;
}

/** The name a subprotocol travels under between server and agent (`/` becomes `-`). */
export function internalProtocol(protocol: string): string {
  return protocol.replaceAll("/", "-");
}

function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

/** Opens the upstream socket and waits until it is open (or fails, or times out). */
function openUpstream(
  upstream: Upstream,
  protocols: string[],
  timeoutMs: number,
): Promise<WebSocket> {
  const headers: Record<string, string> = { ...upstream.headers };
  if (upstream.token) headers.authorization = `Bearer ${upstream.token}`;
  // Deno accepts an options object with headers as the second argument.
  const socket = new (WebSocket as unknown as new (
    url: string,
    options: { protocols: string[]; headers: Record<string, string> },
  ) => WebSocket)(upstream.url, { protocols, headers });
  socket.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.onopen = () => {
      clearTimeout(timer);
      resolve(socket);
    };
    socket.onerror = (event) => {
      clearTimeout(timer);
      reject(new Error((event as ErrorEvent).message || "connection failed"));
    };
    socket.onclose = () => {
      clearTimeout(timer);
      reject(new Error("the connection was closed before the WebSocket opened"));
    };
  });
}

/**
 * Relays a WebSocket upgrade request to `upstream` and returns the 101 response for the
 * client. Messages and closes are forwarded both ways until either side closes.
 *
 * @throws {BadRequestError} the request is not a WebSocket upgrade.
 * @throws {ServiceUnavailableError} the agent could not be reached or refused the upgrade.
 */
export async function proxyWebSocket(
  request: Request,
  upstream: Upstream,
  options: ProxyWebSocketOptions = {},
): Promise<Response> {
  const logger = options.logger ?? silentLogger;
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    throw new BadRequestError("this endpoint needs a WebSocket upgrade");
  }
  const offered = offeredProtocols(request);
  const alias = options.keepProtocolNames ? (p: string) => p : internalProtocol;
  const byInternal = new Map(offered.map((p) => [alias(p), p]));
  let agent: WebSocket;
  try {
    agent = await openUpstream(
      upstream,
      [...byInternal.keys()],
      options.connectTimeoutMs ?? 10_000,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ServiceUnavailableError(
      `${options.describe ?? "error dialing the node agent"}: ${message}`,
    );
  }
  const chosen = byInternal.get(agent.protocol);
  const { socket: client, response } = Deno.upgradeWebSocket(
    request,
    chosen ? { protocol: chosen } : {},
  );
  client.binaryType = "arraybuffer";

  // The agent may speak before the client's side of the upgrade has completed.
  const early: (ArrayBuffer | string)[] = [];
  client.onopen = () => {
    for (const data of early.splice(0)) client.send(data);
    if (agent.readyState !== WebSocket.OPEN) client.close(1000);
  };
  agent.onmessage = (event) => {
    if (client.readyState === WebSocket.OPEN) client.send(event.data);
    else if (client.readyState === WebSocket.CONNECTING) early.push(event.data);
  };
  client.onmessage = (event) => {
    if (agent.readyState === WebSocket.OPEN) agent.send(event.data);
  };
  const closeOther = (other: WebSocket, event: CloseEvent) => {
    if (other.readyState === WebSocket.OPEN) {
      // 1005/1006 cannot be sent; they mean "closed without a code".
      const code = event.code === 1000 || (event.code >= 3000 && event.code < 5000)
        ? event.code
        : 1000;
      other.close(code, event.reason);
    }
  };
  agent.onclose = (event) => {
    logger.debug("agent closed the relayed WebSocket", { code: event.code });
    closeOther(client, event);
  };
  client.onclose = (event) => closeOther(agent, event);
  agent.onerror = () => {};
  client.onerror = () => {};
  return response;
}
