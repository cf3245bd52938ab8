/** Tests for the WebSocket relay (the kubectl round trip through it is in tests/kubectl_wire_test.ts). */
import { equal, rejects } from "node:assert/strict";
import { BadRequestError, ServiceUnavailableError } from "../../shared/errors.ts";
import { internalProtocol, proxyWebSocket } from "./exec_proxy.ts";
import { SPDY_PORT_FORWARD_PROTOCOL_ALIAS } from "../../shared/remotecommand/spdy_portforward.ts";

const upgrade = (protocols: string) =>
  new Request("http://x/api/v1/namespaces/d/pods/p/exec", {
    headers: { upgrade: "websocket", "sec-websocket-protocol": protocols },
  });

Deno.test("internalProtocol() turns kubectl's SPDY subprotocol into the agent-side alias", () => {
  equal(internalProtocol("SPDY/3.1+portforward.k8s.io"), SPDY_PORT_FORWARD_PROTOCOL_ALIAS);
  equal(internalProtocol("v5.channel.k8s.io"), "v5.channel.k8s.io");
});

Deno.test("proxyWebSocket() refuses requests that are not WebSocket upgrades", async () => {
  await rejects(
    proxyWebSocket(new Request("http://x/exec"), { url: "ws://127.0.0.1:1/" }),
    BadRequestError,
  );
});

Deno.test("proxyWebSocket() answers 503 when the agent cannot be reached", async () => {
  // A port that was just free: nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await rejects(
    proxyWebSocket(upgrade("v5.channel.k8s.io"), { url: `ws://127.0.0.1:${port}/exec` }),
    (err: unknown) =>
      err instanceof ServiceUnavailableError && /error dialing the node agent/.test(err.message),
  );
});

Deno.test("proxyWebSocket() answers 503 when the agent refuses the upgrade", async () => {
  const agent = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("Unauthorized", { status: 401 }),
  );
  try {
    await rejects(
      proxyWebSocket(upgrade("v5.channel.k8s.io"), {
        url: `ws://127.0.0.1:${agent.addr.port}/exec`,
        token: "wrong",
      }),
      ServiceUnavailableError,
    );
  } finally {
    await agent.shutdown();
  }
});
