/**
 * The UDP data path of one service port on one address. Each client address (ip:port) gets a
 * session: its own upstream socket that sends to one backend picked by affinity or round robin,
 * so replies can be matched to the client and sent back from the service address. Sessions end
 * after an idle timeout or when their backend leaves the list; the table is bounded and evicts
 * the oldest session when full.
 *
 * Built on Deno's own datagram sockets (`Deno.listenDatagram`, behind `--unstable-net`, which
 * deno.json turns on): each loop receives into one reused buffer and awaits its send before
 * receiving again, so a datagram is never copied in JavaScript. bench/proxy_bench.ts measured
 * this at 0.62–0.8× direct packets/s where the same relay on `node:dgram` managed ~0.45× (its
 * per-datagram cost was ~4× higher: Buffer wrapping, event emitters, address lookups).
 *
 * Upstream sockets are not connected (Deno's datagram API has no `connect`), so an ICMP "port
 * unreachable" from a dead backend is not seen: its sessions move when the endpoints drop it
 * (`setBackends`) or when they go idle. A reply is taken only from the session's backend.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import type { PortCounters } from "./metrics.ts";
import { type Backend, backendKey, RoundRobin } from "./round_robin.ts";
import type { SessionAffinity } from "./session_affinity.ts";
import { affinityFor, type Forwarder, type ForwarderOptions } from "./forwarder.ts";

/** Default idle time after which a UDP session is closed. */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 30_000;
/** Default bound on the number of concurrent UDP sessions per service port. */
export const DEFAULT_UDP_MAX_SESSIONS = 4096;

/** Largest UDP payload (IPv6 jumbograms aside). */
const MAX_DATAGRAM = 65_535;

/** Options for {@linkcode UdpForwarder}. */
export interface UdpForwarderOptions extends ForwarderOptions {
  /** Idle time before a session closes. Default 30 s. */
  idleTimeoutMs?: number;
  /** Most sessions at once; the oldest is evicted beyond. Default 4096. */
  maxSessions?: number;
}

interface Session {
  key: string;
  client: Deno.NetAddr;
  backend: Backend;
  /** The backend as a datagram address (where requests go, where replies must come from). */
  target: Deno.NetAddr;
  upstream: Deno.DatagramConn;
  lastActive: number;
  /** Settles when the session's reply loop has ended. */
  done: Promise<void>;
}

function isIpv6(address: string): boolean {
  return address.includes(":");
}

/** The canonical text of an IP address, as the socket layer reports a sender. */
function canonicalIp(address: string): string {
  return isIpv6(address) ? new URL(`udp://[${address}]`).hostname.slice(1, -1) : address;
}

