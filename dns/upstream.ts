/**
 * Forwarding to the node's own resolvers (the `nameserver`s of its /etc/resolv.conf): the
 * client's query is relayed as is (with an ID of ours) over the client's transport, each
 * resolver tried in turn within one time budget, so an unreachable or silent upstream ends as a
 * SERVFAIL within `timeoutMs` instead of a hang. In-flight queries are bounded.
 */

import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";

/** One upstream resolver. */
export interface UpstreamServer {
  hostname: string;
  port: number;
}

/** Options of {@linkcode Upstream}. */
export interface UpstreamOptions {
  servers: UpstreamServer[];
  /** Whole budget for one query across all servers (default 2000 ms). */
  timeoutMs?: number;
  /** Most queries forwarded at once; more are refused with SERVFAIL (default 256). */
  maxInFlight?: number;
  logger?: Logger;
}

/** The wire bytes of a message with its 16-bit ID replaced. */
export function withId(msg: Uint8Array, id: number): Uint8Array {
  const out = msg.slice();
  out[0] = id >> 8;
  out[1] = id & 0xff;
  return out;
}

/** Relays queries to upstream resolvers. */
export class Upstream {
  readonly #servers: UpstreamServer[];
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #log: Logger;
  #inFlight = 0;
  #closed = false;
  readonly #open = new Set<{ close(): void }>();

  constructor(options: UpstreamOptions) {
    this.#servers = options.servers;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxInFlight = options.maxInFlight ?? 256;
    this.#log = options.logger ?? silentLogger;
  }

  /** The servers queries go to, in order. */
  get servers(): readonly UpstreamServer[] {
    return this.#servers;
  }

  /**
   * Sends `query` (wire format) upstream and returns the first usable response (wire format,
   * with the query's own ID), or undefined when no server answered in time.
   */
  async resolve(query: Uint8Array, options: { tcp: boolean }): Promise<Uint8Array | undefined> {
    if (this.#closed || this.#servers.length === 0 || this.#inFlight >= this.#maxInFlight) {
      return undefined;
    }
    this.#inFlight++;
    try {
      const clientId = (query[0] << 8) | query[1];
      const deadline = Date.now() + this.#timeoutMs;
      // Each server gets an equal share of what is left, so a dead first server leaves time
      // for the others.
      let last: Uint8Array | undefined;
      for (let i = 0; i < this.#servers.length; i++) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const share = Math.max(1, Math.floor(left / (this.#servers.length - i)));
        const id = crypto.getRandomValues(new Uint16Array(1))[0];
        const server = this.#servers[i];
        let reply: Uint8Array | undefined;
        try {
          reply = options.tcp
            ? await this.#tcp(server, withId(query, id), share)
            : await this.#udp(server, withId(query, id), id, share);
        } catch (e) {
          this.#log.debug("upstream failed", { server: server.hostname, error: e });
        }
        if (!reply) continue;
        last = withId(reply, clientId);
        const rcode = reply[3] & 0x0f;
        // SERVFAIL and REFUSED: another resolver may do better.
        if (rcode !== 2 && rcode !== 5) return last;
      }
      return last;
    } finally {
      this.#inFlight--;
    }
  }

  async #udp(
    server: UpstreamServer,
    msg: Uint8Array,
    id: number,
    timeoutMs: number,
  ): Promise<Uint8Array | undefined> {
    const v6 = server.hostname.includes(":");
    const sock = Deno.listenDatagram({
      transport: "udp",
      hostname: v6 ? "::" : "0.0.0.0",
      port: 0,
    });
    this.#open.add(sock);
    const timer = setTimeout(() => sock.close(), timeoutMs);
    try {
      await sock.send(msg, { transport: "udp", hostname: server.hostname, port: server.port });
      for (;;) {
        const [data, from] = await sock.receive();
        const addr = from as Deno.NetAddr;
        // Only the server we asked, with our ID, answering our question (anti-spoofing).
        if (addr.port !== server.port || data.length < 12) continue;
        if (((data[0] << 8) | data[1]) !== id || (data[2] & 0x80) === 0) continue;
        return data;
      }
    } catch {
      return undefined; // closed by the timer, or the socket failed
    } finally {
      clearTimeout(timer);
      this.#open.delete(sock);
      try {
        sock.close();
      } catch { /* already closed */ }
    }
  }

  async #tcp(
    server: UpstreamServer,
    msg: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array | undefined> {
    const ac = new AbortController();
    let conn: Deno.TcpConn | undefined;
    const timer = setTimeout(() => {
      ac.abort();
      conn?.close();
    }, timeoutMs);
    try {
      conn = await Deno.connect({
        hostname: server.hostname,
        port: server.port,
        signal: ac.signal,
      });
      this.#open.add(conn);
      const framed = new Uint8Array(msg.length + 2);
      framed[0] = msg.length >> 8;
      framed[1] = msg.length & 0xff;
      framed.set(msg, 2);
      await writeAll(conn, framed);
      const len = await readExactly(conn, 2);
      if (!len) return undefined;
      return await readExactly(conn, (len[0] << 8) | len[1]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
      if (conn) {
        this.#open.delete(conn);
        try {
          conn.close();
        } catch { /* closed by the timer */ }
      }
    }
  }

  /** Aborts every forwarded query (they end as SERVFAIL). */
  close(): void {
    this.#closed = true;
    for (const c of this.#open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#open.clear();
  }
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Reads exactly `n` bytes, or undefined at end of stream. */
export async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) return undefined;
    off += got;
  }
  return out;
}
