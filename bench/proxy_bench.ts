/**
 * Service proxy benchmark (issue 5), side by side on loopback with the same backends: wrk
 * straight to one backend, through HAProxy (`mode tcp`, `balance roundrobin`) and through
 * Skiff's TCP forwarder — small responses at 32 and 128 connections (requests/s, p50, p99) and
 * 1 MiB responses (MB/s) — plus UDP echo packets/s through Skiff's UDP forwarder vs direct.
 * Writes bench/results/proxy.{json,md}.
 *
 * Backends, proxy and UDP echo run as subprocesses of this same file (`--serve-http`,
 * `--serve-proxy`, `--serve-udp`), so the proxy can be profiled with `--cpu-prof` alone.
 */
import dgram from "node:dgram";
import { TcpForwarder } from "../proxy/tcp_forwarder.ts";
import { UdpForwarder } from "../proxy/udp_forwarder.ts";
import type { Backend } from "../proxy/round_robin.ts";
import { freePort } from "../tests/server_process.ts";
import { type MachineInfo, machineInfo, machineLine, writeResults } from "./machine.ts";

/** Options of {@linkcode runProxyBench}. */
export interface ProxyBenchOptions {
  /** Seconds per wrk run (default 5). */
  durationSeconds?: number;
  /** Seconds per UDP run, 3 runs per path (default 2). */
  udpSeconds?: number;
  /** Write a V8 CPU profile of the Skiff proxy process into this directory. */
  cpuProfDir?: string;
  /** Write results to bench/results/ (default true). */
  write?: boolean;
  /** Skip the TCP part (UDP only). */
  skipTcp?: boolean;
}

/** One wrk measurement. */
export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Transfer rate in MB/s (10^6 bytes). */
  mbPerSecond: number;
  errors: number;
  /** Requests completed in the run. */
  requests: number;
  /**
   * CPU the proxy process spent per request in this run, in µs (from /proc/<pid>/stat: user and
   * kernel time); absent for the direct path.
   */
  proxyCpuUs?: { user: number; sys: number };
}

type Path = "direct" | "haproxy" | "haproxy1" | "skiff";
const PATHS: Path[] = ["direct", "haproxy", "haproxy1", "skiff"];
const PATH_LABELS: Record<Path, string> = {
  direct: "direct",
  haproxy: "HAProxy (default threads)",
  haproxy1: "HAProxy (nbthread 1)",
  skiff: "Skiff",
};

/** What {@linkcode runProxyBench} measured. */
export interface ProxyBenchResult {
  machine: MachineInfo;
  tools: { wrk: boolean; haproxy: boolean };
  tcp: Record<"small32" | "small128" | "large8", Partial<Record<Path, WrkResult>>>;
  udp: { directPacketsPerSecond: number; skiffPacketsPerSecond: number };
  /** Where the Skiff proxy process spent its CPU (busy samples only), when profiled. */
  profile?: { name: string; percent: number }[];
  ratios: {
    /** Against single-threaded HAProxy, like for like with Skiff's single JS thread. */
    small32RpsVsHaproxy1?: number;
    small128RpsVsHaproxy1?: number;
    largeMBpsVsHaproxy1?: number;
    small32RpsVsHaproxy?: number;
    small128RpsVsHaproxy?: number;
    largeMBpsVsHaproxy?: number;
    p99DeltaMs32?: number;
    p99DeltaMs128?: number;
    udpVsDirect: number;
  };
}

const SMALL_BODY = "hello from the backend\n";
const LARGE_BYTES = 1024 * 1024;
const BACKEND_ADDRESSES = ["127.0.0.11", "127.0.0.12"];
const HAPROXY_ADDRESSES = { haproxy: "127.0.0.21", haproxy1: "127.0.0.23" } as const;
const SKIFF_ADDRESS = "127.0.0.22";
const SELF = new URL(import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------
// Subprocess roles.

function ready(port: number | string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`ready ${port}\n`));
}

function serveHttp(hostname: string): void {
  const large = new Uint8Array(LARGE_BYTES).fill(120);
  Deno.serve({ hostname, port: 0, onListen: ({ port }) => ready(port) }, (req) => {
    const path = new URL(req.url).pathname;
    return path === "/large" ? new Response(large) : new Response(SMALL_BODY);
  });
}

function serveUdpEcho(hostname: string): void {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  socket.bind(0, hostname, () => ready(socket.address().port));
}

