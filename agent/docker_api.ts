/**
 * HTTP to the Docker engine over its unix socket, for docker_runtime.ts (the only user): JSON
 * requests, streaming responses, and hijacked connections for interactive exec. It uses Deno's own
 * `fetch` over a unix-socket HTTP client instead of dockerode, whose dependency tree (ssh2, gRPC,
 * protobuf) alone costs ~25 MB of resident memory — more than the whole agent budget allows.
 */

/** A Docker failure with the operation it happened in and the engine's own message. */
export class DockerError extends Error {
  /** HTTP status from the engine, 0 when the engine couldn't be reached. */
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super(message);
    this.name = "DockerError";
    this.statusCode = statusCode;
  }
}

/** Query values; `undefined` entries are left out, objects are sent as JSON. */
export type DockerQuery = Record<string, string | number | boolean | object | undefined>;

/** Options of {@linkcode DockerApi.request}. */
export interface DockerRequest {
  query?: DockerQuery;
  /** JSON-encoded unless bytes or a stream. */
  body?: unknown;
  contentType?: string;
  /** Extra request headers (`X-Registry-Auth`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A raw two-way connection to the engine (after `Upgrade: tcp`). */
export interface HijackedConn {
  /** Bytes from the engine (what the process writes). */
  readable: ReadableStream<Uint8Array>;
  write(data: Uint8Array): Promise<void>;
  /** Half-closes our side: the process sees EOF on stdin. */
  closeWrite(): Promise<void>;
  close(): void;
}

// One HTTP client per socket, for the life of the process: creating one per request costs
// ~100 ms, and a shared one keeps its connections alive between requests.
const clients = new Map<string, Deno.HttpClient>();

function clientFor(socketPath: string): Deno.HttpClient {
  let c = clients.get(socketPath);
  if (!c) {
    c = Deno.createHttpClient(
      { proxy: { transport: "unix", path: socketPath } } as unknown as Deno.CreateHttpClientOptions,
    );
    clients.set(socketPath, c);
  }
  return c;
}

function queryString(q?: DockerQuery): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    p.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The engine's error text from a failed response. */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text);
    if (typeof j.message === "string") return j.message;
  } catch { /* not JSON */ }
  return text.trim() || res.statusText || `HTTP ${res.status}`;
}

/** Raw access to one Docker engine. */
export class DockerApi {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /**
   * Sends a request; non-2xx responses (other than 304) throw a {@linkcode DockerError} whose
   * message is `<what>: <engine message>`. The caller owns the returned body.
   */
  async request(
    method: string,
    path: string,
    what: string,
    opts: DockerRequest = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: BodyInit | undefined;
    if (opts.body !== undefined) {
      if (opts.body instanceof Uint8Array || opts.body instanceof ReadableStream) {
        body = opts.body as BodyInit;
        headers["Content-Type"] = opts.contentType ?? "application/octet-stream";
      } else {
        body = JSON.stringify(opts.body);
        headers["Content-Type"] = "application/json";
      }
    }
    let res: Response;
    try {
      res = await fetch(`http://docker${path}${queryString(opts.query)}`, {
        method,
        headers,
        body,
        signal: opts.signal,
        client: clientFor(this.socketPath),
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new DockerError(
        `${what}: cannot reach the Docker engine at ${this.socketPath}: ${(e as Error).message}`,
        0,
      );
    }
    if (res.status >= 400) {
      throw new DockerError(`${what}: ${await errorText(res)}`, res.status);
    }
    return res;
  }

  /** A request whose JSON answer is returned (empty bodies give `undefined`). */
  async json<T>(method: string, path: string, what: string, opts: DockerRequest = {}): Promise<T> {
    const res = await this.request(method, path, what, opts);
    const text = await res.text();
    if (res.status === 304) {
      throw new DockerError(`${what}: not modified`, 304);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A request whose answer is ignored (204 and friends); 304 throws with statusCode 304. */
  async call(method: string, path: string, what: string, opts: DockerRequest = {}): Promise<void> {
    await this.json<unknown>(method, path, what, opts);
  }

  /**
   * POSTs `body` (JSON, or nothing) to `path` with `Upgrade: tcp` and returns the raw connection
   * the engine hands over (exec and attach with stdin, which write after the response started).
   */
  async hijack(path: string, body: unknown, what: string): Promise<HijackedConn> {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path: this.socketPath });
    } catch (e) {
      throw new DockerError(
        `${what}: cannot reach the Docker engine at ${this.socketPath}: ${(e as Error).message}`,
        0,
      );
    }
    const payload = new TextEncoder().encode(body === undefined ? "" : JSON.stringify(body));
    const head = `POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n` +
      `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${payload.length}\r\n\r\n`;
    const writeAll = async (data: Uint8Array) => {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    };
    try {
      await writeAll(new TextEncoder().encode(head));
      await writeAll(payload);
    } catch (e) {
      conn.close();
      throw new DockerError(`${what}: ${(e as Error).message}`, 0);
    }
    // Read the response head; anything after it is already stream data.
    const reader = conn.readable.getReader();
    let buf = new Uint8Array(0);
    let headEnd = -1;
    while (headEnd < 0) {
      const { value, done } = await reader.read();
      if (done) {
        conn.close();
        throw new DockerError(`${what}: the engine closed the connection`, 0);
      }
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
      for (let i = 0; i + 3 < buf.length; i++) {
        if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
          headEnd = i + 4;
          break;
        }
      }
    }
    const headText = new TextDecoder().decode(buf.subarray(0, headEnd));
    const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(headText)?.[1] ?? 0);
    if (status !== 101 && status !== 200) {
      reader.releaseLock();
      conn.close();
      const bodyText = new TextDecoder().decode(buf.subarray(headEnd)).trim();
      let message = bodyText;
      try {
        message = JSON.parse(bodyText).message ?? bodyText;
      } catch { /* plain text */ }
      throw new DockerError(`${what}: ${message || `HTTP ${status}`}`, status);
    }
    const rest = buf.slice(headEnd);
    let closed = false;
    const readable = new ReadableStream<Uint8Array>({
      start(c) {
        if (rest.length) c.enqueue(rest);
      },
      async pull(c) {
        try {
          const { value, done } = await reader.read();
          if (done) c.close();
          else c.enqueue(value);
        } catch {
          c.close();
        }
      },
      cancel() {
        reader.releaseLock();
      },
    });
    return {
      readable,
      write: writeAll,
      closeWrite: async () => {
        await conn.closeWrite().catch(() => {});
      },
      close: () => {
        if (closed) return;
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      },
    };
  }
}
