/**
 * The processes of the proxy-mode suites (tests/proxy_modes_netns_test.ts, bench/proxy_bench.ts),
 * each started inside a network namespace with `ip netns exec <ns> deno run … <role>`:
 *
 * - `backend <name> <tcpPort> <udpPort> [httpPort]`: answers every TCP connection with
 *   `<name> <client address>\n` then closes; every UDP datagram with the same line; with an HTTP
 *   port, serves `/small` and `/large` (1 MiB) for wrk.
 * - `client`: one JSON request per stdin line (`{id, op, …}`), one JSON answer per stdout line —
 *   `tcp` (connect, read to EOF), `udp` (send one datagram on a connected socket, wait for the
 *   reply) and `load` (many TCP requests for a while, counting answers per backend and failures).
 * - `proxy <config JSON>`: Skiff's proxy (`runProxy`) in the node namespace, talking to the test's
 *   API server through a unix socket (the file system is shared across namespaces, the network
 *   is not); prints `synced <n>` after every sync.
 *
 * Every role prints `ready …` once it serves.
 */
import dgram from "node:dgram";
import { runProxy } from "../proxy/run.ts";
import { ProxyConfig } from "../proxy/config.ts";
import { ProxyMetrics } from "../proxy/metrics.ts";
import { Logger } from "../shared/log.ts";

const enc = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(enc.encode(line + "\n"));

/** Pipes two connections both ways until either side ends. */
export async function pipeBoth(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const one = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: true });
    } catch { /* peer gone */ }
    try {
      await to.closeWrite();
    } catch { /* closed */ }
  };
  await Promise.all([one(a, b), one(b, a)]);
  try {
    a.close();
  } catch { /* closed */ }
  try {
    b.close();
  } catch { /* closed */ }
}

function backend(name: string, tcpPort: number, udpPort: number, httpPort?: number): void {
  const tcp = Deno.listen({ hostname: "0.0.0.0", port: tcpPort });
  (async () => {
    for await (const c of tcp) {
      const remote = (c.remoteAddr as Deno.NetAddr).hostname;
      c.write(enc.encode(`${name} ${remote}\n`)).catch(() => {}).finally(() => {
        try {
          c.close();
        } catch { /* closed */ }
      });
    }
  })();
  const udp = dgram.createSocket("udp4");
  udp.on("message", (_msg, r) => udp.send(`${name} ${r.address}\n`, r.port, r.address));
  udp.bind(udpPort, "0.0.0.0");
  if (httpPort) {
    const large = new Uint8Array(1024 * 1024).fill(120);
    Deno.serve({ hostname: "0.0.0.0", port: httpPort, onListen: () => {} }, (req) => {
      return new URL(req.url).pathname === "/large"
        ? new Response(large)
        : new Response("hello from the backend\n");
    });
  }
  say(`ready ${name}`);
}

interface TcpAnswer {
  ok: boolean;
  text?: string;
  error?: string;
  ms: number;
}

function errorName(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "refused";
  if (e instanceof Deno.errors.ConnectionReset) return "reset";
  if (e instanceof Deno.errors.TimedOut) return "timeout";
  const code = (e as { code?: string }).code;
  if (code === "ECONNREFUSED") return "refused";
  return (e as Error).message ?? String(e);
}

async function tcpRequest(
  host: string,
  port: number,
  timeoutMs = 2000,
): Promise<TcpAnswer> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  let conn: Deno.Conn | undefined;
  const timer = setTimeout(() => {
    try {
      conn?.close();
    } catch { /* closed */ }
    conn = undefined;
  }, timeoutMs);
  try {
    const connecting = Deno.connect({ hostname: host, port });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Deno.errors.TimedOut("connect timed out")), timeoutMs)
    );
    conn = await Promise.race([connecting, timeout]).catch((e) => {
      connecting.then((c) => c.close()).catch(() => {});
      throw e;
    });
    let text = "";
    const buf = new Uint8Array(256);
    while (true) {
      const n = await conn!.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn!.close();
    conn = undefined;
    return text
      ? { ok: true, text: text.trim(), ms: ms() }
      : { ok: false, error: "closed", ms: ms() };
  } catch (e) {
    return {
      ok: false,
      error: conn === undefined && ms() >= timeoutMs ? "timeout" : errorName(e),
      ms: ms(),
    };
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

function udpRequest(
  req: { host: string; port: number; sourcePort?: number; timeoutMs?: number },
): Promise<TcpAnswer> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
    let done = false;
    const finish = (a: TcpAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(a);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: "timeout", ms: ms() }),
      req.timeoutMs ?? 1000,
    );
    s.on("error", (e) => finish({ ok: false, error: errorName(e), ms: ms() }));
    s.on("message", (m) => finish({ ok: true, text: m.toString().trim(), ms: ms() }));
    s.bind(req.sourcePort ?? 0, () => {
      s.connect(req.port, req.host, () => s.send("ping"));
    });
  });
}

