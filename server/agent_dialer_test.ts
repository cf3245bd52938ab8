/** Tests for the server → agent dialer, against real HTTP stand-ins for an agent. */
import { equal, match, rejects, throws } from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { ApiError, ServiceUnavailableError } from "../shared/errors.ts";
import { agentCredential, AgentDialer } from "./agent_dialer.ts";

const TOKEN = "agent-secret";

function node(name: string, port: number | undefined, address = "127.0.0.1"): KubeObject {
  return {
    metadata: { name },
    status: {
      addresses: [{ type: "Hostname", address: "box" }, { type: "InternalIP", address }],
      ...(port ? { daemonEndpoints: { kubeletEndpoint: { Port: port } } } : {}),
    },
  } as KubeObject;
}

function dialerFor(nodes: KubeObject[]) {
  return new AgentDialer({
    node: (name) => nodes.find((n) => n.metadata.name === name),
    token: TOKEN,
  });
}

Deno.test("agentCredential() prefers the agent client token over the join token", () => {
  equal(agentCredential({ joinToken: "join" }), "join");
  equal(agentCredential({ joinToken: "join", agentClientToken: "client" }), "client");
});

Deno.test("endpoint() uses the node's InternalIP and reported agent port", () => {
  const dialer = dialerFor([node("a", 10250, "192.168.1.5"), node("b", undefined)]);
  const e = dialer.endpoint("a");
  equal(e.httpUrl, "http://192.168.1.5:10250");
  equal(e.wsUrl, "ws://192.168.1.5:10250");
  equal(e.token, TOKEN);
  throws(() => dialer.endpoint("b"), /has not reported its agent's address and port/);
  throws(() => dialer.endpoint("zzz"), ServiceUnavailableError);
});

Deno.test("get() presents the token, passes agent Statuses on, and turns refusals into 503", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return Response.json({ kind: "Status", code: 401, message: "Unauthorized" }, {
        status: 401,
      });
    }
    const path = new URL(req.url).pathname;
    if (path === "/ok") return new Response("hello");
    return Response.json({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "BadRequest",
      message: 'previous terminated container "c" in pod "p" not found',
      code: 400,
    }, { status: 400 });
  });
  try {
    const port = server.addr.port;
    const dialer = dialerFor([node("a", port)]);
    equal(await (await dialer.get("a", "/ok")).text(), "hello");
    const err = await dialer.get("a", "/missing").catch((e) => e);
    equal(err instanceof ApiError && err.code, 400);
    match(err.message, /previous terminated container/);
    const wrong = new AgentDialer({ node: () => node("a", port), token: "wrong" });
    const refused = await wrong.get("a", "/ok").catch((e) => e);
    equal(refused instanceof ApiError && refused.code, 503);
    match(refused.message, /refused the server's credentials \(401\)/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("get() reports an unreachable agent as 503", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await rejects(
    dialerFor([node("a", port)]).get("a", "/stats"),
    (e: unknown) =>
      e instanceof ServiceUnavailableError && /error dialing the agent/.test(e.message),
  );
});

Deno.test("get() ends the agent's stream when the caller's signal aborts", async () => {
  let cancelled!: () => void;
  const upstreamCancelled = new Promise<void>((r) => cancelled = r);
  let timer: ReturnType<typeof setInterval> | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("line\n"));
        // Never ends by itself, like `logs -f`.
        timer = setInterval(() => c.enqueue(new TextEncoder().encode("tick\n")), 50);
      },
      cancel() {
        clearInterval(timer);
        cancelled();
      },
    });
    return new Response(body);
  });
  try {
    const client = new AbortController();
    const res = await dialerFor([node("a", server.addr.port)]).get("a", "/follow", {
      signal: client.signal,
    });
    const reader = res.body!.getReader();
    equal(new TextDecoder().decode((await reader.read()).value), "line\n");
    client.abort();
    await reader.read().catch(() => {});
    let guard: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      upstreamCancelled,
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error("the agent's stream was not ended")), 5_000);
      }),
    ]).finally(() => clearTimeout(guard));
  } finally {
    clearInterval(timer);
    await server.shutdown();
  }
});
