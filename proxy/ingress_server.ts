/**
 * The Ingress data path of one node: an HTTP listener (port 80) and an HTTPS listener (443, the
 * certificate chosen by SNI from the Ingresses' TLS Secrets, sni_server.ts) that route each
 * request by host and path (ingress_rules.ts) to a ready endpoint of the backend Service, round
 * robin, trying the next endpoint when connecting fails. 404 when no rule matches, 503 when the
 * Service has no ready endpoint, 502 when none could be reached.
 *
 * A small HTTP/1.1 reverse proxy over the raw connections (http1_conn.ts), not `Deno.serve` +
 * `fetch`: measured on the same route, that pair reached ~0.22× HAProxy's requests/s and grew
 * to ~130 MiB private memory under load; this one parses only the message heads and copies
 * bodies as they are framed (Content-Length, chunked, or until close), so chunked responses and
 * server-sent events pass as they come. The client's `Host` is kept, hop-by-hop headers are
 * dropped, `X-Forwarded-For/Proto/Host/Port` and `X-Real-IP` are added. Keep-alive both ways: idle
 * backend connections are pooled per endpoint (a request with a body always gets a fresh one, so
 * a pooled connection the backend closed meanwhile can be retried without losing the body). An
 * `Upgrade` (WebSocket) answered `101` turns the pair into a byte pipe both ways.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import { type IngressBackendRef, type IngressRoutes, matchIngress } from "./ingress_rules.ts";
import { type Backend, backendKey, type RoundRobin } from "./round_robin.ts";
import { type CertKey, listenTlsSni } from "./sni_server.ts";
import { BufferedConn, hasToken, latin1, type Prefix, writeAll } from "./http1_conn.ts";
import {
  BadHead,
  HEADER,
  HOP_BY_HOP_BITS,
  HOP_BY_HOP_NAMES,
  type MessageHead,
} from "./http1_head.ts";

/** TLS certificates by host, from the Ingresses' `spec.tls`. */
export interface IngressCerts {
  /** Exact host (lower case) → certificate. */
  hosts: Map<string, CertKey>;
  /** Wildcard suffix (`.example.com`) → certificate. */
  wildcards: Map<string, CertKey>;
  /** Served when no host matches (the oldest Ingress's first certificate). */
  fallback?: CertKey;
  /** Changes whenever any certificate does (the HTTPS listener is then restarted). */
  version: string;
}

/** What the server routes with; replaced as a whole on every sync. */
export interface IngressState {
  routes: IngressRoutes;
  /** The rotation over a backend's ready endpoints (undefined: no such Service or port). */
  backends: (ref: IngressBackendRef) => RoundRobin | undefined;
  certs: IngressCerts;
  /** `address:port` of every endpoint in use (pooled connections to others are dropped). */
  endpoints?: Set<string>;
}

/** Options of {@linkcode IngressServer}. */
export interface IngressServerOptions {
  /** The address to listen on (the node address). */
  hostname: string;
  /** HTTP port (80); 0 disables HTTP. */
  httpPort: number;
  /** HTTPS port (443); 0 disables HTTPS. */
  httpsPort: number;
  logger?: Logger;
}

/** Time allowed for connecting to one endpoint before trying the next. */
const CONNECT_TIMEOUT_MS = 1000;
/** Idle connections kept per endpoint. */
const POOL_PER_ENDPOINT = 64;
const HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP_NAMES);
const REASONS: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** A connection to an endpoint, or a reason why there is none. */
async function connect(b: Backend): Promise<Deno.TcpConn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Deno.connect({ hostname: b.address, port: b.port });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("connect timed out")), CONNECT_TIMEOUT_MS);
  });
  try {
    const conn = await Promise.race([pending, timeout]);
    conn.setNoDelay(true);
    return conn;
  } catch (e) {
    pending.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch { /* already closed */ }
}

/** Idle keep-alive connections to endpoints, by `address:port`. */
class BackendPool {
  readonly #idle = new Map<string, BufferedConn[]>();

  take(key: string): BufferedConn | undefined {
    return this.#idle.get(key)?.pop();
  }

  put(key: string, conn: BufferedConn): void {
    const list = this.#idle.get(key) ?? [];
    if (list.length >= POOL_PER_ENDPOINT) return closeQuietly(conn.conn);
    list.push(conn);
    this.#idle.set(key, list);
  }