async function load(
  req: { host: string; port: number; workers: number; durationMs: number },
): Promise<{ ok: boolean; answers: Record<string, number>; failures: number; errors: string[] }> {
  const answers: Record<string, number> = {};
  const errors: string[] = [];
  let failures = 0;
  const end = Date.now() + Math.min(req.durationMs, 20_000);
  const worker = async () => {
    for (let i = 0; i < 100_000 && Date.now() < end; i++) {
      const r = await tcpRequest(req.host, req.port, 2000);
      if (r.ok) {
        const name = r.text!.split(" ")[0];
        answers[name] = (answers[name] ?? 0) + 1;
      } else {
        failures++;
        if (errors.length < 5) errors.push(r.error ?? "?");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.workers, 16) }, worker));
  return { ok: true, answers, failures, errors };
}

async function client(): Promise<void> {
  say("ready client");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let pending = "";
  for await (const chunk of lines) {
    pending += chunk;
    let i;
    while ((i = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      if (!line.trim()) continue;
      const req = JSON.parse(line);
      const run = req.op === "tcp"
        ? tcpRequest(req.host, req.port, req.timeoutMs)
        : req.op === "udp"
        ? udpRequest(req)
        : load(req);
      run.then((answer) => say(JSON.stringify({ id: req.id, ...answer })));
    }
  }
}

/** What the proxy role is started with. */
export interface ProxyRoleConfig {
  socketPath: string;
  token: string;
  caData: string;
  mode: "nftables" | "userspace";
  nftTable: string;
  nodeName: string;
  nodeAddress: string;
  serviceCidr: string;
  clusterCidr: string;
  podCidr: string;
}

async function proxy(c: ProxyRoleConfig): Promise<void> {
  // The API server, through the parent's unix socket.
  const tunnel = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of tunnel) {
      Deno.connect({ transport: "unix", path: c.socketPath })
        .then((up) => pipeBoth(conn, up))
        .catch(() => conn.close());
    }
  })();
  const ac = new AbortController();
  Deno.addSignalListener("SIGTERM", () => ac.abort());
  const config = ProxyConfig.parse({
    server: `https://127.0.0.1:${(tunnel.addr as Deno.NetAddr).port}`,
    token: c.token,
    caData: c.caData,
    nodeName: c.nodeName,
    nodeAddress: c.nodeAddress,
    serviceCidr: c.serviceCidr,
    clusterCidr: c.clusterCidr,
    mode: c.mode,
    nftTable: c.nftTable,
    connectTimeoutMs: 500,
    bindRetryMs: 500,
  });
  let syncs = 0;
  say("ready proxy");
  await runProxy(config, ac.signal, {
    logger: new Logger({
      level: (Deno.env.get("SKIFF_TEST_LOG") as "debug" | undefined) ?? "error",
      component: "netns-proxy",
    }),
    metrics: new ProxyMetrics(),
    podCidr: () => c.podCidr,
    removeStaleTable: true,
    onSync: () => say(`synced ${++syncs}`),
  });
  tunnel.close();
  Deno.exit(0);
}

if (import.meta.main) {
  const [role, ...args] = Deno.args;
  if (role === "backend") {
    backend(args[0], Number(args[1]), Number(args[2]), args[3] ? Number(args[3]) : undefined);
  } else if (role === "client") await client();
  else if (role === "proxy") await proxy(JSON.parse(args[0]));
  else throw new Error(`unknown role ${role}`);
}
