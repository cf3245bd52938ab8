/**
 * The agent's own HTTP API, called only by the API server (bearer token checked):
 * - `GET /containerLogs/{namespace}/{pod}/{container}` (the kubelet's path) with `tailLines`,
 *   `follow`, `previous`, `timestamps`, `sinceSeconds`, `sinceTime` and `limitBytes`;
 * - `GET /exec/{namespace}/{pod}/{container}?command=…&stdin=&tty=` — WebSocket, kubectl's own
 *   channel protocol, so the server relays frames unchanged (see stream_api.ts);
 * - `GET /portForward/{namespace}/{pod}?port=N` — WebSocket carrying one TCP connection; or,
 *   offered kubectl's subprotocols, kubectl's own port-forward protocol (kubectl_streams.ts);
 * - `GET /attach/{namespace}/{pod}/{container}?stdin=&tty=` — WebSocket, channel protocol;
 * - `GET /stats` — CPU/memory usage of the node and its pods (for metrics.k8s.io);
 * - `GET /metrics` — the kubelet's metrics (agent_metrics.ts), then the proxy's counters;
 *   `GET /metrics/cadvisor` — containers' cumulative CPU and working set, cAdvisor's names;
 * - `GET /healthz` (no auth).
 * The server proxies `GET …/pods/{name}/log` here, finding the port in the Node's
 * `status.daemonEndpoints.kubeletEndpoint.Port`.
 */

import { Hono } from "hono";
import { drainingHandler } from "../shared/drain_body.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { EXPOSITION_CONTENT_TYPE } from "../shared/prometheus.ts";
import { type AgentMetrics, cadvisorExposition } from "./agent_metrics.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { StatsCollector } from "./stats.ts";
import { portForwardWebSocket, serveExec } from "./stream_api.ts";

// kubectl's streaming protocols pull in node:zlib (SPDY header compression), ~5 MB of resident
// memory: load them on the first attach or port-forward, not in every idle agent.
const kubectlStreams = () => import("./kubectl_streams.ts");
import {
  LABEL_CONTAINER_NAME,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_RESTART_COUNT,
} from "./labels.ts";

/** Options for {@linkcode agentApp} / {@linkcode serveAgentApi}. */
export interface AgentApiOptions {
  rt: DockerRuntime;
  /** The bearer token the API server presents (when `tokenSha256` is not given). */
  token?: string;
  /**
   * SHA-256 (hex) of the token the API server presents (the cluster's agent-client token, learnt
   * when the node joined); takes precedence over `token`.
   */
  tokenSha256?: string;
  /** This node's name and address (for stats and port-forward). */
  nodeName: string;
  nodeAddress: string;
  /** The agent's own metrics, served first at /metrics. */
  metrics?: AgentMetrics;
  /** Prometheus text of this node's counters (the service proxy's), served at /metrics. */
  metricsText?: () => string;
  logger?: Logger;
}

function status(code: number, reason: string, message: string): Response {
  return Response.json(
    { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
    { status: code },
  );
}

async function presentsServerToken(
  header: string,
  options: Pick<AgentApiOptions, "token" | "tokenSha256">,
): Promise<boolean> {
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return false;
  if (options.tokenSha256) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(m[1]));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    return hex === options.tokenSha256;
  }
  return options.token !== undefined && m[1] === options.token;
}

function truthy(v: string | undefined): boolean {
  return v === "true" || v === "1";
}

