/**
 * Service proxy benchmark (issues 5 and 19), side by side in one run inside network namespaces
 * the bench creates (tests/_proxy_netns.ts: a client namespace, a node namespace with Docker's
 * forward policy and the host-gw rules, two backend "pods" on the node's bridge): wrk from the
 * client namespace straight to one backend, through HAProxy (`mode tcp`, `balance roundrobin`,
 * default threads and `nbthread 1`), through Skiff's userspace forwarder and through Skiff's
 * nftables rules, all running in the node namespace — small and 1 MiB responses at 32 and 128
 * connections (requests/s, p50, p99, MB/s), CPU per request (the proxy process's, and the whole
 * machine's), and the Skiff process's RSS before and after the load — plus UDP echo packets/s
 * direct, through userspace and through nftables. Writes bench/results/proxy.{json,md}.
 *
 * Proxy processes and the UDP load run as subprocesses of this same file (`--serve-proxy`,
 * `--serve-nft`, `--udp-load`) inside the namespaces, so the userspace proxy can be profiled
 * with `--cpu-prof` alone.
 */
import dgram from "node:dgram";
import { TcpForwarder } from "../proxy/tcp_forwarder.ts";
import { UdpForwarder } from "../proxy/udp_forwarder.ts";
import type { Backend } from "../proxy/round_robin.ts";
import { NftablesProxy } from "../proxy/nft_proxy.ts";
import type { DesiredListener } from "../proxy/service_table.ts";
import { servicePorts } from "../proxy/nft_ruleset.ts";
import { createProxyTopology, NET, type ProxyTopology } from "../tests/_proxy_netns.ts";
import { type MachineInfo, machineInfo, machineLine, rssMiB, writeResults } from "./machine.ts";

/** Options of {@linkcode runProxyBench}. */
export interface ProxyBenchOptions {
  /** Seconds per wrk run (default 2). */
  durationSeconds?: number;
  /** Seconds per UDP run, 3 runs per path (default 1). */
  udpSeconds?: number;
  /** Write a V8 CPU profile of the userspace proxy process into this directory. */
  cpuProfDir?: string;
  /** Write results to bench/results/ (default true). */
  write?: boolean;
  /** Skip the TCP part (UDP only). */
  skipTcp?: boolean;
  /** Interleaved rounds per load (best kept; default 3); UDP gets two more. */
  rounds?: number;
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
   * kernel time); absent for the direct path and for nftables (no process on the data path).
   */
  proxyCpuUs?: { user: number; sys: number };
  /** CPU of the whole machine per request in µs (wrk, backends, proxy, softirq: /proc/stat). */
  machineCpuUs: number;
  /** RSS of the Skiff process before and after the run, MiB. */
  rssMiB?: { before: number; after: number };
}

/** Pause per request and connection for the paced load: 32 connections × 1 / 4 ms ≈ 8,000 req/s. */
const PACED_DELAY_MS = 4;

type Path = "direct" | "haproxy" | "haproxy1" | "userspace" | "nftables";
const PATHS: Path[] = ["direct", "haproxy", "haproxy1", "userspace", "nftables"];
const PATH_LABELS: Record<Path, string> = {
  direct: "direct",
  haproxy: "HAProxy (default threads)",
  haproxy1: "HAProxy (nbthread 1)",
  userspace: "Skiff userspace",
  nftables: "Skiff nftables",
};
type Load = "small32" | "small128" | "large32" | "large128" | "paced32";
/**
 * name, URL path, connections, and for a paced load the pause (ms) each connection takes after a
 * response before its next request. The closed-loop loads saturate whatever is slowest, so their
 * p99 is the backends' queue when a path delivers more requests than another; the paced load
 * offers every path about the same request rate, well below any path's limit, so its p50/p99 are
 * the latency each path adds.
 */
const LOADS: [Load, string, number, number?][] = [
  ["small32", "/small", 32],
  ["small128", "/small", 128],
  ["large32", "/large", 32],
  ["large128", "/large", 128],
  ["paced32", "/small", 32, PACED_DELAY_MS],
];

