/**
 * The TCP data path of one service port on one address: accept a client, pick a backend (session
 * affinity first, then round robin), connect with a short timeout — trying the next backend when
 * one fails — and pump bytes both ways until both sides have finished.
 *
 * The pump is a plain read/write loop reusing one 64 KiB buffer per direction, awaiting each write
 * (back-pressure: at most one buffer in flight per direction). Measured while planning, this ran
 * at ~0.9× HAProxy's requests/s where `readable.pipeTo` ran at ~0.3× (it allocated a fresh zeroed
 * chunk per read); `node:net` pipes and a double-buffered loop were no faster here. End of stream
 * on one side becomes `closeWrite()` on the other (half-close). bench/proxy_bench.ts measures it.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import type { PortCounters } from "./metrics.ts";
import { type Backend, backendKey, RoundRobin } from "./round_robin.ts";
import type { SessionAffinity } from "./session_affinity.ts";
import { affinityFor, type Forwarder, type ForwarderOptions } from "./forwarder.ts";

/** Size of each direction's reusable buffer. */
const BUFFER_SIZE = 64 * 1024;

/** Default time allowed for connecting to one backend. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

/** Options for {@linkcode TcpForwarder}. */
export interface TcpForwarderOptions extends ForwarderOptions {
  /** Time allowed for connecting to one backend before trying the next. Default 1000 ms. */
  connectTimeoutMs?: number;
  /**
   * How long a backend that failed stays at the back of the rotation. Default 2000 ms.
   * See {@linkcode TcpForwarder} for what counts as failing.
   */
  suspectMs?: number;
}

/** Default time a failed backend is tried last. */
export const DEFAULT_SUSPECT_MS = 2000;

interface Session {
  client: Deno.TcpConn;
  backend?: Deno.TcpConn;
  done: Promise<void>;
}

/**
 * Forwards connections from one listening address to the current backends.
 *
 * Passive health: a backend that refused or timed out a connect, or that closed a connection
 * without sending a byte while the client was still there, is "suspect" for `suspectMs` and is
 * tried after the others. The second case is what a dead pod looks like here: the agent
 * publishes ports on the pod's sandbox through Docker, whose userland proxy still accepts while
 * the app container is gone. Suspects are never skipped, only tried last.
 */
export class TcpForwarder implements Forwarder {
  readonly hostname: string;
  readonly #requestedPort: number;
  readonly #rr: RoundRobin;
  readonly #connectTimeoutMs: number;
  readonly #suspectMs: number;
  /** Backend key → time until which it is tried last. */
  readonly #suspects = new Map<string, number>();
  readonly #logger: Logger;
  readonly #counters?: PortCounters;
  #affinity?: SessionAffinity;
  #listener?: Deno.TcpListener;
  #acceptLoop?: Promise<void>;
  readonly #sessions = new Set<Session>();
  #closed = false;

  constructor(options: TcpForwarderOptions) {
    this.hostname = options.hostname;
    this.#requestedPort = options.port;
    this.#rr = new RoundRobin(options.backends ?? []);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#suspectMs = options.suspectMs ?? DEFAULT_SUSPECT_MS;
    this.#logger = options.logger ?? silentLogger;
    this.#counters = options.counters;
    this.setAffinity(options.affinityTimeoutSeconds);
  }