async function serveProxy(hostname: string, tcpBackends: Backend[], udpBackends: Backend[]) {
  const tcp = new TcpForwarder({ hostname, port: 0, backends: tcpBackends });
  tcp.listen();
  const udp = new UdpForwarder({ hostname, port: 0, backends: udpBackends });
  await udp.listen();
  ready(`${tcp.port} ${udp.port}`);
  // Run until stdin closes (the parent ends us), then shut down cleanly so --cpu-prof writes.
  const buf = new Uint8Array(16);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
  await tcp.close();
  await udp.close();
  Deno.exit(0);
}

function parseBackends(spec: string): Backend[] {
  if (!spec) return [];
  return spec.split(",").map((s) => {
    const [address, port] = s.split(":");
    return { address, port: Number(port) };
  });
}

// ---------------------------------------------------------------------------------------------
// Parent side.

interface Child {
  proc: Deno.ChildProcess;
  line: string;
  stop(): Promise<void>;
}

async function spawn(args: string[], denoFlags: string[] = []): Promise<Child> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...denoFlags, SELF, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`bench helper ${args[0]} exited before it was ready`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  proc.stdout.cancel().catch(() => {});
  const line = text.split("\n")[0].replace(/^ready /, "");
  return {
    proc,
    line,
    async stop() {
      await proc.stdin.close().catch(() => {});
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      try {
        if (!args[0].includes("proxy")) proc.kill("SIGTERM");
      } catch { /* gone */ }
      await proc.status;
      clearTimeout(t);
    },
  };
}

async function have(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args: ["-v"], stdout: "null", stderr: "null" })
      .output();
    return out.code === 0 || out.code === 1;
  } catch {
    return false;
  }
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : n * 1000;
}

function toMB(v: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(v.trim());
  if (!m) return NaN;
  const mult = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as "B"];
  return (Number(m[1]) * mult) / 1e6;
}

