/**
 * The node-local DNS server: UDP and TCP listeners on the addresses the node's pods use as their
 * nameserver. Questions under the cluster domain (and reverse names of cluster addresses) are
 * answered from the current {@linkcode ClusterZone}; everything else goes to the node's own
 * resolvers through a TTL-honouring cache. Upstream failure is a SERVFAIL, never silence.
 *
 * Wire format: the npm `dns-packet` library. Measured on top of the agent's own imports it adds
 * ~4.5 MB RSS (Deno's CommonJS/Buffer compatibility layer, mostly; 56.0 → 60.6 MB in the same
 * script with and without it, bench/results/dns.md). Encoded answers to cluster questions are
 * kept per exact query bytes (after the ID) until the zone changes, so a repeated question costs
 * a map lookup and a 2-byte ID patch instead of a decode and an encode.
 */

import * as packet from "./wire.ts";
import type { Logger } from "../shared/log.ts";
import { silentLogger } from "../shared/log.ts";
import { AnswerCache } from "./answer_cache.ts";
import { canonicalName, type ClusterZone, type ZoneAnswer } from "./cluster_zone.ts";
import { readExactly, Upstream, withId, writeAll } from "./upstream.ts";

// deno-lint-ignore no-explicit-any
type Packet = any;

/** One address:port the server listens on (UDP and TCP). */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** Options of {@linkcode NodeLocalDns}. */
export interface NodeLocalDnsOptions {
  zone: ClusterZone;
  upstream: Upstream;
  cache?: AnswerCache;
  logger?: Logger;
  /** Idle time after which a TCP client connection is closed (default 10 s). */
  tcpIdleTimeoutMs?: number;
  /** Most encoded cluster answers kept (default 10,000; the table is emptied when full). */
  maxFastAnswers?: number;
}

const FLAG_AA = 0x400;
const FLAG_TC = 0x200;
const FLAG_RD = 0x100;
const FLAG_RA = 0x80;
const FLAG_CD = 0x10;
const RCODE: Record<string, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
/** What we advertise in EDNS (the DNS flag day 2020 size, safe from fragmentation). */
const EDNS_PAYLOAD = 1232;
const MAX_DATAGRAM = 65_535;
/** Concurrent receive loops per UDP socket. */
const UDP_LOOPS = 4;

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

interface Bound {
  address: ListenAddress;
  udp: Deno.DatagramConn;
  tcp: Deno.TcpListener;
  loops: Promise<void>[];
}

