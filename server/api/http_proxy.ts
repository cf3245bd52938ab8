/**
 * The reverse proxy behind `pods/proxy`, `services/proxy` and `nodes/proxy`, as
 * kube-apiserver's UpgradeAwareHandler with its wrapping transport: the request goes to the
 * location with the path after `/proxy` (cleaned, its trailing slash kept) and the query as
 * sent; bodies stream both ways. Hop-by-hop headers are dropped, and so are the caller's
 * `Authorization` and `Impersonate-*` headers (kube-apiserver's authentication and
 * impersonation filters remove them before any handler runs); the client's Host is kept;
 * `X-Forwarded-For` gets the client's address appended and `X-Forwarded-Uri` says which API
 * path was asked for. On the way back CORS headers are removed, a `Location` on the backend's
 * own host is rewritten under the proxy path, and so are the links in an HTML page
 * (`html_rewriter.ts`). A GET of the bare `…/proxy` is redirected to `…/proxy/`. WebSocket
 * upgrades are relayed message by message (`exec_proxy.ts`); other upgrades go on as plain
 * requests.
 */
import { BadRequestError, ServiceUnavailableError } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { proxyWebSocket } from "./exec_proxy.ts";
import {
  type BackendConn,
  dialBackend,
  type DialTarget,
  exchange,
  headerValue,
  type IncomingResponse,
} from "./http1_client.ts";
import type { ProxyLocation } from "./proxy_location.ts";
import { reachError } from "./proxy_location.ts";
import { rewriteHtmlResponse } from "./html_rewriter.ts";

/** Options of {@linkcode proxyRequest}. */
export interface ProxyRequestOptions {
  /** Where the request goes. */
  location: ProxyLocation;
  /** The path after `/proxy`, as the client sent it (`RequestInfo.proxyPath`). */
  proxyPath: string;
  /** The client's IP address, appended to `X-Forwarded-For`. */
  clientAddress?: string;
  /** Opens the backend connection (tests); {@linkcode dialBackend} by default. */
  dial?: (target: DialTarget) => Promise<BackendConn>;
  logger?: Logger;
}

/** Headers about one connection only (RFC 9110 §7.6.1), as Go's ReverseProxy drops them. */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  // Deno.serve has answered the client's 100-continue already; the body follows at once.
  "expect",
  // The client's framing: the body's length is sent again from what is forwarded.
  "content-length",
]);

/** The header names a Connection header lists (hop-by-hop for this message), lower-cased. */
function connectionTokens(value: string | null | undefined): Set<string> {
  return new Set((value ?? "").toLowerCase().split(",").map((t) => t.trim()));
}

/** The caller's credentials and identity requests: kube-apiserver's filters remove them. */
function isCredentialHeader(name: string): boolean {
  return name === "authorization" || name.startsWith("impersonate-");
}

/** Response headers kube-apiserver's proxy strips (`removeCORSHeaders`). */
const CORS_HEADERS = new Set([
  "access-control-allow-credentials",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-allow-origin",
]);

/**
 * Proxies `req` to `options.location` and returns the backend's response (or a redirect, or a
 * relayed WebSocket's 101).
 *
 * @throws {ServiceUnavailableError} the backend could not be reached or did not answer HTTP
 *   (`error trying to reach service: …`).
 * @throws {BadRequestError} a bad escape in the path.
 */
