/**
 * The Ingress routing table of one node: from the Ingresses Skiff serves, which backend (Service
 * and port) a request's host and path go to, as Kubernetes defines the matching.
 *
 * - Hosts: an exact host (`foo.example.com`) matches that host only; a wildcard (`*.example.com`)
 *   matches exactly one more label (`a.example.com`, not `example.com` nor `a.b.example.com`);
 *   a rule without a host matches every host. The port of the Host header is ignored, case too.
 * - Paths: `Exact` matches the path exactly; `Prefix` matches element-wise on `/`-separated
 *   elements (`/foo/bar` matches `/foo/bar` and `/foo/bar/baz`, not `/foo/barbaz`; a trailing
 *   `/` in the rule is ignored); `ImplementationSpecific` is treated as `Prefix`.
 * - Precedence: rules of the exact host, then of the wildcard host, then host-less rules; within
 *   each, the longest matching path wins, `Exact` before `Prefix` at equal length; then the
 *   oldest Ingress. Without any match, the oldest Ingress's `defaultBackend`, else none (404).
 *
 * A pure function of its inputs: every sync rebuilds the table.
 */

import type { Ingress, IngressBackend } from "../shared/api/networking_v1.ts";

/** Where a matched request goes: a Service port in the Ingress's namespace. */
export interface IngressBackendRef {
  namespace: string;
  service: string;
  /** The service port by number or by name (exactly one is set). */
  port: { number?: number; name?: string };
  /** `namespace/ingress`, for logs and events. */
  ingress: string;
  /**
   * `namespace/service/port`: the backend's identity, the same for every rule naming it (made
   * once per sync, not per request, for the lookup of its endpoints).
   */
  key: string;
}

/** One path rule of one host, ready for matching. */
export interface PathRoute {
  /** The rule's path; `Prefix` paths without their trailing `/` (`/` stays `/`). */
  path: string;
  /** `Prefix` covers `ImplementationSpecific`. */
  exact: boolean;
  backend: IngressBackendRef;
}

/** The routing table {@linkcode buildIngressRoutes} makes. */
export interface IngressRoutes {
  /** Exact host (lower case) → its paths, best first. */
  hosts: Map<string, PathRoute[]>;
  /** Wildcard suffix (`.example.com`, lower case) → its paths, best first. */
  wildcards: Map<string, PathRoute[]>;
  /** Paths of rules without a host, best first. */
  anyHost: PathRoute[];
  defaultBackend?: IngressBackendRef;
}

function creationOrder(a: Ingress, b: Ingress): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function backendRef(ing: Ingress, b: IngressBackend | undefined): IngressBackendRef | undefined {
  const svc = b?.service;
  if (!svc?.name || !svc.port) return undefined;
  const port = svc.port.name ? { name: svc.port.name } : { number: svc.port.number };
  const namespace = ing.metadata.namespace ?? "default";
  return {
    namespace,
    service: svc.name,
    port,
    ingress: `${ing.metadata.namespace}/${ing.metadata.name}`,
    key: `${namespace}/${svc.name}/${port.name ?? port.number}`,
  };
}

/** A Prefix path without its trailing slashes (`/` stays `/`). */
function trimSlash(path: string): string {
  const t = path.replace(/\/+$/, "");
  return t === "" ? "/" : t;
}

/** Longest path first; Exact before Prefix at equal length; insertion (age) order kept. */
function byPrecedence(a: PathRoute, b: PathRoute): number {
  if (a.path.length !== b.path.length) return b.path.length - a.path.length;
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return 0;
}

/** Builds the routing table from the Ingresses this node serves (already filtered by class). */
export function buildIngressRoutes(ingresses: readonly Ingress[]): IngressRoutes {
  const routes: IngressRoutes = { hosts: new Map(), wildcards: new Map(), anyHost: [] };
  for (const ing of [...ingresses].sort(creationOrder)) {
    if (!routes.defaultBackend) routes.defaultBackend = backendRef(ing, ing.spec?.defaultBackend);
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? "").toLowerCase();
      let list: PathRoute[];
      if (host === "") {
        list = routes.anyHost;
      } else if (host.startsWith("*.")) {
        const suffix = host.slice(1);
        list = routes.wildcards.get(suffix) ?? [];
        routes.wildcards.set(suffix, list);
      } else {
        list = routes.hosts.get(host) ?? [];
        routes.hosts.set(host, list);
      }
      for (const p of rule.http?.paths ?? []) {
        const backend = backendRef(ing, p.backend);
        if (!backend) continue;
        const exact = p.pathType === "Exact";
        const path = p.path || "/";
        list.push({ path: exact ? path : trimSlash(path), exact, backend });
      }
    }
  }
  const sort = (l: PathRoute[]) => l.sort(byPrecedence);
  routes.hosts.forEach(sort);
  routes.wildcards.forEach(sort);
  sort(routes.anyHost);
  return routes;
}

/** Whether a request path matches a rule path (element-wise for Prefix). */
export function pathMatches(route: { path: string; exact: boolean }, path: string): boolean {
  if (route.exact) return path === route.path;
  if (route.path === "/") return true;
  if (!path.startsWith(route.path)) return false;
  return path.length === route.path.length || path[route.path.length] === "/";
}

/** The host part of a Host header, lower case, without a port (`[v6]` kept whole). */
export function hostOf(header: string): string {
  const h = header.toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const i = h.lastIndexOf(":");
  return i === -1 ? h : h.slice(0, i);
}

function firstMatch(list: readonly PathRoute[] | undefined, path: string): PathRoute | undefined {
  return list?.find((r) => pathMatches(r, path));
}

/** The backend a request for `host` (a Host header) and `path` goes to, if any. */
export function matchIngress(
  routes: IngressRoutes,
  host: string,
  path: string,
): IngressBackendRef | undefined {
  const name = hostOf(host);
  const dot = name.indexOf(".");
  const hit = firstMatch(routes.hosts.get(name), path) ??
    (dot > 0 ? firstMatch(routes.wildcards.get(name.slice(dot)), path) : undefined) ??
    firstMatch(routes.anyHost, path);
  return hit?.backend ?? routes.defaultBackend;
}