/** What {@linkcode runProxyBench} measured. */
export interface ProxyBenchResult {
  machine: MachineInfo;
  tools: { wrk: boolean; haproxy: boolean };
  tcp: Record<Load, Partial<Record<Path, WrkResult>>>;
  udp: { direct: number; userspace: number; nftables: number };
  /** Where the userspace proxy process spent its CPU (busy samples only), when profiled. */
  profile?: { name: string; percent: number }[];
  ratios: Record<string, number | undefined>;
  /** 1-minute load average when the run started and ended (other tenants of the machine). */
  loadAverage: { before: number; after: number };
}

function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

const HTTP_PORT = 8080;
const UDP_PORT = 7001;
const TCP_ECHO_PORT = 7000;
/** The service address nftables mode DNATs (a ClusterIP of the bench's service CIDR). */
const NFT_VIP = "10.96.0.10";
const PORTS = { haproxy: 8001, haproxy1: 8002, userspace: 8003, nftables: 80 } as const;
const SELF = new URL(import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------
// Subprocess roles (each started inside a namespace).

function ready(line: number | string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`ready ${line}\n`));
}

async function untilStdinCloses(): Promise<void> {
  const buf = new Uint8Array(16);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
}

async function serveProxy(hostname: string, tcpBackends: Backend[], udpBackends: Backend[]) {
  const tcp = new TcpForwarder({ hostname, port: PORTS.userspace, backends: tcpBackends });
  tcp.listen();
  const udp = new UdpForwarder({ hostname, port: UDP_PORT, backends: udpBackends });
  await udp.listen();
  ready(`${tcp.port} ${udp.port}`);
  // Run until stdin closes (the parent ends us), then shut down cleanly so --cpu-prof writes.
  await untilStdinCloses();
  await tcp.close();
  await udp.close();
  Deno.exit(0);
}

/** Programs the nftables table for the VIP (TCP :80, UDP :UDP_PORT), then idles until told. */
async function serveNft(table: string, tcpBackends: Backend[], udpBackends: Backend[]) {
  const nft = new NftablesProxy(table);
  const listener = (protocol: "TCP" | "UDP", port: number, backends: Backend[]) =>
    ({
      key: `${protocol}/${NFT_VIP}:${port}`,
      protocol,
      address: NFT_VIP,
      port,
      source: "clusterIP",
      service: { namespace: "bench", name: "web" },
      portName: protocol.toLowerCase(),
      backends,
      externalTrafficPolicy: "Cluster",
      internalTrafficPolicy: "Cluster",
    }) satisfies DesiredListener;
  await nft.apply(
    servicePorts([
      listener("TCP", PORTS.nftables, tcpBackends),
      listener("UDP", UDP_PORT, udpBackends),
    ]),
    {
      nodeName: "bench",
      nodePortAddresses: [],
      clusterCidr: NET.clusterCidr,
      podCidr: NET.podCidr,
    },
  );
  ready(`${PORTS.nftables} ${UDP_PORT}`);
  await untilStdinCloses();
  await nft.remove();
  Deno.exit(0);
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
    await new Promise<void>((r) => s.bind(0, "0.0.0.0", () => r()));
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
  await new Promise((r) => setTimeout(r, 300));
  const start = replies;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Math.min(seconds, 10) * 1000));
  const rate = (replies - start) / ((performance.now() - t0) / 1000);
  running = false;
  clearInterval(refill);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return Math.round(rate);
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