export async function proxyRequest(req: Request, options: ProxyRequestOptions): Promise<Response> {
  const logger = options.logger ?? silentLogger;
  const { location } = options;
  const url = new URL(req.url);
  const upstreamPath = cleanProxyPath(options.proxyPath);
  // `…/proxy` itself: the path the backend sees must end in a slash, so that the page's
  // relative links resolve under the proxy (kubernetes/kubernetes#4958).
  if (upstreamPath === "" && (req.method === "GET" || req.method === "HEAD")) {
    if (!isUpgrade(req)) {
      return new Response(null, {
        status: 301,
        headers: { location: `${url.pathname}/${url.search}` },
      });
    }
  }
  const path = upstreamPath === "" ? "/" : upstreamPath;
  const target = `${path}${url.search}`;
  // The API path up to `/proxy`: what the backend's absolute links are rewritten under.
  const pathPrepend = url.pathname.slice(0, url.pathname.length - options.proxyPath.length);
  const headers = forwardedHeaders(req.headers, {
    // The client's Host goes on, as Go's ReverseProxy sends it (HTTP/2 has :authority).
    host: req.headers.get("host") ?? url.host,
    clientAddress: options.clientAddress,
    forwardedUri: `${pathPrepend}${path}`,
    extra: location.headers,
  });

  if (isUpgrade(req)) return await proxyUpgrade(req, { location, target, headers, logger });

  const dial = options.dial ?? dialBackend;
  let conn: BackendConn;
  try {
    conn = await dial(location);
  } catch (err) {
    throw reachError(err instanceof Error ? err.message : String(err));
  }
  const length = req.headers.get("content-length");
  let res: IncomingResponse;
  try {
    res = await exchange(conn, {
      method: req.method,
      target,
      headers,
      body: req.body,
      contentLength: req.body === null
        ? (["POST", "PUT", "PATCH"].includes(req.method) ? 0 : undefined)
        : length !== null && /^\d+$/.test(length)
        ? Number(length)
        : undefined,
    }, req.signal);
  } catch (err) {
    throw reachError(err instanceof Error ? err.message : String(err));
  }
  return await clientResponse(res, {
    location,
    pathPrepend,
    requestHost: req.headers.get("host") ?? url.host,
    logger,
  });
}

/**
 * Whether `req` asks for a WebSocket. Other upgrades (h2c, SPDY) go on as plain requests, their
 * Upgrade header dropped with the other hop-by-hop ones: the backend answers them as a server
 * declining the upgrade would, which is what kube-apiserver passes back in that case.
 */
function isUpgrade(req: Request): boolean {
  return (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
}

/**
 * The path to request from the backend: `proxyPath` decoded (an encoded `/` separates as in
 * kube-apiserver, which works on the decoded path), its dot segments resolved without going
 * above the root, empty segments dropped, a trailing slash kept, and encoded again as Go's
 * `url.URL` does. `""` stays `""` (the bare `…/proxy`).
 *
 * @throws {BadRequestError} a segment that is not valid percent-encoded UTF-8.
 */
export function cleanProxyPath(proxyPath: string): string {
  if (proxyPath === "") return "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(proxyPath);
  } catch {
    throw new BadRequestError(`invalid URL escape in path ${JSON.stringify(proxyPath)}`);
  }
  const out = resolveSegments(decoded);
  const trailing = decoded.endsWith("/") && out.length > 0 ? "/" : "";
  return `/${out.map(escapePathSegment).join("/")}${trailing}`;
}

/** The segments of `path` with empty and dot segments resolved, never above the root. */
function resolveSegments(path: string): string[] {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return out;
}

/** Go's `url.PathEscape` rules for a path: unreserved characters and `$&+,:;=@` stay. */
function escapePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /%(24|26|2B|2C|3A|3B|3D|40)/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  ).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The headers sent to the backend: the client's, without hop-by-hop ones (and those its
 * Connection header names) or its credentials, with `X-Forwarded-For` and `X-Forwarded-Uri`
 * set as kube-apiserver's proxy sets them, then the location's own (the agent credential).
 */
export function forwardedHeaders(
  incoming: Headers,
  options: {
    host: string;
    clientAddress?: string;
    forwardedUri: string;
    extra?: Record<string, string>;
  },
): [string, string][] {
  const named = connectionTokens(incoming.get("connection"));
  const out: [string, string][] = [["host", options.host]];
  let forwardedFor: string | undefined;
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || named.has(name) || isCredentialHeader(name)) continue;
    if (name === "host") continue;
    if (name === "x-forwarded-for") {
      forwardedFor = value;
      continue;
    }
    if (name === "x-forwarded-uri") continue;
    // Deno joins repeated headers with ", " except Set-Cookie; a request's Cookie is one line.
    out.push([name, value]);
  }
  if (options.clientAddress) {
    forwardedFor = forwardedFor
      ? `${forwardedFor}, ${options.clientAddress}`
      : options.clientAddress;
  }
  if (forwardedFor) out.push(["x-forwarded-for", forwardedFor]);
  out.push(["x-forwarded-uri", options.forwardedUri]);
  for (const [name, value] of Object.entries(options.extra ?? {})) out.push([name, value]);
  return out;
}

