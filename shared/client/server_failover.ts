/**
 * A `fetch` for clients of a control plane with several API servers: every request goes to the
 * current server; when it cannot be reached (connection refused or reset, TLS failure, or no
 * response headers within `headersTimeoutMs`), the next known server is tried, and the client
 * stays there. The known servers are the configured one plus what `discover()` returns — the
 * node reads them from the `kubernetes` Endpoints its informer keeps, so the list follows the
 * servers as they come and go. Watches need nothing more: a broken watch ends, and the informer
 * re-watches from its resourceVersion through this fetch (re-listing on 410 Gone).
 *
 * All servers of one cluster share the CA (server/ha/shared_trust.ts) and each one's serving
 * certificate names its own address, so one trust works for every server.
 */
import { type Logger, silentLogger } from "../log.ts";

/** Options of {@linkcode ServerFailover}. */
export interface ServerFailoverOptions {
  /** The configured server URL (`https://host:port`), tried first. */
  server: string;
  /** The cluster CA (PEM) for `https` servers. */
  caPem?: string;
  /** Further server URLs, asked at every failover and on each request's server choice. */
  discover?: () => string[];
  /** Time to wait for response headers before failing over (default 10 s). */
  headersTimeoutMs?: number;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
  logger?: Logger;
}

/** See the module comment. */
export class ServerFailover {
  readonly #configured: string;
  readonly #discover: () => string[];
  readonly #timeoutMs: number;
  readonly #inner: typeof fetch;
  readonly #httpClient?: Deno.HttpClient;
  readonly #logger: Logger;
  #current: string;

  constructor(o: ServerFailoverOptions) {
    this.#configured = origin(o.server);
    this.#current = this.#configured;
    this.#discover = o.discover ?? (() => []);
    this.#timeoutMs = o.headersTimeoutMs ?? 10_000;
    this.#logger = (o.logger ?? silentLogger).child("failover");
    if (o.fetch) this.#inner = o.fetch;
    else if (o.caPem) {
      const client = Deno.createHttpClient({ caCerts: [o.caPem] });
      this.#httpClient = client;
      this.#inner = (input, init) => fetch(input, { ...init, client });
    } else this.#inner = fetch;
  }

  /** The server requests go to now. */
  get current(): string {
    return this.#current;
  }

  /** Every known server, the current one first. */
  servers(): string[] {
    const all = [this.#current, this.#configured, ...this.#discover().map(origin)];
    return [...new Set(all)];
  }

  /** The fetch to give an ApiClient (its `server` may be any of the servers). */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = url.pathname + url.search;
    const candidates = this.servers();
    let lastError: unknown;
    for (const server of candidates) {
      if (init?.signal?.aborted) break;
      try {
        const response = await this.#attempt(server + path, init);
        if (server !== this.#current) {
          this.#logger.warn("switched API server", { from: this.#current, to: server });
          this.#current = server;
        }
        return response;
      } catch (e) {
        if (init?.signal?.aborted) throw e;
        lastError = e;
        this.#logger.debug("API server unreachable", { server, error: (e as Error).message });
      }
    }
    throw lastError ?? new TypeError("no API server to send the request to");
  };

  /** Releases the TLS client. */
  close(): void {
    this.#httpClient?.close();
  }

  /** One try: the caller's signal, plus a deadline for the response headers. */
  async #attempt(url: string, init: RequestInit | undefined): Promise<Response> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new TypeError(`no response within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
    try {
      return await this.#inner(url, { ...init, signal });
    } finally {
      clearTimeout(timer);
    }
  }
}

function origin(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** The `https://ip:port` URLs of the `kubernetes` Endpoints object. */
export function serverUrlsOfEndpoints(
  endpoints: {
    subsets?: { addresses?: { ip: string }[]; ports?: { port: number; name?: string }[] }[];
  } | undefined,
): string[] {
  const out: string[] = [];
  for (const s of endpoints?.subsets ?? []) {
    const port = s.ports?.find((p) => p.name === "https")?.port ?? s.ports?.[0]?.port;
    if (!port) continue;
    for (const a of s.addresses ?? []) {
      out.push(`https://${a.ip.includes(":") ? `[${a.ip}]` : a.ip}:${port}`);
    }
  }
  return out;
}