/** The node-local DNS server. */
export class NodeLocalDns {
  #zone: ClusterZone;
  readonly #upstream: Upstream;
  readonly #cache: AnswerCache;
  readonly #log: Logger;
  readonly #tcpIdleMs: number;
  readonly #maxFast: number;
  /** Encoded cluster answers by query bytes after the ID, valid for zone version #fastVersion. */
  #fast = new Map<string, Uint8Array>();
  #fastVersion = -1;
  readonly #bound = new Map<string, Bound>();
  readonly #conns = new Set<Deno.Conn>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: NodeLocalDnsOptions) {
    this.#zone = options.zone;
    this.#upstream = options.upstream;
    this.#cache = options.cache ?? new AnswerCache();
    this.#log = options.logger ?? silentLogger;
    this.#tcpIdleMs = options.tcpIdleTimeoutMs ?? 10_000;
    this.#maxFast = options.maxFastAnswers ?? 10_000;
  }

  /** Replaces the cluster records (changes made to the zone itself are seen as well). */
  setZone(zone: ClusterZone): void {
    this.#zone = zone;
    this.#fast = new Map();
    this.#fastVersion = -1;
  }

  get zone(): ClusterZone {
    return this.#zone;
  }

  /** `hostname:port` of every listening address. */
  get addresses(): string[] {
    return [...this.#bound.keys()];
  }

  /**
   * Listens on exactly `addresses` (UDP and TCP each), closing the others. Returns the
   * addresses that could not be bound, with the reason (the caller retries them).
   */
  async listen(addresses: ListenAddress[]): Promise<Map<string, string>> {
    const wanted = new Map(addresses.map((a) => [`${a.hostname}:${a.port}`, a]));
    for (const [key, b] of [...this.#bound]) {
      if (!wanted.has(key)) await this.#unbind(key, b);
    }
    const failed = new Map<string, string>();
    for (const [key, a] of wanted) {
      if (this.#bound.has(key)) continue;
      let udp: Deno.DatagramConn | undefined;
      try {
        udp = Deno.listenDatagram({ transport: "udp", hostname: a.hostname, port: a.port });
        // Port 0 (tests): TCP takes the port UDP got.
        const port = (udp.addr as Deno.NetAddr).port;
        const tcp = Deno.listen({ hostname: a.hostname, port });
        const b: Bound = { address: { hostname: a.hostname, port }, udp, tcp, loops: [] };
        b.loops.push(this.#udpLoops(udp), this.#tcpLoop(tcp));
        this.#bound.set(key, b);
        this.#log.info("node-local DNS listening", { address: a.hostname, port });
      } catch (e) {
        try {
          udp?.close();
        } catch { /* not open */ }
        failed.set(key, (e as Error).message);
      }
    }
    return failed;
  }

  /** The actual UDP/TCP port bound for `hostname:port` (differs when port 0 was asked). */
  boundPort(key: string): number | undefined {
    return this.#bound.get(key)?.address.port;
  }

  async #unbind(key: string, b: Bound): Promise<void> {
    this.#bound.delete(key);
    try {
      b.udp.close();
    } catch { /* closed */ }
    try {
      b.tcp.close();
    } catch { /* closed */ }
    await Promise.allSettled(b.loops);
  }

  /** Several receive loops per socket keep a datagram always waiting to be read. */
  #udpLoops(sock: Deno.DatagramConn): Promise<void> {
    return Promise.all(Array.from({ length: UDP_LOOPS }, () => this.#udpLoop(sock))).then(() => {});
  }

  async #udpLoop(sock: Deno.DatagramConn): Promise<void> {
    // One reused buffer per loop: no allocation per datagram (queries are far below 4 KiB;
    // EDNS clients say how much they can take, not how much they send).
    const buf = new Uint8Array(4096);
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
      } catch {
        return; // closed
      }
      const fast = this.#fastAnswer(data);
      if (fast) {
        try {
          await sock.send(fast, from);
        } catch { /* the client went away */ }
        continue;
      }
      // Slow answers (upstream) must not hold up the next datagram; the buffer is reused.
      const query = data.slice();
      const p = this.handle(query, { tcp: false }).then(async (reply) => {
        if (reply) await sock.send(reply, from);
      }).catch(() => {}).finally(() => this.#pending.delete(p));
      this.#pending.add(p);
    }
  }

  async #tcpLoop(listener: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      this.#conns.add(conn);
      const p = this.#serveTcp(conn).finally(() => {
        this.#conns.delete(conn);
        this.#pending.delete(p);
      });
      this.#pending.add(p);
    }
  }

  async #serveTcp(conn: Deno.Conn): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => conn.close(), this.#tcpIdleMs);
    };
    try {
      for (;;) {
        arm();
        const len = await readExactly(conn, 2);
        if (!len) return;
        const msg = await readExactly(conn, (len[0] << 8) | len[1]);
        if (!msg) return;
        const reply = this.#fastAnswer(msg) ?? await this.handle(msg, { tcp: true });
        if (!reply) return;
        const framed = new Uint8Array(reply.length + 2);
        framed[0] = reply.length >> 8;
        framed[1] = reply.length & 0xff;
        framed.set(reply, 2);
        await writeAll(conn, framed);
      }
    } catch {
      // reset, or closed on idle
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  #fastAnswer(query: Uint8Array): Uint8Array | undefined {
    if (this.#fastVersion !== this.#zone.version) {
      // The zone changed: every stored answer may be stale.
      if (this.#fast.size) this.#fast = new Map();
      this.#fastVersion = this.#zone.version;
      return undefined;
    }
    if (query.length < 12 || this.#fast.size === 0) return undefined;
    const hit = this.#fast.get(latin1(query.subarray(2)));
    return hit ? withId(hit, (query[0] << 8) | query[1]) : undefined;
  }

  /**
   * The response to one query in wire format (undefined when there is nothing to answer, e.g.
   * a response or garbage shorter than a header).
   */
  async handle(query: Uint8Array, options: { tcp: boolean }): Promise<Uint8Array | undefined> {
    if (query.length < 12 || (query[2] & 0x80) !== 0) return undefined;
    let q: Packet;
    try {
      q = packet.decode(query);
    } catch {
      return this.#error(query, "FORMERR");
    }
    if (q.opcode !== "QUERY") return this.#error(query, "NOTIMP");
    if (q.questions.length !== 1) return this.#error(query, "FORMERR");
    const question = q.questions[0];
    const opt = q.additionals.find((r: Packet) => r.type === "OPT");
    const limit = options.tcp
      ? MAX_DATAGRAM
      : opt
      ? Math.max(512, Math.min(opt.udpPayloadSize ?? 512, EDNS_PAYLOAD))
      : 512;
    const zoneAnswer = (question.class ?? "IN") === "IN"
      ? this.#zone.lookup(question.name, question.type)
      : undefined;
    if (zoneAnswer) {
      const version = this.#zone.version;
      const reply = await this.#fromZone(q, zoneAnswer, { opt: !!opt, limit, tcp: options.tcp });
      // Remember complete, self-contained answers (not truncated, no upstream part) while the
      // zone they came from is current.
      if (
        !zoneAnswer.chase && version === this.#zone.version && version === this.#fastVersion &&
        (reply[2] & 0x02) === 0
      ) {
        if (this.#fast.size >= this.#maxFast) this.#fast = new Map();
        this.#fast.set(latin1(query.subarray(2)), reply);
      }
      return reply;
    }
    return await this.#forward(query, q, { limit, tcp: options.tcp });
  }

  async #fromZone(
    q: Packet,
    a: ZoneAnswer,
    o: { opt: boolean; limit: number; tcp: boolean },
  ): Promise<Uint8Array> {
    const question = q.questions[0];
    const asked = canonicalName(question.name);
    // Owner names as the client spelt them (some resolvers check the case they randomised).
    const spelt = (r: Packet) =>
      r.name === asked ? { ...r, name: question.name.replace(/\.$/, "") } : r;
    const answers = a.answers.map(spelt);
    let rcode = a.rcode;
    if (a.chase) {
      const more = await this.#resolveUpstream(a.chase, question.type, o.tcp);
      if (more) {
        answers.push(...(more.answers ?? []));
        rcode = more.rcode === "NXDOMAIN" ? "NXDOMAIN" : rcode;
      }
    }
    return this.#encode({
      id: q.id,
      flags: FLAG_AA | FLAG_RA | (q.flags & (FLAG_RD | FLAG_CD)) | RCODE[rcode],
      questions: q.questions,
      answers,
      authorities: a.authorities,
      additionals: a.additionals,
    }, o);
  }

  /** Resolves a name outside the zone (a CNAME target) through the cache and upstream. */
  async #resolveUpstream(name: string, type: string, tcp: boolean): Promise<Packet | undefined> {
    const key = AnswerCache.key({ name, type });
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const id = crypto.getRandomValues(new Uint16Array(1))[0];
    const query = packet.encode({
      type: "query",
      id,
      flags: FLAG_RD,
      questions: [{ name, type, class: "IN" }],
    });
    const raw = await this.#upstream.resolve(query, { tcp });
    if (!raw) return undefined;
    try {
      const p = packet.decode(raw);
      this.#cache.put(key, p);
      return p;
    } catch {
      return undefined;
    }
  }

  async #forward(
    query: Uint8Array,
    q: Packet,
    o: { limit: number; tcp: boolean },
  ): Promise<Uint8Array> {
    const question = q.questions[0];
    const key = AnswerCache.key(question);
    const cached = this.#cache.get(key);
    if (cached) {
      const opt = q.additionals.some((r: Packet) => r.type === "OPT");
      return this.#encode({
        id: q.id,
        flags: (cached.flags & ~(FLAG_RD | FLAG_CD | FLAG_TC | FLAG_AA)) |
          (q.flags & (FLAG_RD | FLAG_CD)),
        questions: q.questions,
        answers: cached.answers,
        authorities: cached.authorities,
        additionals: cached.additionals.filter((r: Packet) => r.type !== "OPT"),
      }, { opt, limit: o.limit });
    }
    const raw = await this.#upstream.resolve(query, { tcp: o.tcp });
    if (!raw) return this.#error(query, "SERVFAIL");
    try {
      this.#cache.put(key, packet.decode(raw));
    } catch {
      // Undecodable by us is still the upstream's answer: relay it, do not cache it.
    }
    return raw;
  }

  /** Encodes a response; one larger than the client takes over UDP is sent truncated (TC). */
  #encode(r: Packet, o: { opt: boolean; limit: number }): Uint8Array {
    const additionals = o.opt
      ? [...r.additionals, { type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD }]
      : r.additionals;
    const full = packet.encode({ type: "response", ...r, additionals });
    if (full.length <= o.limit) return full;
    return packet.encode({
      type: "response",
      id: r.id,
      flags: r.flags | FLAG_TC,
      questions: r.questions,
      answers: [],
      authorities: [],
      additionals: o.opt ? [{ type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD }] : [],
    });
  }

  /** A header-only error answer (plus the question when it can be read). */
  #error(query: Uint8Array, rcode: keyof typeof RCODE): Uint8Array {
    const reply = new Uint8Array(12);
    reply.set(query.subarray(0, 4));
    // QR, the query's opcode and RD; RA; the rcode. No sections.
    reply[2] = 0x80 | (query[2] & 0x79);
    reply[3] = 0x80 | RCODE[rcode];
    try {
      const q = packet.decode(query);
      if (q.questions.length === 1) {
        return packet.encode({
          type: "response",
          id: q.id,
          flags: (q.flags & (FLAG_RD | FLAG_CD | 0x7800)) | FLAG_RA | RCODE[rcode],
          questions: q.questions,
        });
      }
    } catch { /* header only */ }
    return reply;
  }

  /** Closes every listener and client connection; resolves when all loops have ended. */
  async close(): Promise<void> {
    this.#upstream.close();
    for (const [key, b] of [...this.#bound]) await this.#unbind(key, b);
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.allSettled([...this.#pending]);
  }
}