/** The client's response from the backend's: headers filtered and rewritten, body streamed. */
async function clientResponse(
  res: IncomingResponse,
  options: {
    location: ProxyLocation;
    pathPrepend: string;
    requestHost: string;
    logger: Logger;
  },
): Promise<Response> {
  const named = connectionTokens(headerValue(res.headers, "connection"));
  const headers = new Headers();
  for (const [name, value] of res.headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || CORS_HEADERS.has(lower)) continue;
    headers.append(name, value);
  }
  if (res.contentLength !== undefined) headers.set("content-length", String(res.contentLength));
  const rewrite = (target: string) =>
    rewriteUrl(target, {
      pathPrepend: options.pathPrepend,
      backendAuthority: options.location.authority,
      requestHost: options.requestHost,
    });
  const redirect = headers.get("location");
  let body = res.body;
  if (redirect) headers.set("location", rewrite(redirect));
  else if (body && isHtml(headers.get("content-type"))) {
    const rewritten = await rewriteHtmlResponse(body, {
      contentEncoding: headers.get("content-encoding"),
      rewrite,
      logger: options.logger,
    });
    body = rewritten.body;
    if (rewritten.rewritten) headers.delete("content-length");
  }
  // Statuses Response refuses (below 200 or above 599) are not HTTP the client can be given.
  if (res.status < 200 || res.status > 599) {
    await body?.cancel();
    throw new ServiceUnavailableError(
      `error trying to reach service: invalid status code ${res.status}`,
    );
  }
  const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
  if (nullBody) await body?.cancel();
  return new Response(nullBody ? null : body, {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}

function isHtml(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "text/html";
}

/**
 * kube-apiserver's `rewriteURL`: a URL (a redirect's Location, a link in an HTML page) with an
 * absolute path, on no host or on the backend's or the request's host, is moved under the
 * proxy path (`/x` → `/api/v1/namespaces/ns/services/web/proxy/x`); its scheme and host are
 * dropped unless they are the request's own. Relative URLs and URLs of other hosts stay.
 */
export function rewriteUrl(
  target: string,
  options: { pathPrepend: string; backendAuthority: string; requestHost: string },
): string {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(.*)$/s.exec(target);
  if (!m) return target;
  const [, , , path, rest] = m;
  let scheme: string | undefined = m[1];
  let host: string | undefined = m[2];
  const isDifferentHost = host !== undefined && host !== "" &&
    host !== options.backendAuthority && host !== options.requestHost;
  if (isDifferentHost || !path.startsWith("/")) return target;
  if (host !== options.requestHost) {
    scheme = undefined;
    host = undefined;
  }
  const prefix = `${scheme ? `${scheme}:` : ""}${host !== undefined ? `//${host}` : ""}`;
  if (path.startsWith(options.pathPrepend)) return `${prefix}${path}${rest}`;
  const joined = joinPath(options.pathPrepend, path);
  return `${prefix}${joined}${rest}`;
}

/** Go's `path.Join` of two absolute paths, with `b`'s trailing slash kept. */
function joinPath(a: string, b: string): string {
  const out = resolveSegments(`${a}/${b}`);
  return `/${out.join("/")}${b.endsWith("/") && out.length > 0 ? "/" : ""}`;
}

/** Relays a WebSocket upgrade to the backend. */
async function proxyUpgrade(
  req: Request,
  options: {
    location: ProxyLocation;
    target: string;
    headers: [string, string][];
    logger: Logger;
  },
): Promise<Response> {
  if (options.location.scheme === "https") {
    throw new ServiceUnavailableError(
      "error trying to reach service: WebSocket to an https backend is not supported " +
        "(the server's WebSocket client verifies certificates)",
    );
  }
  // The handshake's own headers (Host, Sec-WebSocket-*) are the WebSocket client's to write.
  const headers: Record<string, string> = {};
  for (const [name, value] of options.headers) {
    if (name === "host" || name.startsWith("sec-websocket-")) continue;
    headers[name] = value;
  }
  return await proxyWebSocket(req, {
    url: `ws://${options.location.authority}${options.target}`,
    headers,
  }, {
    logger: options.logger,
    keepProtocolNames: true,
    describe: "error trying to reach service",
  });
}
