/**
 * Parses a resource URL into what it addresses, as kube-apiserver's RequestInfoResolver does:
 * `/api/v1/namespaces/default/pods/web/status` → group "", version v1, namespace default,
 * resource pods, name web, subresource status.
 */
import { BadRequestError } from "../../shared/errors.ts";

/** What one resource request addresses. */
export interface RequestInfo {
  group: string;
  version: string;
  namespace?: string;
  /** Plural resource name. */
  resource: string;
  name?: string;
  subresource?: string;
  /**
   * What follows a `proxy` subresource (`/pods/web/proxy/metrics/` → `/metrics/`): still
   * percent-encoded, with its trailing slash, `""` when the path stops at `proxy`. Only the
   * proxy subresources take a path after them, as kube-apiserver's connect handlers with a
   * `path` option do.
   */
  proxyPath?: string;
}

/**
 * Parses the part of the path after `/api/v1` or `/apis/{group}/{version}` (given as raw,
 * still percent-encoded segments). Returns undefined when the segments can't name a resource —
 * among them paths with an empty segment (`/api/v1//namespaces`), which kube-apiserver's router
 * matches to no route: they must not reach the route of the cleaned path. A trailing slash is
 * ignored. Throws a 400 for a segment that is not valid percent-encoded UTF-8.
 */
export function parseResourcePath(
  group: string,
  version: string,
  segments: string[],
): RequestInfo | undefined {
  // `{resource}/{name}/proxy/...` and `namespaces/{ns}/{resource}/{name}/proxy/...`: the rest is
  // the proxied path, which may end in a slash or hold empty segments of its own.
  const proxyAt = segments[0] === "namespaces" ? 4 : 2;
  if (segments.length > proxyAt && decodeSegment(segments[proxyAt]) === "proxy") {
    const head = parseSegments(group, version, segments.slice(0, proxyAt + 1));
    if (!head) return undefined;
    const rest = segments.slice(proxyAt + 1);
    return { ...head, proxyPath: rest.length === 0 ? "" : `/${rest.join("/")}` };
  }
  return parseSegments(group, version, segments);
}

function parseSegments(
  group: string,
  version: string,
  segments: string[],
): RequestInfo | undefined {
  const raw = segments.length > 0 && segments[segments.length - 1] === ""
    ? segments.slice(0, -1)
    : segments;
  if (raw.includes("")) return undefined;
  const parts = raw.map(decodeSegment);
  if (parts.length === 0) return undefined;
  // `/namespaces/{ns}/{resource}/...` addresses namespaced objects; `/namespaces` and
  // `/namespaces/{name}[/{subresource}]` address Namespace objects themselves.
  if (parts[0] === "namespaces" && parts.length >= 3 && !isNamespaceSubresource(group, parts)) {
    const [, namespace, resource, name, subresource, ...rest] = parts;
    if (rest.length > 0) return undefined;
    return { group, version, namespace, resource, name, subresource };
  }
  const [resource, name, subresource, ...rest] = parts;
  if (rest.length > 0) return undefined;
  return { group, version, resource, name, subresource };
}

function decodeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`invalid URL escape in path segment ${JSON.stringify(segment)}`);
  }
}

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function isNamespaceSubresource(group: string, parts: string[]): boolean {
  return group === "" && parts.length === 3 && NAMESPACE_SUBRESOURCES.has(parts[2]);
}