  /**
   * Binds the listening socket and starts accepting. Throws the bind error as is
   * (`Deno.errors.AddrInUse`, `AddrNotAvailable`, `PermissionDenied`) so the caller can report it.
   */
  listen(): void {
    if (this.#listener || this.#closed) throw new Error("TcpForwarder.listen() called twice");
    this.#listener = Deno.listen({ hostname: this.hostname, port: this.#requestedPort });
    this.#acceptLoop = this.#accept(this.#listener);
  }

  /** The bound port (useful after listening on port 0). */
  get port(): number {
    return this.#listener?.addr.port ?? this.#requestedPort;
  }

  /** Current backends. */
  get backends(): readonly Backend[] {
    return this.#rr.backends;
  }

  /** Connections being forwarded now. */
  get activeConnections(): number {
    return this.#sessions.size;
  }

  /** Replaces the backend list atomically; open connections are untouched. */
  setBackends(backends: readonly Backend[]): void {
    this.#rr.set(backends);
  }

  /** Turns `ClientIP` affinity on with a timeout (seconds), or off with `undefined`. */
  setAffinity(timeoutSeconds: number | undefined): void {
    this.#affinity = affinityFor(this.#affinity, timeoutSeconds);
  }

  /** Stops listening, closes every open connection and waits until all of it has wound down. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
    for (const s of this.#sessions) {
      closeQuietly(s.client);
      if (s.backend) closeQuietly(s.backend);
    }
    await Promise.all([...this.#sessions].map((s) => s.done));
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await listener.accept();
      } catch (err) {
        if (this.#closed) return;
        // EMFILE and friends: log, breathe, keep accepting.
        this.#logger.warn("accept failed", { address: this.hostname, port: this.port, err });
        await new Promise((r) => setTimeout(r, 50));
        if (this.#closed) return;
        continue;
      }
      if (this.#closed) {
        closeQuietly(client);
        return;
      }
      const session: Session = { client, done: Promise.resolve() };
      this.#sessions.add(session);
      session.done = this.#serve(session).finally(() => this.#sessions.delete(session));
    }
  }

  async #serve(session: Session): Promise<void> {
    const { client } = session;
    const c = this.#counters;
    if (c) {
      c.connectionsTotal++;
      c.active++;
    }
    try {
      const connected = await this.#connectBackend(client);
      if (!connected) {
        closeQuietly(client);
        return;
      }
      const { conn, backend } = connected;
      if (this.#closed) {
        closeQuietly(client);
        closeQuietly(conn);
        return;
      }
      session.backend = conn;
      client.setNoDelay(true);
      conn.setNoDelay(true);
      let clientEnded = false;
      await Promise.all([
        pump(client, conn, c, true).then((r) => {
          if (r.end !== "writeError") clientEnded = true;
        }),
        pump(conn, client, c, false).then((r) => {
          // The backend hung up without a word while the client was still there.
          if (r.bytes === 0 && r.end !== "writeError" && !clientEnded) {
            this.#markSuspect(backend);
            this.#logger.debug("backend hung up before a byte; marked suspect", {
              backend: backendKey(backend),
              end: r.end,
            });
          }
        }),
      ]);
      closeQuietly(client);
      closeQuietly(conn);
    } finally {
      if (c) c.active--;
    }
  }

  #markSuspect(backend: Backend): void {
    this.#suspects.set(backendKey(backend), Date.now() + this.#suspectMs);
  }

  /** `attempts` with suspect backends moved to the end (order otherwise kept). */
  #healthyFirst(attempts: readonly Backend[]): readonly Backend[] {
    if (this.#suspects.size === 0) return attempts;
    const now = Date.now();
    for (const [key, until] of this.#suspects) if (until <= now) this.#suspects.delete(key);
    const healthy: Backend[] = [];
    const suspect: Backend[] = [];
    for (const b of attempts) (this.#suspects.has(backendKey(b)) ? suspect : healthy).push(b);
    return [...healthy, ...suspect];
  }

  /** Connects to the affinity backend or the next ones in turn; undefined when all failed. */
  async #connectBackend(
    client: Deno.TcpConn,
  ): Promise<{ conn: Deno.TcpConn; backend: Backend } | undefined> {
    const clientIp = client.remoteAddr.hostname;
    const affinity = this.#affinity;
    let attempts = this.#rr.attempts();
    const pinned = affinity?.lookup(clientIp, attempts);
    if (pinned) {
      const key = backendKey(pinned);
      attempts = [pinned, ...attempts.filter((b) => backendKey(b) !== key)];
    }
    attempts = this.#healthyFirst(attempts);
    if (attempts.length === 0) {
      if (this.#counters) this.#counters.errors++;
      this.#logger.debug("no backends; closing connection", {
        address: this.hostname,
        port: this.port,
      });
      return undefined;
    }
    for (const backend of attempts) {
      if (this.#closed) return undefined;
      try {
        const conn = await connectWithTimeout(backend, this.#connectTimeoutMs);
        affinity?.record(clientIp, backend);
        return { conn, backend };
      } catch (err) {
        if (this.#counters) this.#counters.errors++;
        this.#markSuspect(backend);
        if (affinity && backend === pinned) affinity.forget(clientIp);
        this.#logger.debug("backend connect failed; trying the next", {
          backend: backendKey(backend),
          err,
        });
      }
    }
    this.#logger.warn("all backends failed; closing connection", {
      address: this.hostname,
      port: this.port,
      backends: attempts.length,
    });
    return undefined;
  }
}

async function connectWithTimeout(backend: Backend, timeoutMs: number): Promise<Deno.TcpConn> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return await Deno.connect({
      hostname: backend.address,
      port: backend.port,
      signal: abort.signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** How a pump ended, and how much it carried. */
interface PumpResult {
  bytes: number;
  /** `eof`: src ended; `readError`: reading src failed; `writeError`: writing dst failed. */
  end: "eof" | "readError" | "writeError";
}

/**
 * Copies `src` to `dst` until `src` ends, then half-closes `dst`. On an error (reset, or the
 * other direction closed both sockets) both sockets are closed so the peer pump ends too.
 */
async function pump(
  src: Deno.TcpConn,
  dst: Deno.TcpConn,
  counters: PortCounters | undefined,
  inbound: boolean,
): Promise<PumpResult> {
  const buf = new Uint8Array(BUFFER_SIZE);
  let bytes = 0;
  let reading = true;
  try {
    while (true) {
      reading = true;
      const n = await src.read(buf);
      if (n === null) break;
      reading = false;
      let off = 0;
      while (off < n) off += await dst.write(buf.subarray(off, n));
      bytes += n;
      if (counters) {
        if (inbound) counters.bytesIn += n;
        else counters.bytesOut += n;
      }
    }
    reading = false;
    await dst.closeWrite();
    return { bytes, end: "eof" };
  } catch {
    closeQuietly(src);
    closeQuietly(dst);
    return { bytes, end: reading ? "readError" : "writeError" };
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