/** Runs a role of this file inside namespace `ns`; resolves with its ready line. */
async function spawn(ns: string, args: string[], denoFlags: string[] = []): Promise<Child> {
  const proc = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", ...denoFlags, SELF, ...args],
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
  const line = text.split("\n")[0].replace(/^ready /, "");
  return {
    proc,
    line,
    async stop() {
      await proc.stdin.close().catch(() => {});
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.status;
      await proc.stdout.cancel().catch(() => {});
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

/** Busy and total CPU time of the machine so far, in µs (/proc/stat, all cores). */
function machineCpuUs(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return { busy: (total - idle) * 1e4, total: total * 1e4 };
}

/** Runs wrk once from namespace `ns` and parses requests/s, p50, p99 and transfer rate. */
async function wrk(
  ns: string,
  url: string,
  connections: number,
  seconds: number,
  script?: string,
): Promise<Omit<WrkResult, "machineCpuUs">> {
  const out = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      "wrk",
      "-t2",
      `-c${connections}`,
      `-d${seconds}s`,
      "--timeout",
      "5s",
      "--latency",
      ...(script ? ["-s", script] : []),
      url,
    ],
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

/** A wrk Lua script that makes each connection pause `ms` after every response (wrk's `delay`). */
async function wrkDelayScript(ms: number): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "skiff-wrk-delay-", suffix: ".lua" });
  await Deno.writeTextFile(file, `function delay()\n  return ${ms}\nend\n`);
  return file;
}