  /** Drops the connections of endpoints no longer in `keep`. */
  retain(keep: Set<string>): void {
    for (const [key, list] of this.#idle) {
      if (keep.has(key)) continue;
      list.forEach((c) => closeQuietly(c.conn));
      this.#idle.delete(key);
    }
  }

  closeAll(): void {
    this.retain(new Set());
  }
}

interface Listening {
  listener: Deno.Listener;
  loop: Promise<void>;
}

/** The listeners and request handling of the node's ingress. */
export class IngressServer {
  readonly #o: IngressServerOptions;
  readonly #logger: Logger;
  readonly #pool = new BackendPool();
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving = new Set<Promise<void>>();
  #state: IngressState = {
    routes: { hosts: new Map(), wildcards: new Map(), anyHost: [] },
    backends: () => undefined,
    certs: { hosts: new Map(), wildcards: new Map(), version: "" },
  };
  #http?: Listening;
  #https?: Listening & { version: string };
  #closed = false;

  constructor(options: IngressServerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The routing state requests use from now on. */
  update(state: IngressState): void {
    this.#state = state;
    if (state.endpoints) this.#pool.retain(state.endpoints);
  }

  /**
   * Opens the listeners that should be open and are not (HTTPS only once a certificate exists;
   * restarted when the certificates change). Returns the ports that could not be bound.
   */
  async reconcile(): Promise<{ port: number; scheme: string; error: Error }[]> {
    const failed: { port: number; scheme: string; error: Error }[] = [];
    if (this.#closed) return failed;
    if (this.#o.httpPort > 0 && !this.#http) {
      try {
        const listener = Deno.listen({ hostname: this.#o.hostname, port: this.#o.httpPort });
        this.#http = { listener, loop: this.#accept(listener, "http") };
      } catch (e) {
        failed.push({ port: this.#o.httpPort, scheme: "http", error: e as Error });
      }
    }
    const certs = this.#state.certs;
    if (this.#https && (!certs.fallback || this.#https.version !== certs.version)) {
      // The SNI answers are cached per listener: new certificates need a new listener. Open
      // connections keep the certificate they were given.
      this.#https.listener.close();
      await this.#https.loop;
      this.#https = undefined;
    }
    if (this.#o.httpsPort > 0 && !this.#https && certs.fallback) {
      try {
        const listener = listenTlsSni({
          hostname: this.#o.hostname,
          port: this.#o.httpsPort,
          fallback: certs.fallback,
          resolve: (name) => certFor(certs, name),
        });
        this.#https = { listener, loop: this.#accept(listener, "https"), version: certs.version };
      } catch (e) {
        failed.push({ port: this.#o.httpsPort, scheme: "https", error: e as Error });
      }
    }
    return failed;
  }

  async #accept(listener: Deno.Listener, scheme: "http" | "https"): Promise<void> {
    const port = (listener.addr as Deno.NetAddr).port;
    try {
      for await (const conn of listener) {
        if (scheme === "http") (conn as Deno.TcpConn).setNoDelay(true);
        this.#conns.add(conn);
        const serving = this.#serveConn(conn, scheme, port).finally(() => {
          this.#conns.delete(conn);
          closeQuietly(conn);
          this.#serving.delete(serving);
        });
        this.#serving.add(serving);
      }
    } catch (e) {
      // A listener closed on purpose (shutdown, new certificates) ends the loop quietly.
      if (!this.#closed && !(e instanceof Deno.errors.BadResource)) {
        this.#logger.warn("ingress listener failed", { scheme, error: e });
      }
    }
  }

  /** One client connection: requests in turn until either side closes. */
  async #serveConn(conn: Deno.Conn, scheme: "http" | "https", port: number): Promise<void> {
    const client = new BufferedConn(conn);
    const from: ClientSide = { scheme, port, clientIP: (conn.remoteAddr as Deno.NetAddr).hostname };
    try {
      while (!this.#closed) {
        // client.readHead(), with the read awaited here: one promise less per request.
        let req: MessageHead | undefined;
        try {
          req = client.takeHead();
          while (req === undefined) {
            if (!client.filled(await client.read())) return client.endedBeforeHead();
            req = client.takeHead();
          }
        } catch (e) {
          // A request that is not HTTP/1.1 (or too big) is answered 400 (431), then closed.
          if (e instanceof BadHead) await this.#local(client, e.status, false);
          throw e;
        }
        if (!await this.#request(client, req, from)) return;
      }
    } catch (e) {
      this.#logger.debug("ingress connection ended", { error: e });
    }
  }

  /** Serves one request; false when the client connection must close. */
  async #request(
    client: BufferedConn,
    req: MessageHead,
    o: ClientSide,
  ): Promise<boolean> {
    const [method, target, version] = req.start;
    const connection = known(req, "connection");
    const keepAlive = version === "HTTP/1.1"
      ? !hasToken(connection, "close")
      : hasToken(connection, "keep-alive");
    const chunked = hasToken(known(req, "transfer-encoding"), "chunked");
    const length = chunked ? 0 : Number(known(req, "content-length") ?? 0);
    if (!Number.isInteger(length) || length < 0) {
      await this.#local(client, 400, false);
      return false;
    }
    const hasBody = chunked || length > 0;
    let host = known(req, "host") ?? "";
    let path = target;
    if (target.charCodeAt(0) !== 47 && /^https?:\/\//i.test(target)) { // absolute-form
      const u = new URL(target);
      path = `${u.pathname}${u.search}`;
      host ||= u.host;
    }
    const state = this.#state;
    const q = path.indexOf("?");
    const ref = matchIngress(state.routes, host, q === -1 ? path : path.slice(0, q));
    // A body left unread cannot be skipped cheaply: answer and close instead.
    if (!ref) return await this.#local(client, 404, keepAlive && !hasBody);
    const attempts = state.backends(ref)?.attempts() ?? [];
    if (attempts.length === 0) return await this.#local(client, 503, keepAlive && !hasBody);

    const upgrade = hasToken(connection, "upgrade") ? req.get("upgrade") : undefined;
    if (hasToken(known(req, "expect"), "100-continue")) {
      await writeAll(client.conn, latin1(`${version} 100 Continue\r\n\r\n`));
    }
    const whole = path === target && !upgrade && !chunked && !replacedHeaders(req)
      ? req.bytesWithoutEnd()
      : undefined;
    // Nothing to change (the usual request): its bytes go on as they came, then the
    // X-Forwarded-* lines (encoded once per connection and host). Otherwise the head is rebuilt.
    const head: Prefix = whole ? [whole, forwardedLines(o, host)] : rebuiltHead(req, {
      method,
      path,
      version,
      upgrade,
      host,
      from: o,
    });
    let backend: BufferedConn | undefined;
    let key = "";
    let res: MessageHead | undefined;
    // Only bodiless requests use the pool: a pooled connection the endpoint closed meanwhile
    // shows as an error or an empty answer, and the request is sent again on a fresh one.
    const poolable = !hasBody && !upgrade;
    let freshAt = -1;
    for (let i = 0; i < attempts.length;) {
      const b = attempts[i];
      key = backendKey(b);
      let be = poolable && freshAt !== i ? this.#pool.take(key) : undefined;
      const pooled = be !== undefined;
      if (!be) {
        try {
          be = new BufferedConn(await connect(b));
        } catch {
          i++; // connecting failed: the next endpoint
          continue;
        }
      }
      try {
        if (chunked) await client.copyChunked(be.conn, head as string);
        else if (hasBody) await client.copyN(be.conn, length, head);
        else {
          // A bodiless request (the usual one) is its head alone: written, and the answer's
          // head read, with the connection's own promises awaited here.
          const out = client.staged(head);
          const written = await be.conn.write(out);
          if (written < out.length) await writeAll(be.conn, out.subarray(written));
        }
        res = be.takeHead();
        while (res === undefined) {
          if (!be.filled(await be.read())) break;
          res = be.takeHead();
        }
      } catch {
        res = undefined;
      }
      if (res) {
        backend = be;
        break;
      }
      closeQuietly(be.conn);
      // The request (and its body) went out on a fresh connection: it cannot be sent again.
      if (!pooled) return await this.#local(client, 502, false);
      freshAt = i;
    }
    if (!backend || !res) {
      this.#logger.debug("no ingress endpoint reachable", { ingress: ref.ingress });
      return await this.#local(client, 502, keepAlive && !hasBody);
    }
    try {
      return await this.#response(client, backend, res, { method, keepAlive, upgrade, key });
    } catch (e) {
      closeQuietly(backend.conn);
      throw e;
    }
  }

  /** Relays the response; false when the client connection must close. */
  async #response(
    client: BufferedConn,
    backend: BufferedConn,
    first: MessageHead,
    o: { method: string; keepAlive: boolean; upgrade?: string; key: string },
  ): Promise<boolean> {
    let res = first;
    let status = res.statusCode;
    // Interim answers (100 Continue, 103 Early Hints) pass on; the final one follows.
    while (status >= 100 && status < 200 && status !== 101) {
      await writeAll(client.conn, latin1(renderHead(res, [])));
      const next = await backend.readHead();
      if (!next) throw new Error("endpoint closed after an interim response");
      res = next;
      status = res.statusCode;
    }
    if (status === 101 && o.upgrade) {
      await writeAll(client.conn, latin1(renderHead(res, [], true)));
      await pipeBoth(client, backend);
      return false;
    }
    const chunked = hasToken(known(res, "transfer-encoding"), "chunked");
    const lengthText = known(res, "content-length");
    const noBody = o.method === "HEAD" || status === 204 || status === 304;
    const untilClose = !noBody && !chunked && lengthText === undefined;
    const backendKeep = res.startIs(0, "HTTP/1.1")
      ? !hasToken(known(res, "connection"), "close")
      : hasToken(known(res, "connection"), "keep-alive");
    const clientKeep = o.keepAlive && !untilClose;
    const length = lengthText === undefined ? NaN : Number(lengthText);
    if (
      clientKeep && !chunked && (noBody || Number.isInteger(length)) &&
      !hasHopByHop(res) && backend.unreadHead(res)
    ) {
      // Nothing to drop or add: the head goes on as it came, with the body, in one copy
      // (written here when all of it has arrived, the usual small answer).
      const n = res.byteLength + (noBody ? 0 : length);
      const whole = backend.take(n);
      if (whole) {
        const written = await client.conn.write(whole);
        if (written < whole.length) await writeAll(client.conn, whole.subarray(written));
      } else await backend.copyN(client.conn, n);
    } else {
      await this.#relayReshaped(client, backend, res, { chunked, noBody, clientKeep, lengthText });
    }
    if (backendKeep && !untilClose && !this.#closed) this.#pool.put(o.key, backend);
    else closeQuietly(backend.conn);
    return clientKeep;
  }

  /**
   * Relays a response with its head rendered anew (hop-by-hop headers dropped, `Connection:
   * close` added when the client connection ends) and its body as it is framed.
   */
  async #relayReshaped(
    client: BufferedConn,
    backend: BufferedConn,
    res: MessageHead,
    o: { chunked: boolean; noBody: boolean; clientKeep: boolean; lengthText?: string },
  ): Promise<void> {
    const { chunked, noBody, clientKeep, lengthText } = o;
    const head = renderHead(res, clientKeep ? [] : [["Connection", "close"]]);
    if (noBody) await backend.copyN(client.conn, 0, head);
    else if (chunked) await backend.copyChunked(client.conn, head);
    else if (lengthText !== undefined) {
      await backend.copyN(client.conn, Number(lengthText), head);
    } else await backend.copyToEnd(client.conn, head);
  }

  /** Answers from the proxy itself; returns whether the connection stays open. */
  async #local(client: BufferedConn, status: number, keepAlive: boolean): Promise<boolean> {
    const reason = REASONS[status] ?? "Error";
    const body = status === 404 ? "404 page not found\n" : `${reason}\n`;
    await writeAll(
      client.conn,
      latin1(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${body.length}\r\n${
            keepAlive ? "" : "Connection: close\r\n"
          }\r\n${body}`,
      ),
    );
    return keepAlive;
  }

  /** Stops both listeners, ends open connections and drops the pooled ones. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#http?.listener.close();
    this.#https?.listener.close();
    await Promise.all([this.#http?.loop, this.#https?.loop]);
    this.#http = this.#https = undefined;
    for (const c of this.#conns) closeQuietly(c);
    await Promise.all(this.#serving);
    this.#pool.closeAll();
  }
}

/** Where a client connection comes from, and what its forwarded lines were last. */
interface ClientSide {
  scheme: string;
  port: number;
  clientIP: string;
  /** The X-Forwarded-* lines last sent, for {@linkcode ClientSide.linesHost}. */
  lines?: Uint8Array;
  linesHost?: string;
}

/**
 * `X-Forwarded-For/Proto/Host/Port` and `X-Real-IP` for a request without X-Forwarded-For of
 * its own, and the empty line ending the head; the same bytes as the last request's when the
 * host is the same.
 */
function forwardedLines(from: ClientSide, host: string): Uint8Array {
  if (from.lines && from.linesHost === host) return from.lines;
  from.linesHost = host;
  from.lines = latin1(forwardedText(from, host, undefined));
  return from.lines;
}

function forwardedText(from: ClientSide, host: string, prior: string | undefined): string {
  return `X-Forwarded-For: ${prior ? `${prior}, ${from.clientIP}` : from.clientIP}\r\n` +
    `X-Forwarded-Proto: ${from.scheme}\r\nX-Forwarded-Host: ${host}\r\n` +
    `X-Forwarded-Port: ${from.port}\r\nX-Real-IP: ${from.clientIP}\r\n\r\n`;
}

/**
 * A request head rebuilt for the endpoint: the start line in origin-form, hop-by-hop headers and
 * the client's own `X-Forwarded-*` / `X-Real-IP` dropped (a prior X-Forwarded-For is extended),
 * `Connection: Upgrade` kept for a protocol switch, the forwarded lines added.
 */
function rebuiltHead(
  req: MessageHead,
  o: {
    method: string;
    path: string;
    version: string;
    upgrade?: string;
    host: string;
    from: ClientSide;
  },
): string {
  let head = `${o.method} ${o.path} ${o.version}\r\n`;
  let prior: string | undefined;
  for (let i = 0; i < req.count; i++) {
    const lower = req.nameAt(i);
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === "x-forwarded-for") {
      const v = req.valueAt(i);
      prior = prior ? `${prior}, ${v}` : v;
      continue;
    }
    if (lower.startsWith("x-forwarded-") || lower === "x-real-ip") continue;
    head += req.lineAt(i);
  }
  if (o.upgrade) head += `Connection: Upgrade\r\nUpgrade: ${o.upgrade}\r\n`;
  return head + forwardedText(o.from, o.host, prior);
}

/** Whether a head has a hop-by-hop header (one not to pass on). */
function hasHopByHop(head: MessageHead): boolean {
  return head.has(HOP_BY_HOP_BITS);
}

/** The value of a header {@linkcode HEADER} has a bit for: no scan of the head when absent. */
function known(head: MessageHead, name: keyof typeof HEADER): string | undefined {
  return head.has(HEADER[name]) ? head.get(name) : undefined;
}

/**
 * Whether a request has headers the proxy drops or replaces: hop-by-hop ones and the
 * `X-Forwarded-*` / `X-Real-IP` it sets itself.
 */
function replacedHeaders(req: MessageHead): boolean {
  return req.has(HOP_BY_HOP_BITS | HEADER["x-forwarded-"] | HEADER["x-real-ip"]);
}

/** A response head for the client: hop-by-hop headers dropped, `extra` added. */
function renderHead(res: MessageHead, extra: [string, string][], keepUpgrade = false): string {
  let out = `${res.start[0]} ${res.start[1]}${res.start[2] ? ` ${res.start[2]}` : ""}\r\n`;
  for (let i = 0; i < res.count; i++) {
    const lower = res.nameAt(i);
    if (
      HOP_BY_HOP.has(lower) && !(keepUpgrade && (lower === "upgrade" || lower === "connection"))
    ) {
      continue;
    }
    out += res.lineAt(i);
  }
  for (const [k, v] of extra) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}

/** After a protocol switch: bytes both ways until each side has finished. */
async function pipeBoth(client: BufferedConn, backend: BufferedConn): Promise<void> {
  const half = async (from: BufferedConn, to: Deno.Conn) => {
    try {
      await from.copyToEnd(to);
      await (to as Deno.TcpConn).closeWrite();
    } catch {
      closeQuietly(from.conn);
      closeQuietly(to);
    }
  };
  await Promise.all([half(client, backend.conn), half(backend, client.conn)]);
  closeQuietly(backend.conn);
}

/** The certificate for an SNI name: exact host, then wildcard, then the fallback. */
export function certFor(certs: IngressCerts, serverName: string): CertKey {
  const name = serverName.toLowerCase();
  const dot = name.indexOf(".");
  return certs.hosts.get(name) ??
    (dot > 0 ? certs.wildcards.get(name.slice(dot)) : undefined) ??
    certs.fallback!;
}
