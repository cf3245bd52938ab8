/**
 * The streaming protocols kubectl speaks for `exec`, `attach` and `port-forward`, shared by the
 * API server (which relays them) and the node agent (which serves them): the WebSocket channel
 * protocol (`v5.channel.k8s.io` / `v4.channel.k8s.io`) and SPDY/3.1 port-forwarding tunnelled
 * through a WebSocket.
 */
export * from "./websocket_channels.ts";
export * from "./websocket_portforward.ts";
export {
  servePortForwardSpdy,
  SPDY_PORT_FORWARD_PROTOCOL,
  SPDY_PORT_FORWARD_PROTOCOL_ALIAS,
  type SpdyPortForwardOptions,
} from "./spdy_portforward.ts";