/** User and kernel CPU time of a process so far, in µs (all its threads). */
function cpuTimeUs(pid: number): { user: number; sys: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 1e6 / 100; // USER_HZ is 100 on Linux
  return { user: Number(fields[11]) * tick, sys: Number(fields[12]) * tick };
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

const round2 = (n: number | undefined, d = 2) =>
  n === undefined || !Number.isFinite(n) ? undefined : Math.round(n * 10 ** d) / 10 ** d;

/** Runs the benchmark; writes bench/results/proxy.{json,md} unless `write: false`. */
export async function runProxyBench(opts: ProxyBenchOptions = {}): Promise<ProxyBenchResult> {
  const seconds = opts.durationSeconds ?? 2;
  const udpSeconds = opts.udpSeconds ?? 1;
  const tools = { wrk: await have("wrk"), haproxy: await have("haproxy") };
  if (!tools.wrk) {
    console.error("bench proxy: wrk is missing (apt-get install -y wrk): TCP skipped");
  }
  if (!tools.haproxy) {
    console.error("bench proxy: haproxy is missing (apt-get install -y haproxy): no comparison");
  }
  const children: Child[] = [];
  let tmp: string | undefined;
  let topo: ProxyTopology | undefined;
  const result: ProxyBenchResult = {
    machine: machineInfo(),
    tools,
    tcp: { small32: {}, small128: {}, large32: {}, large128: {}, paced32: {} },
    udp: { direct: 0, userspace: 0, nftables: 0 },
    ratios: {},
    loadAverage: { before: loadAverage(), after: 0 },
  };
  try {
    topo = await createProxyTopology({ backends: 2 });
    const backends = topo.backends.filter((b) => !b.remote);
    for (const b of backends) {
      const roles = new URL("../tests/_netns_roles.ts", import.meta.url).pathname;
      const proc = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          b.ns,
          Deno.execPath(),
          "run",
          "-A",
          roles,
          "backend",
          b.name,
          String(TCP_ECHO_PORT),
          String(UDP_PORT),
          String(HTTP_PORT),
        ],
        stdin: "piped",
        stdout: "null",
        stderr: "inherit",
      }).spawn();
      children.push({
        proc,
        line: "",
        async stop() {
          try {
            proc.kill("SIGTERM");
          } catch { /* gone */ }
          await proc.status;
          await proc.stdin.close().catch(() => {});
        },
      });
    }
    const httpBackends = backends.map((b) => ({ address: b.address, port: HTTP_PORT }));
    const udpBackend = { address: backends[0].address, port: UDP_PORT };
    const spec = (bs: Backend[]) => bs.map((b) => `${b.address}:${b.port}`).join(",");
    const nodeNs = topo.nodeNs;
    const clientNs = topo.clientNs;
    // Backends answer once their port is open (seen from the client namespace).
    for (const b of httpBackends) {
      for (let i = 0; i < 100; i++) {
        const r = await new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            clientNs,
            "busybox",
            "nc",
            "-w",
            "1",
            b.address,
            String(HTTP_PORT),
          ],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output();
        if (r.code === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const flags = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    const userspace = await spawn(nodeNs, [
      "--serve-proxy",
      NET.nodeOutside,
      spec(httpBackends),
      spec([udpBackend]),
    ], flags);
    children.push(userspace);
    const nft = await spawn(nodeNs, [
      "--serve-nft",
      `skiff-bench-${topo.suffix}`,
      spec(httpBackends),
      spec([udpBackend]),
    ]);
    children.push(nft);

    const targets: Partial<Record<Path, string>> = {
      direct: `http://${httpBackends[0].address}:${HTTP_PORT}`,
      userspace: `http://${NET.nodeOutside}:${PORTS.userspace}`,
      nftables: `http://${NFT_VIP}:${PORTS.nftables}`,
    };
    const proxyPids: Partial<Record<Path, number>> = { userspace: userspace.proc.pid };
    const skiffPids: Partial<Record<Path, number>> = {
      userspace: userspace.proc.pid,
      nftables: nft.proc.pid,
    };
    if (tools.haproxy) {
      tmp = await Deno.makeTempDir({ prefix: "skiff-bench-haproxy-" });
      for (const [path, threads] of [["haproxy", undefined], ["haproxy1", 1]] as const) {
        const port = PORTS[path];
        const cfg = `${tmp}/${path}.cfg`;
        await Deno.writeTextFile(
          cfg,
          haproxyConfig(`${NET.nodeOutside}:${port}`, httpBackends, threads),
        );
        const proc = new Deno.Command("ip", {
          args: ["netns", "exec", nodeNs, "haproxy", "-db", "-f", cfg],
          stdin: "null",
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
        targets[path] = `http://${NET.nodeOutside}:${port}`;
      }
      await new Promise((r) => setTimeout(r, 500));
    }

    if (tools.wrk && !opts.skipTcp) {
      const paths = PATHS.filter((p) => targets[p]);
      for (const p of paths) await wrk(clientNs, `${targets[p]}/small`, 32, 1); // warm up
      // Other tenants swing single runs a lot: interleave the paths over a few short rounds and
      // keep each path's best run (by requests/s).
      const rounds = opts.rounds ?? 3;
      for (const [name, path, conns, delayMs] of LOADS) {
        // A paced load keeps every round and reports each path's median by p99 (the best by
        // requests/s would mean nothing when the rate is fixed).
        const pacedRuns: Partial<Record<Path, WrkResult[]>> = {};
        const script = delayMs === undefined ? undefined : await wrkDelayScript(delayMs);
        for (let round = 0; round < rounds; round++) {
          for (const p of paths) {
            const pid = proxyPids[p];
            const skiffPid = skiffPids[p];
            const before = pid ? cpuTimeUs(pid) : undefined;
            const rssBefore = skiffPid ? rssMiB(skiffPid) : undefined;
            const m0 = machineCpuUs();
            const w = await wrk(clientNs, `${targets[p]}${path}`, conns, seconds, script);
            const m1 = machineCpuUs();
            const r: WrkResult = { ...w, machineCpuUs: round2((m1.busy - m0.busy) / w.requests)! };
            if (pid && before) {
              const after = cpuTimeUs(pid);
              r.proxyCpuUs = {
                user: round2((after.user - before.user) / r.requests)!,
                sys: round2((after.sys - before.sys) / r.requests)!,
              };
            }
            if (skiffPid && rssBefore !== undefined) {
              r.rssMiB = { before: round2(rssBefore, 1)!, after: round2(rssMiB(skiffPid), 1)! };
            }
            const best = result.tcp[name][p];
            if (script) (pacedRuns[p] ??= []).push(r);
            else if (!best || r.requestsPerSecond > best.requestsPerSecond) result.tcp[name][p] = r;
            console.error(
              `bench proxy: ${name} ${p} (round ${round + 1}): ` +
                `${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ` +
                `${
                  Math.round(r.mbPerSecond)
                } MB/s, ${r.errors} errors, machine ${r.machineCpuUs} µs/req`,
            );
          }
        }
        for (const [p, runs] of Object.entries(pacedRuns) as [Path, WrkResult[]][]) {
          runs.sort((a, b) => a.p99Ms - b.p99Ms);
          result.tcp[name][p] = runs[Math.floor(runs.length / 2)];
        }
        if (script) await Deno.remove(script).catch(() => {});
      }
    }
    // Other load on the machine swings single runs a lot: interleave three rounds, keep the best.
    const udpTargets: [keyof ProxyBenchResult["udp"], Backend][] = [
      ["direct", udpBackend],
      ["userspace", { address: NET.nodeOutside, port: UDP_PORT }],
      ["nftables", { address: NFT_VIP, port: UDP_PORT }],
    ];
    for (let round = 0; round < (opts.rounds ?? 3) + 2; round++) {
      for (const [path, target] of udpTargets) {
        const load = await spawn(clientNs, [
          "--udp-load",
          `${target.address}:${target.port}`,
          String(udpSeconds),
        ]);
        await load.proc.status;
        const rate = Number(load.line);
        await load.stop();
        console.error(`bench proxy: udp round ${round + 1}: ${path} ${rate}/s`);
        result.udp[path] = Math.max(result.udp[path], rate);
      }
    }
  } finally {
    for (const c of children.reverse()) await c.stop();
    if (tmp) await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await topo?.destroy();
  }
  if (opts.cpuProfDir) result.profile = await summarizeProfile(opts.cpuProfDir);
  result.loadAverage.after = loadAverage();

  const t = result.tcp;
  const ratio = (a?: number, b?: number) => (a && b ? round2(a / b) : undefined);
  const rps = (l: Load, p: Path) => t[l][p]?.requestsPerSecond;
  const mbs = (l: Load, p: Path) => t[l][p]?.mbPerSecond;
  const p99 = (l: Load, p: Path) => t[l][p]?.p99Ms ?? NaN;
  result.ratios = {
    nftSmall32VsHaproxy: ratio(rps("small32", "nftables"), rps("small32", "haproxy")),
    nftSmall128VsHaproxy: ratio(rps("small128", "nftables"), rps("small128", "haproxy")),
    nftLarge32VsHaproxy: ratio(mbs("large32", "nftables"), mbs("large32", "haproxy")),
    nftLarge128VsHaproxy: ratio(mbs("large128", "nftables"), mbs("large128", "haproxy")),
    nftP99DeltaMs32: round2(p99("small32", "nftables") - p99("small32", "haproxy")),
    nftP99DeltaMs128: round2(p99("small128", "nftables") - p99("small128", "haproxy")),
    nftP99DeltaMsPaced: round2(p99("paced32", "nftables") - p99("paced32", "haproxy")),
    nftSmall32VsDirect: ratio(rps("small32", "nftables"), rps("small32", "direct")),
    userspaceSmall32VsHaproxy1: ratio(rps("small32", "userspace"), rps("small32", "haproxy1")),
    userspaceSmall128VsHaproxy1: ratio(rps("small128", "userspace"), rps("small128", "haproxy1")),
    userspaceLarge32VsHaproxy1: ratio(mbs("large32", "userspace"), mbs("large32", "haproxy1")),
    nftUdpVsDirect: ratio(result.udp.nftables, result.udp.direct),
    userspaceUdpVsDirect: ratio(result.udp.userspace, result.udp.direct),
  };
  if (opts.write ?? true) await writeResults("proxy", result, markdown(result, seconds));
  return result;
}

function markdown(r: ProxyBenchResult, seconds: number): string {
  const cell = (w: WrkResult | undefined, f: (w: WrkResult) => string) => (w ? f(w) : "–");
  const rows: string[] = [];
  const labels: Record<Load, string> = {
    small32: "small (23 B), 32 conns",
    small128: "small (23 B), 128 conns",
    large32: "1 MiB, 32 conns",
    large128: "1 MiB, 128 conns",
    paced32: `small, 32 conns paced (${PACED_DELAY_MS} ms pause)`,
  };
  for (const [name] of LOADS) {
    for (const p of PATHS) {
      const w = r.tcp[name][p];
      rows.push(
        `| ${labels[name]} | ${PATH_LABELS[p]} | ${
          cell(w, (x) => Math.round(x.requestsPerSecond).toString())
        } | ${cell(w, (x) => x.p50Ms.toFixed(2))} | ${cell(w, (x) => x.p99Ms.toFixed(2))} | ${
          cell(w, (x) => Math.round(x.mbPerSecond).toString())
        } | ${cell(w, (x) => x.errors.toString())} | ${
          cell(w, (x) => x.proxyCpuUs ? `${x.proxyCpuUs.user} + ${x.proxyCpuUs.sys}` : "–")
        } | ${cell(w, (x) => String(x.machineCpuUs))} | ${
          cell(w, (x) => x.rssMiB ? `${x.rssMiB.before} → ${x.rssMiB.after}` : "–")
        } |`,
      );
    }
  }
  const q = r.ratios;
  const show = (v: number | undefined) => (v === undefined ? "–" : String(v));
  return `# Service proxy benchmark

Machine: ${machineLine(r.machine)}; 1-minute load average ${r.loadAverage.before} at the start,
${r.loadAverage.after} at the end (on ${r.machine.cpus} cores: other tenants' load).

All traffic inside network namespaces the bench creates (tests/_proxy_netns.ts): wrk \`-t2
-d${seconds}s --latency\` and the UDP load run in a client namespace; two backend "pods" (\`Deno.serve\`
HTTP, \`node:dgram\` UDP) sit on the node namespace's bridge; every proxy runs in the node namespace,
which has Docker's FORWARD drop policy and Skiff's host-gw rules. "direct" = client → backend 1,
routed through the node (no NAT). HAProxy 2.6 \`mode tcp\`, \`balance roundrobin\`, default
threads (one per core) and \`nbthread 1\`; "Skiff userspace" = \`TcpForwarder\`/\`UdpForwarder\` in
their own Deno process; "Skiff nftables" = the proxy's nftables table (DNAT of a ClusterIP to the
two backends, \`numgen inc\` round robin) programmed by a Deno process that is then idle. The
machine has ${r.machine.cpus} cores shared with whatever else runs on it: absolute numbers are
noisy, the ratios are the point. "proxy CPU" is the proxy process's user + kernel time per
request (none for nftables: the work is done in softirq, on no process's account); "machine CPU"
is all busy time of all cores per request (wrk, backends and proxy together, plus other tenants),
the only honest column for the kernel path. RSS is the Skiff process's before → after the run.
Each load runs the paths in turn over 3 rounds and keeps each path's best run (by requests/s;
its p99, CPU and RSS are that run's). The closed-loop loads saturate the slowest part, so a path
that delivers more requests also meets the backends' queue (its p99 grows with its throughput); the
"paced" load (wrk's \`delay\`: each connection pauses ${PACED_DELAY_MS} ms after every response) offers
every path about the same rate, below all their limits, and keeps each path's median run by p99:
its latencies are what the path itself adds. UDP: 4 client sockets × 16 datagrams of 64 B in flight,
best of 5 interleaved rounds per path.${
    r.tools.wrk ? "" : "\n\n**wrk missing: TCP not measured.**"
  }${r.tools.haproxy ? "" : "\n\n**haproxy missing: no comparison.**"}

| load | path | req/s | p50 ms | p99 ms | MB/s | errors | proxy CPU µs/req (user + kernel) | machine CPU µs/req | Skiff RSS MiB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

| ratio | value | target |
| --- | --- | --- |
| nftables / HAProxy req/s, small, 32 conns | ${show(q.nftSmall32VsHaproxy)} | ≥ 1.3 |
| nftables / HAProxy req/s, small, 128 conns | ${show(q.nftSmall128VsHaproxy)} | ≥ 1.3 |
| nftables / HAProxy MB/s, 1 MiB, 32 conns | ${show(q.nftLarge32VsHaproxy)} | ≥ 1.0 |
| nftables / HAProxy MB/s, 1 MiB, 128 conns | ${show(q.nftLarge128VsHaproxy)} | ≥ 1.0 |
| nftables − HAProxy p99, small, 32 conns paced (same offered rate) | ${
    show(q.nftP99DeltaMsPaced)
  } ms | ≤ 0 |
| nftables − HAProxy p99, small, 32 conns saturated | ${show(q.nftP99DeltaMs32)} ms | |
| nftables − HAProxy p99, small, 128 conns saturated | ${show(q.nftP99DeltaMs128)} ms | |
| nftables / direct req/s, small, 32 conns | ${show(q.nftSmall32VsDirect)} | |
| userspace / HAProxy nbthread 1 req/s, small, 32 / 128 conns | ${
    show(q.userspaceSmall32VsHaproxy1)
  } / ${show(q.userspaceSmall128VsHaproxy1)} | |
| userspace / HAProxy nbthread 1 MB/s, 1 MiB, 32 conns | ${show(q.userspaceLarge32VsHaproxy1)} | |
| UDP echo packets/s: direct / userspace / nftables | ${r.udp.direct} / ${r.udp.userspace} / ${r.udp.nftables} | |
| nftables / direct UDP packets/s | ${show(q.nftUdpVsDirect)} | ≥ 0.9 |
| userspace / direct UDP packets/s | ${show(q.userspaceUdpVsDirect)} | |

Where the nftables path's gap to "direct" goes: both cross the same veth pairs and the node's
routing, forwarding and conntrack (conntrack runs for "direct" too: the node has NAT rules); what
nftables adds is per connection, not per byte — the \`nat\` hooks see only a connection's first
packet (a map lookup, \`numgen\`, the DNAT binding; the affinity set update when enabled), and every
later packet gets its addresses rewritten from the conntrack entry (a checksum update). Machine CPU
per small request, nftables − direct: ${
    show(
      round2(
        (r.tcp.small32.nftables?.machineCpuUs ?? NaN) - (r.tcp.small32.direct?.machineCpuUs ?? NaN),
      ),
    )
  } µs at 32 connections, ${
    show(
      round2(
        (r.tcp.small128.nftables?.machineCpuUs ?? NaN) -
          (r.tcp.small128.direct?.machineCpuUs ?? NaN),
      ),
    )
  } µs at 128 (noise on a shared machine is of the same order).
${
    r.profile
      ? `\nWhere the userspace proxy's CPU went (V8 \`--cpu-prof\` self time, share of busy samples):\n\n| function | % |\n| --- | --- |\n${
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
  if (role === "--serve-proxy") await serveProxy(a, parseBackends(b), parseBackends(c));
  else if (role === "--serve-nft") await serveNft(a, parseBackends(b), parseBackends(c));
  else if (role === "--udp-load") {
    const [target] = parseBackends(a);
    const rate = await udpRate(target, Number(b));
    ready(rate);
  } else {
    const prof = Deno.args.find((x) => x.startsWith("--cpu-prof-dir="))?.split("=")[1];
    const quick = Deno.args.includes("--quick");
    const r = await runProxyBench({
      skipTcp: Deno.args.includes("--udp-only"),
      cpuProfDir: prof,
      durationSeconds: quick ? 1 : undefined,
      udpSeconds: quick ? 1 : undefined,
      rounds: quick ? 1 : undefined,
      write: !quick && !Deno.args.includes("--udp-only"),
    });
    console.log(JSON.stringify(r.ratios));
  }
}
