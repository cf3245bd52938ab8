/**
 * The `pods/proxy`, `services/proxy` and `nodes/proxy` subresources, as kube-apiserver's
 * ProxyREST connecters: `…/pods/[scheme:]NAME[:PORT]/proxy/PATH` and the same for services
 * and nodes, for GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS. Each request is authorized
 * like any other (`pods/proxy` with the verb its method maps to: `get` for GET and HEAD,
 * `create` for POST, …), then resolved to a location (`proxy_location.ts`) and proxied there
 * (`http_proxy.ts`). The server reaches pod IPs through the node's routes to every podCIDR,
 * as kube-apiserver does.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { MethodNotAllowedError, NotFoundError } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import type { AgentDialer } from "../agent_dialer.ts";
import { proxyRequest } from "./http_proxy.ts";
import {
  nodeLocation,
  parseProxyId,
  podLocation,
  type ProxyLocation,
  serviceLocation,
} from "./proxy_location.ts";
import type { RequestInfo } from "./request_info.ts";
import type { SubresourceHandler } from "./rest.ts";

/** The methods kube-apiserver's proxy connecters accept. */
const PROXY_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The client address of each request being served (for `X-Forwarded-For`). */
const clientAddresses = new WeakMap<Request, string>();

/** Records where `req` came from; `runServer` calls it for every request it serves. */
export function rememberClientAddress(req: Request, info: Deno.ServeHandlerInfo): void {
  const addr = info.remoteAddr as Deno.Addr;
  if (addr.transport === "tcp" || addr.transport === "udp") clientAddresses.set(req, addr.hostname);
}

/** Options of {@linkcode proxySubresources}. */
export interface ProxySubresourceOptions {
  /** An object of the API from the server's caches, or undefined. */
  find: (resource: "pods" | "services" | "endpoints", namespace: string, name: string) =>
    | KubeObject
    | undefined;
  /** Where each node's agent API is, and the server's credential for it. */
  dialer: AgentDialer;
  logger?: Logger;
}

/** The handlers for `createApp`'s `subresources` map. */
export function proxySubresources(
  options: ProxySubresourceOptions,
): Map<string, SubresourceHandler> {
  const logger = options.logger ?? silentLogger;
  const { find, dialer } = options;

  const handler = (
    resolve: (
      ri: RequestInfo & { name: string },
      get: (name: string) => KubeObject,
    ) => ProxyLocation,
  ): SubresourceHandler =>
  async (req, ri, registry) => {
    if (!PROXY_METHODS.has(req.method) || ri.name === undefined) {
      throw new MethodNotAllowedError();
    }
    const location = resolve(
      { ...ri, name: ri.name },
      (name) => registry.store.get(ri.namespace, name),
    );
    return await proxyRequest(req, {
      location,
      proxyPath: ri.proxyPath ?? "",
      clientAddress: clientAddresses.get(req),
      logger,
    });
  };

  const pods = handler((ri, get) => {
    const id = parseProxyId("pod", ri.name);
    return podLocation(get(id.name), id);
  });

  const services = handler((ri, get) => {
    const id = parseProxyId("service", ri.name);
    const namespace = ri.namespace!;
    return serviceLocation(namespace, id, {
      service: get,
      endpoints: (name) => {
        const endpoints = find("endpoints", namespace, name);
        if (!endpoints) throw new NotFoundError({ resource: "endpoints", name });
        return endpoints;
      },
      pod: (name) => find("pods", namespace, name),
    });
  });

  const nodes = handler((ri, get) => {
    const id = parseProxyId("node", ri.name);
    get(id.name); // a 404 for an unknown node, before the agent's address is asked for
    const endpoint = dialer.endpoint(id.name);
    const agent = new URL(endpoint.httpUrl);
    return nodeLocation(id, {
      hostname: agent.hostname.replace(/^\[|\]$/g, ""),
      port: Number(agent.port),
      token: endpoint.token,
    });
  });

  return new Map([
    ["pods/proxy", pods],
    ["services/proxy", services],
    ["nodes/proxy", nodes],
  ]);
}
