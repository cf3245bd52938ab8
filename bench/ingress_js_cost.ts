/**
 * The ingress data path's JavaScript cost per request, without the kernel: the bench's
 * IngressServer (one route, two endpoints) serves one client over fake connections whose reads
 * and writes resolve at once, and the time per request is printed. It measures what code
 * changes in proxy/ingress_server.ts and proxy/http1_*.ts cost or save, steadily enough to
 * compare two checkouts one after the other (the machine's speed drifts by the hour; run A, B,
 * A, B). Wall time in one process, so run it on an otherwise idle machine.
 *
 *   deno run -A bench/ingress_js_cost.ts [requests, default 300000]
 *
 * Where the time goes: add `--cpu-prof --cpu-prof-dir=DIR` to `deno run` and read the profile
 * with summarizeCpuProfile (bench/cpu_profile.ts) or Chrome DevTools.
 *
 * Deno.listen and Deno.connect are replaced in this process (the IngressServer opens its own
 * listener and endpoint connections): a bench-only stand-in, never loaded by Skiff itself.
 */
import { startBenchIngress } from "./ingress_bench.ts";

const requests = Number(Deno.args[0] ?? 300_000);
if (!Number.isInteger(requests) || requests < 1) {
  console.error(
    `bench ingress_js_cost: requests must be a positive integer, not "${Deno.args[0]}"`,
  );
  Deno.exit(2);
}
const enc = new TextEncoder();
/** What wrk sends, and what the bench's Deno.serve backends answer. */
const REQUEST = enc.encode("GET /api/x HTTP/1.1\r\nHost: app.test\r\n\r\n");
const RESPONSE = enc.encode(
  "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\nvary: Accept-Encoding\r\n" +
    "content-length: 23\r\ndate: Sun, 06 Dec 2026 04:50:00 GMT\r\n\r\nhello from the backend\n",
);

/** A connection whose reads are answered from what the other side delivers. */
class FakeConn {
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
  readonly localAddr = { transport: "tcp", hostname: "127.0.0.26", port: 80 };
  #pending?: Uint8Array;
  #waiting?: { resolve: (n: number | null) => void; into: Uint8Array };
  #closed = false;
  constructor(readonly onWrite: (conn: FakeConn) => void) {}

  deliver(data: Uint8Array | null): void {
    const w = this.#waiting;
    if (!w) {
      this.#pending = data ?? undefined;
      if (data === null) this.#closed = true;
      return;
    }
    this.#waiting = undefined;
    if (data === null) return w.resolve(null);
    w.into.set(data);
    w.resolve(data.length);
  }

  read(into: Uint8Array): Promise<number | null> {
    if (this.#pending) {
      const data = this.#pending;
      this.#pending = undefined;
      into.set(data);
      return Promise.resolve(data.length);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiting = { resolve, into });
  }

  write(data: Uint8Array): Promise<number> {
    this.onWrite(this);
    return Promise.resolve(data.length);
  }

  setNoDelay(): void {}
  closeWrite(): void {}
  close(): void {
    this.#closed = true;
    this.deliver(null);
  }
}

let served = 0;
let finish!: () => void;
const finished = new Promise<void>((resolve) => finish = resolve);
const client = new FakeConn((c) => {
  // The answer reached the client: send the next request, or end.
  if (++served === requests) {
    finish();
    c.deliver(null);
  } else queueMicrotask(() => c.deliver(REQUEST));
});
client.deliver(REQUEST);

const fakes = Deno as unknown as Record<string, unknown>;
fakes.listen = () => ({
  addr: { transport: "tcp", hostname: "127.0.0.26", port: 80 },
  close() {},
  async *[Symbol.asyncIterator]() {
    yield client;
    await new Promise(() => {}); // one client only
  },
});
fakes.connect = () =>
  Promise.resolve(new FakeConn((endpoint) => queueMicrotask(() => endpoint.deliver(RESPONSE))));

const started = performance.now();
await startBenchIngress("127.0.0.26", 80, [
  { address: "127.0.0.11", port: 80 },
  { address: "127.0.0.12", port: 80 },
]);
await finished;
const us = (performance.now() - started) * 1000 / requests;
console.log(`ingress JavaScript per request: ${us.toFixed(3)} µs over ${requests} requests`);
Deno.exit(0);
