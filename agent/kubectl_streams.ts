/**
 * The agent's endpoints that speak kubectl's own streaming protocols (shared/remotecommand), so
 * the API server relays kubectl's WebSocket to them unchanged:
 * - `attach`: the channel protocol joined to the container's main process (`docker attach`);
 * - `portForward` with kubectl's SPDY-in-WebSocket tunnel (offered as
 *   `SPDY-3.1+portforward.k8s.io` on the server → agent hop) or the port-forward channel
 *   protocol: every forwarded connection is dialled to the pod's IP on this node.
 */
import type { Logger } from "../shared/log.ts";
import {
  parseExecOptions,
  PORT_FORWARD_CHANNEL_PROTOCOLS,
  serveExecWebSocket,
  servePortForwardWebSocket,
  SPDY_PORT_FORWARD_PROTOCOL,
  SPDY_PORT_FORWARD_PROTOCOL_ALIAS,
} from "../shared/remotecommand/mod.ts";
import { DockerError, type DockerRuntime } from "./docker_runtime.ts";
import { findRunningContainer, podAddress, relaySession } from "./stream_api.ts";

/** The WebSocket subprotocols of kubectl's port-forward the agent serves. */
const KUBECTL_PORT_FORWARD_PROTOCOLS: readonly string[] = [
  SPDY_PORT_FORWARD_PROTOCOL,
  SPDY_PORT_FORWARD_PROTOCOL_ALIAS,
  ...PORT_FORWARD_CHANNEL_PROTOCOLS,
];

/** True when the request offers one of kubectl's port-forward protocols. */
export function offersKubectlPortForward(req: Request): boolean {
  const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  return offered.some((p) => KUBECTL_PORT_FORWARD_PROTOCOLS.includes(p));
}

/**
 * Serves kubectl's port-forward protocol for a pod of this node: each connection kubectl opens
 * is dialled to the pod's IP (its infra container's address) and the requested port.
 */
export function servePodPortForward(
  req: Request,
  target: { namespace: string; pod: string; nodeAddress: string },
  options: { rt: DockerRuntime; logger?: Logger },
): Response {
  return servePortForwardWebSocket(req, async (port) => {
    const ip = await podAddress(options.rt, target);
    if (!ip) throw new Error(`pod ${target.pod} has no running sandbox on this node`);
    return await Deno.connect({ hostname: ip, port });
  }, { logger: options.logger });
}

/**
 * Attaches the client to the container's main process (`kubectl attach`): its output from now
 * on, stdin when the container was created with `stdin: true`, and terminal resizes. The
 * attachment ends when the process exits (exit code in the final Status) or the client leaves
 * (the process keeps running).
 */
export function serveAttach(
  req: Request,
  target: { namespace: string; pod: string; container: string },
  options: { rt: DockerRuntime; logger?: Logger },
): Response {
  const wantStdin = parseExecOptions(new URL(req.url)).stdin;
  return serveExecWebSocket(req, async (io) => {
    const notRunning = () =>
      new Error(`container ${target.container} is not running in pod ${target.pod}`);
    const id = await findRunningContainer(options.rt, target);
    if (!id) throw notRunning();
    // Docker's list can lag an exit by a moment: attachSession checks the container itself.
    const session = await options.rt.attachSession(id, { stdin: wantStdin }).catch((e) => {
      throw e instanceof DockerError && e.statusCode === 409 ? notRunning() : e;
    });
    // Detaching (the client's stdin ending) leaves the container's stdin open.
    return {
      exitCode: await relaySession(io, session, { stdin: wantStdin, closeStdinAtEnd: false }),
    };
  }, { logger: options.logger });
}
