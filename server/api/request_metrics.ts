/**
 * Request metrics middleware: labels each API request as kube-apiserver's request metrics do
 * (verb, group, version, resource, subresource, scope) and records it when its response is
 * complete. Watches and other streams are long-running: counted in a gauge while their body is
 * open (the body is wrapped in a pull-driven stream, so back-pressure is unchanged).
 */
import type { MiddlewareHandler } from "hono";
import type { RequestLabels, ServerMetrics } from "../metrics.ts";
import { parseResourcePath } from "./request_info.ts";

const CONNECT_SUBRESOURCES = new Set(["exec", "attach", "portforward", "proxy", "log"]);

/** The metric labels of a request, from its method, path and query. */
export function requestLabels(method: string, url: URL): RequestLabels {
  const none: RequestLabels = {
    verb: method.toUpperCase(),
    group: "",
    version: "",
    resource: "",
    subresource: "",
    scope: "",
  };
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(url.pathname);
  if (!m) return none;
  let ri;
  try {
    ri = parseResourcePath(m[2] ?? "", m[1] ?? m[3], m[4].split("/"));
  } catch {
    return none;
  }
  if (!ri) return none;
  const watch = ["1", "true"].includes(url.searchParams.get("watch") ?? "");
  const collection = ri.name === undefined;
  let verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD") verb = collection ? (watch ? "WATCH" : "LIST") : "GET";
  else if (verb === "DELETE" && collection) verb = "DELETECOLLECTION";
  if (ri.subresource && CONNECT_SUBRESOURCES.has(ri.subresource) && ri.subresource !== "log") {
    verb = "CONNECT";
  }
  return {
    verb,
    group: ri.group,
    version: ri.version,
    resource: ri.resource,
    subresource: ri.subresource ?? "",
    scope: !collection ? "resource" : ri.namespace ? "namespace" : "cluster",
  };
}

function isLongRunning(labels: RequestLabels): boolean {
  return labels.verb === "WATCH" || labels.verb === "CONNECT" || labels.subresource === "log";
}

/**
 * Wraps a body so `onEnd` runs once when it is fully read, fails or is cancelled (Deno.serve
 * cancels the body of a client that went away).
 */
function trackedBody(body: ReadableStream<Uint8Array>, onEnd: () => void): ReadableStream {
  const reader = body.getReader();
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          end();
          ctrl.close();
        } else ctrl.enqueue(value);
      } catch (e) {
        end();
        ctrl.error(e);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The middleware recording every request into `metrics`. */
export function requestMetrics(metrics: ServerMetrics): MiddlewareHandler {
  return async function recordRequestMetrics(c, next) {
    const start = performance.now();
    const labels = requestLabels(c.req.method, new URL(c.req.url));
    const longRunning = isLongRunning(labels);
    const gaugeLabels = { ...labels, component: "apiserver" };
    try {
      await next();
    } finally {
      const code = c.res.status;
      metrics.observeRequest(labels, code, (performance.now() - start) / 1000);
      if (longRunning && code < 300 && c.res.body) {
        metrics.longRunning.add(gaugeLabels, 1);
        c.res = new Response(
          trackedBody(c.res.body, () => metrics.longRunning.add(gaugeLabels, -1)),
          c.res,
        );
      }
    }
  };
}
