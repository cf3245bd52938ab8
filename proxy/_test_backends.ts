/**
 * Test-only helpers for the proxy's tests: small TCP and UDP backends on loopback addresses that
 * say who they are, and client helpers to talk to them. Not part of the proxy.
 */

import dgram from "node:dgram";
import type { Backend } from "./round_robin.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TCP backend that writes `<name>\n` on accept and then echoes everything it reads. */
export class TcpNameEcho {
  readonly name: string;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #loop: Promise<void>;
  readonly #tasks = new Set<Promise<void>>();
  accepted = 0;

  constructor(name: string, hostname: string, port = 0) {
    this.name = name;
    this.#listener = Deno.listen({ hostname, port });
    this.#loop = this.#run();
  }

  /** This backend as the proxy sees it. */
  get backend(): Backend {
    return { address: this.#listener.addr.hostname, port: this.#listener.addr.port };
  }

  async #run(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.accepted++;
        this.#conns.add(conn);
        const task = this.#echo(conn).finally(() => {
          this.#conns.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch { /* listener closed */ }
  }

  async #echo(conn: Deno.Conn): Promise<void> {
    try {
      await conn.write(encoder.encode(this.name + "\n"));
      const buf = new Uint8Array(16 * 1024);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await conn.write(buf.subarray(off, n));
      }
    } catch { /* reset */ }
    try {
      conn.close();
    } catch { /* closed */ }
  }

  /**
   * Stops listening and drops every connection (a backend dying); returns once its port refuses
   * connections, as a dead backend's does.
   */
  async close(): Promise<void> {
    const { address, port } = this.backend;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#loop;
    await Promise.all([...this.#tasks]);
    // The kernel's listening socket can outlive close() by a moment (seen in CI: a connect made
    // just after it completed in the backlog, then was reset), which a test of "a killed backend
    // is refused" must not meet. Wait until the port refuses.
    const deadline = Date.now() + 2000;
    while (true) {
      try {
        (await Deno.connect({ hostname: address, port })).close();
      } catch (err) {
        if (err instanceof Deno.errors.ConnectionRefused) return;
        throw err;
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: ${port} still accepts after close`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Reads until `\n` or EOF; returns the text without the newline. */
export async function readLine(conn: Deno.Conn): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await conn.read(one);
    if (n === null || one[0] === 10) break;
    bytes.push(one[0]);
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** Reads everything until EOF. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Connects to `hostname:port`, reads the backend's name line, closes; "" when refused/closed. */
export async function whoAnswers(hostname: string, port: number): Promise<string> {
  const conn = await Deno.connect({ hostname, port });
  try {
    return await readLine(conn);
  } catch {
    return "";
  } finally {
    conn.close();
  }
}

/** A UDP backend that replies `<name>:<payload>` to each datagram. */
export class UdpNameEcho {
  readonly name: string;
  readonly #socket: dgram.Socket;
  received = 0;

  private constructor(name: string, socket: dgram.Socket) {
    this.name = name;
    this.#socket = socket;
    socket.on("message", (msg, rinfo) => {
      this.received++;
      socket.send(Buffer.concat([Buffer.from(name + ":"), msg]), rinfo.port, rinfo.address);
    });
  }

  /** Binds a new echo backend on `hostname` (ephemeral port). */
  static async start(name: string, hostname: string): Promise<UdpNameEcho> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, hostname, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return new UdpNameEcho(name, socket);
  }

  get backend(): Backend {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** A UDP client socket bound on `hostname`; `ask()` sends one datagram and awaits one reply. */
export class UdpClient {
  readonly #socket: dgram.Socket;
  readonly #waiting: ((msg: string) => void)[] = [];

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on("message", (msg) => this.#waiting.shift()?.(msg.toString()));
  }

  static async open(hostname = "127.0.0.1"): Promise<UdpClient> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, hostname, () => resolve()));
    return new UdpClient(socket);
  }

  /** The client's own address and port as the proxy sees them. */
  get address(): { address: string; port: number } {
    return this.#socket.address();
  }

  /** Sends `payload` and returns the first reply, with the reply's source address. */
  ask(target: Backend, payload: string): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#socket.send(payload, target.port, target.address);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