/** The Hono app of the agent API (tests call `app.request()` directly). */
export function agentApp(options: AgentApiOptions): Hono {
  const { rt } = options;
  const log = options.logger ?? silentLogger;
  const app = new Hono();

  app.get("/healthz", (c) => c.text("ok"));
  // Every answer is a Status, unknown paths and failures included.
  app.notFound(() => status(404, "NotFound", "the server could not find the requested resource"));
  app.onError((err) => {
    log.error("request failed", { error: err });
    return status(500, "InternalError", `Internal error occurred: ${err.message}`);
  });

  app.use("*", async (c, next) => {
    const auth = c.req.header("Authorization") ?? "";
    if (!await presentsServerToken(auth, options)) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    return await next();
  });

  const stats = new StatsCollector(rt, options.nodeName);
  app.get("/metrics", async (c) => {
    const own = options.metrics ? options.metrics.exposition(await rt.listContainers()) : "";
    const text = own + (options.metricsText?.() ?? "");
    return c.body(text, 200, { "content-type": EXPOSITION_CONTENT_TYPE });
  });
  app.get("/metrics/cadvisor", async (c) => {
    const text = cadvisorExposition(await stats.containerUsage());
    return c.body(text, 200, { "content-type": EXPOSITION_CONTENT_TYPE });
  });
  app.get("/containerLogs/:namespace/:pod/:container", async (c) => {
    const { namespace, pod, container } = c.req.param();
    const q = c.req.query();
    const instances = (await rt.listContainers({
      [LABEL_POD_NAMESPACE]: namespace,
      [LABEL_POD_NAME]: pod,
      [LABEL_CONTAINER_NAME]: container,
    })).filter((x) => x.Labels[LABEL_KIND] !== "sandbox")
      .sort((a, b) =>
        Number(b.Labels[LABEL_RESTART_COUNT] ?? 0) - Number(a.Labels[LABEL_RESTART_COUNT] ?? 0) ||
        b.Created - a.Created
      );
    const previous = truthy(q.previous);
    const target = instances[previous ? 1 : 0];
    if (!target) {
      return status(
        previous ? 400 : 404,
        previous ? "BadRequest" : "NotFound",
        previous
          ? `previous terminated container "${container}" in pod "${pod}" not found`
          : `container "${container}" in pod "${pod}" is not available`,
      );
    }
    let since: number | undefined;
    if (q.sinceSeconds) since = Math.floor(Date.now() / 1000) - Number(q.sinceSeconds);
    else if (q.sinceTime) since = Math.floor(Date.parse(q.sinceTime) / 1000);
    const follow = truthy(q.follow) && !previous;
    const ac = new AbortController();
    let body: ReadableStream<Uint8Array>;
    try {
      body = await rt.logs(target.Id, {
        follow,
        tail: q.tailLines !== undefined ? Number(q.tailLines) : undefined,
        since,
        timestamps: truthy(q.timestamps),
        signal: ac.signal,
      });
    } catch (e) {
      log.warn("logs failed", { pod: `${namespace}/${pod}`, container, error: e });
      return status(500, "InternalError", (e as Error).message);
    }
    const limit = q.limitBytes ? Number(q.limitBytes) : undefined;
    if (limit !== undefined && limit >= 0) body = body.pipeThrough(limitBytes(limit, ac));
    // The client hanging up (kubectl logs -f interrupted) cancels this body, and the
    // cancellation travels up the pipe to the Docker request.
    return new Response(body, {
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" },
    });
  });

  app.get("/exec/:namespace/:pod/:container", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return status(400, "BadRequest", "exec needs a WebSocket upgrade");
    }
    return serveExec(c.req.raw, c.req.param(), { rt, logger: log });
  });

  app.get("/attach/:namespace/:pod/:container", async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return status(400, "BadRequest", "attach needs a WebSocket upgrade");
    }
    const { serveAttach } = await kubectlStreams();
    return serveAttach(c.req.raw, c.req.param(), { rt, logger: log });
  });

  app.get("/portForward/:namespace/:pod", async (c) => {
    // kubectl's own protocol, relayed unchanged by the API server (see kubectl_streams.ts).
    const offered = c.req.header("sec-websocket-protocol") ?? "";
    if (offered) {
      const { offersKubectlPortForward, servePodPortForward } = await kubectlStreams();
      if (offersKubectlPortForward(c.req.raw)) {
        const target = { ...c.req.param(), nodeAddress: options.nodeAddress };
        return servePodPortForward(c.req.raw, target, { rt, logger: log });
      }
    }
    const port = Number(c.req.query("port"));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return status(400, "BadRequest", "port must be a number between 1 and 65535");
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return status(400, "BadRequest", "portForward needs a WebSocket upgrade");
    }
    const { namespace, pod } = c.req.param();
    return portForwardWebSocket(c.req.raw, {
      namespace,
      pod,
      port,
      nodeAddress: options.nodeAddress,
    }, { rt, logger: log });
  });

  app.get("/stats", async (c) => c.json(await stats.summary()));

  return app;
}

function limitBytes(limit: number, ac: AbortController): TransformStream<Uint8Array, Uint8Array> {
  let left = limit;
  return new TransformStream({
    transform(chunk, ctrl) {
      if (left <= 0) return;
      const part = chunk.length > left ? chunk.slice(0, left) : chunk;
      left -= part.length;
      ctrl.enqueue(part);
      if (left <= 0) {
        ac.abort();
        ctrl.terminate();
      }
    },
  });
}

/** A running agent API server. */
export interface AgentApiServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Resolves when the server has shut down. */
  finished: Promise<void>;
}

/** Serves the agent API on `hostname:port` until `signal` aborts. */
export function serveAgentApi(
  options: AgentApiOptions & { hostname: string; port: number },
  signal: AbortSignal,
): AgentApiServer {
  const app = agentApp(options);
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal,
    onListen: () => {},
  }, drainingHandler((req) => app.fetch(req)));
  return { port: server.addr.port, finished: server.finished };
}