/** Runs wrk once and parses requests/s, p50, p99 and transfer rate. */
async function wrk(url: string, connections: number, seconds: number): Promise<WrkResult> {
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${connections}`, `-d${seconds}s`, "--latency", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p50 = toMs(/^\s*50%\s+(\S+)/m.exec(text)?.[1] ?? "");
  const p99 = toMs(/^\s*99%\s+(\S+)/m.exec(text)?.[1] ?? "");
  const transfer = toMB(/Transfer\/sec:\s*(\S+)/.exec(text)?.[1] ?? "");
  const errLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = (errLine ? errLine.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`cannot parse wrk output:\n${text}`);
  return {
    requestsPerSecond: rps,
    p50Ms: p50,
    p99Ms: p99,
    mbPerSecond: transfer,
    errors,
    requests,
  };
}

/** User and kernel CPU time of a process so far, in µs (all its threads). */
function cpuTimeUs(pid: number): { user: number; sys: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 1e6 / 100; // USER_HZ is 100 on Linux
  return { user: Number(fields[11]) * tick, sys: Number(fields[12]) * tick };
}

/** Echo round trips per second with a window of packets in flight per client socket. */
async function udpRate(target: Backend, seconds: number): Promise<number> {
  const clients = 4;
  const window = 16;
  const payload = new Uint8Array(64).fill(7);
  let replies = 0;
  const sockets: dgram.Socket[] = [];
  for (let i = 0; i < clients; i++) {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    sockets.push(s);
  }
  const inFlight = new Array(clients).fill(0);
  const lastProgress = new Array(clients).fill(Date.now());
  let running = true;
  const send = (i: number) => {
    sockets[i].send(payload, target.port, target.address);
    inFlight[i]++;
  };
  sockets.forEach((s, i) =>
    s.on("message", () => {
      replies++;
      inFlight[i]--;
      lastProgress[i] = Date.now();
      if (running) send(i);
    })
  );
  // Warm up the sessions, then count.
  for (let i = 0; i < clients; i++) for (let w = 0; w < window; w++) send(i);
  // Datagrams can be dropped: a stalled window is refilled (counted as lost).
  const refill = setInterval(() => {
    for (let i = 0; i < clients; i++) {
      if (Date.now() - lastProgress[i] > 100) {
        inFlight[i] = 0;
        lastProgress[i] = Date.now();
        for (let w = 0; w < window; w++) send(i);
      }
    }
  }, 50);
  await new Promise((r) => setTimeout(r, 500));
  const start = replies;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = (replies - start) / ((performance.now() - t0) / 1000);
  running = false;
  clearInterval(refill);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return Math.round(rate);
}

function haproxyConfig(bind: string, backends: Backend[], threads?: number): string {
  return [
    "global",
    "  maxconn 4000",
    ...(threads ? [`  nbthread ${threads}`] : []),
    "defaults",
    "  mode tcp",
    "  timeout connect 1s",
    "  timeout client 60s",
    "  timeout server 60s",
    "frontend skiff_bench",
    `  bind ${bind}`,
    "  default_backend web",
    "backend web",
    "  balance roundrobin",
    ...backends.map((b, i) => `  server s${i} ${b.address}:${b.port}`),
    "",
  ].join("\n");
}

const round = (n: number | undefined, d = 2) =>
  n === undefined || !Number.isFinite(n) ? undefined : Math.round(n * 10 ** d) / 10 ** d;

/** Runs the benchmark; writes bench/results/proxy.{json,md} unless `write: false`. */
export async function runProxyBench(opts: ProxyBenchOptions = {}): Promise<ProxyBenchResult> {
  const seconds = opts.durationSeconds ?? 5;
  const udpSeconds = opts.udpSeconds ?? 2;
  const tools = { wrk: await have("wrk"), haproxy: await have("haproxy") };
  if (!tools.wrk) {
    console.error("bench proxy: wrk is missing (apt-get install -y wrk): TCP skipped");
  }
  if (!tools.haproxy) {
    console.error("bench proxy: haproxy is missing (apt-get install -y haproxy): no comparison");
  }
  const children: Child[] = [];
  let tmp: string | undefined;
  const result: ProxyBenchResult = {
    machine: machineInfo(),
    tools,
    tcp: { small32: {}, small128: {}, large8: {} },
    udp: { directPacketsPerSecond: 0, skiffPacketsPerSecond: 0 },
    ratios: { udpVsDirect: 0 },
  };
  try {
    const http = await Promise.all(BACKEND_ADDRESSES.map((a) => spawn(["--serve-http", a])));
    children.push(...http);
    const httpBackends = http.map((c, i) => ({
      address: BACKEND_ADDRESSES[i],
      port: Number(c.line),
    }));
    const udpEcho = await spawn(["--serve-udp", BACKEND_ADDRESSES[0]]);
    children.push(udpEcho);
    const udpBackend = { address: BACKEND_ADDRESSES[0], port: Number(udpEcho.line) };
    const flags = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    const skiff = await spawn([
      "--serve-proxy",
      SKIFF_ADDRESS,
      httpBackends.map((b) => `${b.address}:${b.port}`).join(","),
      `${udpBackend.address}:${udpBackend.port}`,
    ], flags);
    children.push(skiff);
    const [skiffTcp, skiffUdp] = skiff.line.split(" ").map(Number);

    const targets: Partial<Record<Path, string>> = {
      direct: `http://${httpBackends[0].address}:${httpBackends[0].port}`,
      skiff: `http://${SKIFF_ADDRESS}:${skiffTcp}`,
    };
    const proxyPids: Partial<Record<Path, number>> = { skiff: skiff.proc.pid };
    if (tools.haproxy) {
      tmp = await Deno.makeTempDir({ prefix: "skiff-bench-haproxy-" });
      for (const [path, threads] of [["haproxy", undefined], ["haproxy1", 1]] as const) {
        const address = HAPROXY_ADDRESSES[path];
        const port = freePort(address);
        const cfg = `${tmp}/${path}.cfg`;
        await Deno.writeTextFile(cfg, haproxyConfig(`${address}:${port}`, httpBackends, threads));
        const proc = new Deno.Command("haproxy", {
          args: ["-db", "-f", cfg],
          stdout: "null",
          stderr: "inherit",
        }).spawn();
        proxyPids[path] = proc.pid;
        children.push({
          proc,
          line: "",
          async stop() {
            try {
              proc.kill("SIGTERM");
            } catch { /* already exited */ }
            await proc.status;
          },
        });
        targets[path] = `http://${address}:${port}`;
        for (let i = 0; i < 50; i++) {
          try {
            (await Deno.connect({ hostname: address, port })).close();
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    }

    if (tools.wrk && !opts.skipTcp) {
      const paths = PATHS.filter((p) => targets[p]);
      for (const p of paths) await wrk(`${targets[p]}/small`, 32, 1); // warm up JITs and pools
      const runs: [keyof ProxyBenchResult["tcp"], string, number][] = [
        ["small32", "/small", 32],
        ["small128", "/small", 128],
        ["large8", "/large", 8],
      ];
      for (const [name, path, conns] of runs) {
        for (const p of paths) {
          const pid = proxyPids[p];
          const before = pid ? cpuTimeUs(pid) : undefined;
          const r = await wrk(`${targets[p]}${path}`, conns, seconds);
          if (pid && before) {
            const after = cpuTimeUs(pid);
            r.proxyCpuUs = {
              user: round((after.user - before.user) / r.requests)!,
              sys: round((after.sys - before.sys) / r.requests)!,
            };
          }
          result.tcp[name][p] = r;
          console.error(
            `bench proxy: ${name} ${p}: ${Math.round(r.requestsPerSecond)} req/s, ` +
              `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${Math.round(r.mbPerSecond)} MB/s`,
          );
        }
      }
    }
    // Other load on the machine swings single runs a lot: interleave three rounds, keep the best.
    for (let round = 0; round < 3; round++) {
      const direct = await udpRate(udpBackend, udpSeconds);
      const skiffRate = await udpRate({ address: SKIFF_ADDRESS, port: skiffUdp }, udpSeconds);
      console.error(
        `bench proxy: udp round ${round + 1}: direct ${direct}/s, skiff ${skiffRate}/s`,
      );
      result.udp.directPacketsPerSecond = Math.max(result.udp.directPacketsPerSecond, direct);
      result.udp.skiffPacketsPerSecond = Math.max(result.udp.skiffPacketsPerSecond, skiffRate);
    }
  } finally {
    for (const c of children.reverse()) await c.stop();
    if (tmp) await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  if (opts.cpuProfDir) result.profile = await summarizeProfile(opts.cpuProfDir);

  const t = result.tcp;
  const ratio = (a?: number, b?: number) => (a && b ? round(a / b) : undefined);
  const vs = (other: "haproxy" | "haproxy1") => ({
    small32: ratio(t.small32.skiff?.requestsPerSecond, t.small32[other]?.requestsPerSecond),
    small128: ratio(t.small128.skiff?.requestsPerSecond, t.small128[other]?.requestsPerSecond),
    large: ratio(t.large8.skiff?.mbPerSecond, t.large8[other]?.mbPerSecond),
  });
  const [h, h1] = [vs("haproxy"), vs("haproxy1")];
  result.ratios = {
    small32RpsVsHaproxy1: h1.small32,
    small128RpsVsHaproxy1: h1.small128,
    largeMBpsVsHaproxy1: h1.large,
    small32RpsVsHaproxy: h.small32,
    small128RpsVsHaproxy: h.small128,
    largeMBpsVsHaproxy: h.large,
    p99DeltaMs32: round((t.small32.skiff?.p99Ms ?? NaN) - (t.small32.haproxy?.p99Ms ?? NaN)),
    p99DeltaMs128: round((t.small128.skiff?.p99Ms ?? NaN) - (t.small128.haproxy?.p99Ms ?? NaN)),
    udpVsDirect: ratio(result.udp.skiffPacketsPerSecond, result.udp.directPacketsPerSecond) ?? 0,
  };
  if (opts.write ?? true) await writeResults("proxy", result, markdown(result, seconds));
  return result;
}

function markdown(r: ProxyBenchResult, seconds: number): string {
  const cell = (w: WrkResult | undefined, f: (w: WrkResult) => string) => (w ? f(w) : "–");
  const rows: string[] = [];
  const labels = {
    small32: "small (23 B), 32 conns",
    small128: "small (23 B), 128 conns",
    large8: "1 MiB, 8 conns",
  };
  for (const name of ["small32", "small128", "large8"] as const) {
    for (const p of PATHS) {
      const w = r.tcp[name][p];
      rows.push(
        `| ${labels[name]} | ${PATH_LABELS[p]} | ${
          cell(w, (x) => Math.round(x.requestsPerSecond).toString())
        } | ${cell(w, (x) => x.p50Ms.toFixed(2))} | ${cell(w, (x) => x.p99Ms.toFixed(2))} | ${
          cell(w, (x) => Math.round(x.mbPerSecond).toString())
        } | ${cell(w, (x) => x.errors.toString())} | ${
          cell(w, (x) => x.proxyCpuUs ? `${x.proxyCpuUs.user} + ${x.proxyCpuUs.sys}` : "–")
        } |`,
      );
    }
  }
  const q = r.ratios;
  const show = (v: number | undefined) => (v === undefined ? "–" : String(v));
  return `# Service proxy benchmark

Machine: ${machineLine(r.machine)}

Loopback; wrk \`-t2 -d${seconds}s --latency\`; two \`Deno.serve\` HTTP backends (127.0.0.11, 127.0.0.12)
shared by all paths ("direct" = backend 1 only). HAProxy 2.6 \`mode tcp\`, \`balance roundrobin\`,
with its default threads (one per core) and with \`nbthread 1\` (like for like with Skiff's one JS
thread); Skiff = \`TcpForwarder\`/\`UdpForwarder\` in their own Deno process. Everything (wrk,
backends, proxies) shares the same ${r.machine.cpus} cores with whatever else the machine runs, so
absolute numbers are noisy; the ratios are the point. UDP: 4 client sockets × 16 datagrams of 64 B
in flight against a \`node:dgram\` echo, best of 3 interleaved rounds per path.${
    r.tools.wrk ? "" : "\n\n**wrk missing: TCP not measured.**"
  }${r.tools.haproxy ? "" : "\n\n**haproxy missing: no comparison.**"}

| load | path | req/s | p50 ms | p99 ms | MB/s | errors | proxy CPU µs/req (user + kernel) |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

| ratio | value | target |
| --- | --- | --- |
| Skiff / HAProxy req/s, 32 conns | ${show(q.small32RpsVsHaproxy)} (nbthread 1: ${
    show(q.small32RpsVsHaproxy1)
  }) | ≥ 0.9 |
| Skiff / HAProxy req/s, 128 conns | ${show(q.small128RpsVsHaproxy)} (nbthread 1: ${
    show(q.small128RpsVsHaproxy1)
  }) | ≥ 0.9 |
| Skiff / HAProxy MB/s, 1 MiB | ${show(q.largeMBpsVsHaproxy)} (nbthread 1: ${
    show(q.largeMBpsVsHaproxy1)
  }) | ≥ 0.9 |
| Skiff − HAProxy p99, 32 conns | ${show(q.p99DeltaMs32)} ms | ≤ 1 ms |
| Skiff − HAProxy p99, 128 conns | ${show(q.p99DeltaMs128)} ms | ≤ 1 ms |
| UDP echo packets/s: direct | ${r.udp.directPacketsPerSecond} | |
| UDP echo packets/s: through Skiff | ${r.udp.skiffPacketsPerSecond} | |
| Skiff / direct UDP packets/s | ${q.udpVsDirect} | ≥ 0.6 |
${
    r.profile
      ? `\nWhere the Skiff proxy's CPU went (V8 \`--cpu-prof\` self time, share of busy samples):\n\n| function | % |\n| --- | --- |\n${
        r.profile.map((e) => `| \`${e.name}\` | ${e.percent} |`).join("\n")
      }\n`
      : ""
  }`;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function from the newest V8 CPU profile in `dir`, idle excluded. */
async function summarizeProfile(dir: string): Promise<{ name: string; percent: number }[]> {
  let newest: { path: string; mtime: number } | undefined;
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".cpuprofile")) continue;
    const path = `${dir}/${e.name}`;
    const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    if (!newest || mtime > newest.mtime) newest = { path, mtime };
  }
  if (!newest) return [];
  const prof: CpuProfile = JSON.parse(await Deno.readTextFile(newest.path));
  const names = new Map<number, string>();
  for (const n of prof.nodes) {
    const file = n.callFrame.url.split("/").pop();
    names.set(n.id, `${n.callFrame.functionName || "(anonymous)"}${file ? ` ${file}` : ""}`);
  }
  const self = new Map<string, number>();
  let busy = 0;
  prof.samples.forEach((id, i) => {
    const name = names.get(id) ?? "?";
    if (name.startsWith("(idle)")) return;
    const dt = prof.timeDeltas[i] ?? 0;
    busy += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, t]) => ({
    name,
    percent: Math.round((1000 * t) / Math.max(1, busy)) / 10,
  }));
}

if (import.meta.main) {
  const [role, a, b, c] = Deno.args;
  if (role === "--serve-http") serveHttp(a);
  else if (role === "--serve-udp") serveUdpEcho(a);
  else if (role === "--serve-proxy") await serveProxy(a, parseBackends(b), parseBackends(c));
  else {
    const prof = Deno.args.find((x) => x.startsWith("--cpu-prof-dir="))?.split("=")[1];
    const quick = Deno.args.includes("--quick");
    const r = await runProxyBench({
      skipTcp: Deno.args.includes("--udp-only"),
      cpuProfDir: prof,
      durationSeconds: quick ? 2 : undefined,
      udpSeconds: quick ? 1 : undefined,
      write: !quick && !Deno.args.includes("--udp-only"),
    });
    console.log(JSON.stringify(r.ratios));
  }
}