/** Forwards datagrams from one listening address to the current backends. */
export class UdpForwarder implements Forwarder {
  readonly hostname: string;
  readonly #requestedPort: number;
  readonly #rr: RoundRobin;
  readonly #idleTimeoutMs: number;
  readonly #maxSessions: number;
  readonly #counters?: PortCounters;
  readonly #logger: Logger;
  #affinity?: SessionAffinity;
  #socket?: Deno.DatagramConn;
  #receiveLoop?: Promise<void>;
  #sweep?: ReturnType<typeof setInterval>;
  /** Insertion order = creation order, so the first entry is the oldest session. */
  readonly #sessions = new Map<string, Session>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(options: UdpForwarderOptions) {
    this.hostname = options.hostname;
    this.#requestedPort = options.port;
    this.#rr = new RoundRobin(options.backends ?? []);
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS;
    this.#maxSessions = options.maxSessions ?? DEFAULT_UDP_MAX_SESSIONS;
    this.#counters = options.counters;
    this.#logger = options.logger ?? silentLogger;
    this.setAffinity(options.affinityTimeoutSeconds);
  }

  /**
   * Binds the service socket and starts relaying. Rejects with the bind error as is
   * (`Deno.errors.AddrInUse`, `AddrNotAvailable`, `PermissionDenied`) so the caller can report it.
   */
  // deno-lint-ignore require-await
  async listen(): Promise<void> {
    if (this.#socket || this.#closed) throw new Error("UdpForwarder.listen() called twice");
    if (typeof Deno.listenDatagram !== "function") {
      throw new Error("UDP services need Deno's --unstable-net (deno.json sets it)");
    }
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: this.hostname,
      port: this.#requestedPort,
    });
    this.#socket = socket;
    this.#receiveLoop = this.#receive(socket);
    const every = Math.max(50, Math.min(5000, Math.floor(this.#idleTimeoutMs / 2)));
    this.#sweep = setInterval(() => this.#expireIdle(), every);
  }

  /** The bound port. */
  get port(): number {
    return (this.#socket?.addr as Deno.NetAddr | undefined)?.port ?? this.#requestedPort;
  }

  /** Current backends. */
  get backends(): readonly Backend[] {
    return this.#rr.backends;
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Replaces the backend list; sessions whose backend left are closed, the rest carry on. */
  setBackends(backends: readonly Backend[]): void {
    this.#rr.set(backends);
    const keep = new Set(backends.map(backendKey));
    for (const s of [...this.#sessions.values()]) {
      if (!keep.has(backendKey(s.backend))) this.#endSession(s);
    }
  }

  /** Turns `ClientIP` affinity on with a timeout (seconds), or off with `undefined`. */
  setAffinity(timeoutSeconds: number | undefined): void {
    this.#affinity = affinityFor(this.#affinity, timeoutSeconds);
  }

  /** Closes the service socket and every session, and waits for their loops to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const s of [...this.#sessions.values()]) this.#endSession(s);
    closeQuietly(this.#socket);
    await this.#receiveLoop;
    await Promise.all([...this.#closing]);
  }

  /** Client → backend: one reused buffer; each send is awaited before the next receive. */
  async #receive(socket: Deno.DatagramConn): Promise<void> {
    const buf = new Uint8Array(MAX_DATAGRAM);
    const c = this.#counters;
    while (true) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await socket.receive(buf);
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        // Transient (an ICMP error queued on the socket, say): log, breathe, keep serving.
        this.#logger.warn("udp receive failed", { address: this.hostname, port: this.port, err });
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const client = from as Deno.NetAddr;
      const key = `${client.hostname}:${client.port}`;
      const session = this.#sessions.get(key) ?? this.#openSession(key, client);
      if (!session) continue;
      session.lastActive = Date.now();
      if (c) c.bytesIn += data.length;
      try {
        await session.upstream.send(data, session.target);
      } catch (err) {
        // The session ended under us, or the backend's address is unusable: drop the datagram.
        if (c) c.errors++;
        this.#logger.debug("udp send failed", { backend: backendKey(session.backend), err });
      }
    }
  }

  #openSession(key: string, client: Deno.NetAddr): Session | undefined {
    const list = this.#rr.backends;
    const backend = this.#affinity?.lookup(client.hostname, list) ?? this.#rr.next();
    const c = this.#counters;
    if (!backend) {
      if (c) c.errors++;
      return undefined;
    }
    let upstream: Deno.DatagramConn;
    try {
      upstream = Deno.listenDatagram({
        transport: "udp",
        hostname: isIpv6(backend.address) ? "::" : "0.0.0.0",
        port: 0,
      });
    } catch (err) {
      // Out of file descriptors or ports: this datagram is lost, the next one retries.
      if (c) c.errors++;
      this.#logger.warn("udp session socket failed", { backend: backendKey(backend), err });
      return undefined;
    }
    this.#affinity?.record(client.hostname, backend);
    if (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.values().next().value;
      if (oldest) {
        this.#endSession(oldest);
        if (c) c.udpEvictions++;
      }
    }
    const session: Session = {
      key,
      client,
      backend,
      target: { transport: "udp", hostname: canonicalIp(backend.address), port: backend.port },
      upstream,
      lastActive: Date.now(),
      done: Promise.resolve(),
    };
    session.done = this.#relayReplies(session);
    this.#sessions.set(key, session);
    if (c) {
      c.connectionsTotal++;
      c.active++;
    }
    return session;
  }

  /** Backend → client, from the service address, until the session's socket closes. */
  async #relayReplies(session: Session): Promise<void> {
    const buf = new Uint8Array(MAX_DATAGRAM);
    const { target, client } = session;
    const c = this.#counters;
    while (true) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        [data, from] = await session.upstream.receive(buf) as [Uint8Array, Deno.NetAddr];
      } catch (err) {
        if (this.#sessions.get(session.key) !== session) return; // ended: its socket closed
        // The backend's side failed: end the session; the client's next datagram opens another.
        if (c) c.errors++;
        this.#logger.debug("udp session failed", { backend: backendKey(session.backend), err });
        this.#affinity?.forget(client.hostname);
        this.#endSession(session);
        return;
      }
      // The socket's port is open to anyone: only the backend may answer for it.
      if (from.port !== target.port || from.hostname !== target.hostname) continue;
      session.lastActive = Date.now();
      if (c) c.bytesOut += data.length;
      try {
        await this.#socket!.send(data, client);
      } catch {
        if (this.#closed) return;
        if (c) c.errors++;
      }
    }
  }

  #endSession(session: Session): void {
    if (this.#sessions.get(session.key) !== session) return;
    this.#sessions.delete(session.key);
    if (this.#counters) this.#counters.active--;
    closeQuietly(session.upstream);
    const done = session.done.finally(() => this.#closing.delete(done));
    this.#closing.add(done);
  }

  #expireIdle(): void {
    const cutoff = Date.now() - this.#idleTimeoutMs;
    for (const s of [...this.#sessions.values()]) {
      if (s.lastActive < cutoff) this.#endSession(s);
    }
  }
}

function closeQuietly(socket: Deno.DatagramConn | undefined): void {
  try {
    socket?.close();
  } catch { /* already closed */ }
}
