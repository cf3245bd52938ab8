/**
 * Test helpers for the node-local DNS: a DNS client over UDP/TCP and a fake upstream resolver
 * on a random 127.0.0.0/8 address (tests never query a real outside resolver).
 */

import * as packet from "./wire.ts";
import { readExactly, writeAll } from "./upstream.ts";

// deno-lint-ignore no-explicit-any
export type Packet = any;

/** A random loopback address unlikely to be used by a parallel test. */
export function randomLoopback(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `127.${b[0] | 1}.${b[1]}.${(b[2] % 250) + 2}`;
}

/** Sends one query (a packet object or raw bytes) and returns the raw reply, or undefined. */
export async function rawQuery(
  server: { hostname: string; port: number },
  msg: Uint8Array,
  options: { tcp?: boolean; timeoutMs?: number } = {},
): Promise<Uint8Array | undefined> {
  const timeoutMs = options.timeoutMs ?? 3000;
  if (options.tcp) {
    const conn = await Deno.connect(server);
    const timer = setTimeout(() => conn.close(), timeoutMs);
    try {
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
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const timer = setTimeout(() => sock.close(), timeoutMs);
  try {
    await sock.send(msg, { transport: "udp", ...server });
    const [data] = await sock.receive();
    return data;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      sock.close();
    } catch { /* closed */ }
  }
}

/** Asks `name`/`type` and decodes the reply. */
export async function query(
  server: { hostname: string; port: number },
  name: string,
  type: string,
  options: { tcp?: boolean; edns?: boolean; id?: number; timeoutMs?: number } = {},
): Promise<Packet | undefined> {
  const msg = packet.encode({
    type: "query",
    id: options.id ?? 4242,
    flags: 0x100,
    questions: [{ name, type, class: "IN" }],
    additionals: options.edns ? [{ type: "OPT", name: ".", udpPayloadSize: 4096 }] : [],
  });
  const raw = await rawQuery(server, msg, options);
  return raw && packet.decode(raw);
}

/** A fake upstream resolver: answers from a table, counts questions, can play dead. */
export class FakeUpstream {
  readonly hostname = randomLoopback();
  port = 0;
  /** `name|type` → answers. Names not here get NXDOMAIN with an SOA (TTL 60). */
  readonly answers = new Map<string, Packet[]>();
  readonly asked: string[] = [];
  /** When true, questions are swallowed (a dead resolver). */
  silent = false;
  #udp?: Deno.DatagramConn;
  #tcp?: Deno.TcpListener;
  #loops: Promise<void>[] = [];

  /** Listens on UDP and TCP `port` (0: any free one) of a random loopback address. */
  start(port = 0): this {
    this.#udp = Deno.listenDatagram({ transport: "udp", hostname: this.hostname, port });
    this.port = (this.#udp.addr as Deno.NetAddr).port;
    this.#tcp = Deno.listen({ hostname: this.hostname, port: this.port });
    this.#loops.push(this.#udpLoop(this.#udp), this.#tcpLoop(this.#tcp));
    return this;
  }

  #reply(raw: Uint8Array): Uint8Array | undefined {
    const q = packet.decode(raw);
    const question = q.questions[0];
    this.asked.push(`${question.name}|${question.type}`);
    if (this.silent) return undefined;
    const answers = this.answers.get(`${question.name.toLowerCase()}|${question.type}`);
    return packet.encode({
      type: "response",
      id: q.id,
      flags: 0x80 | (q.flags & 0x100) | (answers ? 0 : 3),
      questions: q.questions,
      answers: answers ?? [],
      authorities: answers ? [] : [{
        name: "example.com",
        type: "SOA",
        ttl: 60,
        data: {
          mname: "ns.example.com",
          rname: "h.example.com",
          serial: 1,
          refresh: 1,
          retry: 1,
          expire: 1,
          minimum: 60,
        },
      }],
    });
  }

  async #udpLoop(sock: Deno.DatagramConn): Promise<void> {
    try {
      for (;;) {
        const [data, from] = await sock.receive();
        const r = this.#reply(data);
        if (r) await sock.send(r, from);
      }
    } catch { /* closed */ }
  }

  async #tcpLoop(l: Deno.TcpListener): Promise<void> {
    try {
      for (;;) {
        const conn = await l.accept();
        try {
          const len = await readExactly(conn, 2);
          const msg = len && await readExactly(conn, (len[0] << 8) | len[1]);
          const r = msg && this.#reply(msg);
          if (r) {
            const framed = new Uint8Array(r.length + 2);
            framed[0] = r.length >> 8;
            framed[1] = r.length & 0xff;
            framed.set(r, 2);
            await writeAll(conn, framed);
          }
        } finally {
          conn.close();
        }
      }
    } catch { /* closed */ }
  }

  async close(): Promise<void> {
    this.#udp?.close();
    this.#tcp?.close();
    await Promise.allSettled(this.#loops);
  }
}
