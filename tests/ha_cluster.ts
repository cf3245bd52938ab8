/**
 * A control plane of several `skiff server` processes on loopback addresses of their own
 * (127.R.S.11, .12, .13 with a random R.S per test, one port for all), for the HA tests and the
 * benchmark: an external etcd cluster of three members on the same addresses, servers started
 * and killed (SIGKILL, SIGSTOP/SIGCONT) individually.
 */
import { ApiClient } from "../shared/client/client.ts";
import { randomClusterCidr } from "./test_utils.ts";

/** Three loopback addresses no other test uses, and a port free on all of them. */
export function haAddresses(count = 3): { ips: string[]; port: number } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = 2 + Math.floor(Math.random() * 250);
    const s = Math.floor(Math.random() * 250);
    const ips = Array.from({ length: count }, (_, i) => `127.${r}.${s}.${11 + i}`);
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ips.every((ip) => portsFree(ip, [port, port + 1, port + 2]))) return { ips, port };
  }
  throw new Error("no free loopback addresses and port");
}

function portsFree(hostname: string, ports: number[]): boolean {
  const open: Deno.Listener[] = [];
  try {
    for (const port of ports) open.push(Deno.listen({ hostname, port }));
    return true;
  } catch {
    return false;
  } finally {
    for (const l of open) l.close();
  }
}

/** A running etcd cluster. */
export interface EtcdCluster {
  endpoints: string[];
  stop(): Promise<void>;
}

/** Three etcd members, client on `ip:port+1`, peer on `ip:port+2` of each address. */
export async function startEtcdCluster(
  binary: string,
  ips: string[],
  port: number,
): Promise<EtcdCluster> {
  const dir = await Deno.makeTempDir({ prefix: "skiff_etcd_ha_" });
  const token = `skiff-ha-${crypto.randomUUID().slice(0, 8)}`;
  const cluster = ips.map((ip, i) => `m${i}=http://${ip}:${port + 2}`).join(",");
  const children = ips.map((ip, i) =>
    new Deno.Command(binary, {
      args: [
        `--name=m${i}`,
        `--data-dir=${dir}/m${i}`,
        `--listen-client-urls=http://${ip}:${port + 1}`,
        `--advertise-client-urls=http://${ip}:${port + 1}`,
        `--listen-peer-urls=http://${ip}:${port + 2}`,
        `--initial-advertise-peer-urls=http://${ip}:${port + 2}`,
        `--initial-cluster=${cluster}`,
        `--initial-cluster-token=${token}`,
        "--initial-cluster-state=new",
        "--log-level=error",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const endpoints = ips.map((ip) => `http://${ip}:${port + 1}`);
  const stop = async () => {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone
      }
    }
    await Promise.all(children.map((c) => c.status));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 30_000;
  for (const endpoint of endpoints) {
    for (;;) {
      const healthy = await fetch(`${endpoint}/health`).then((r) => r.text()).then(
        (t) => t.includes('"true"'),
        () => false,
      );
      if (healthy) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`etcd at ${endpoint} not healthy within 30 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { endpoints, stop };
}

/** One server process. */
export interface HaServer {
  name: string;
  ip: string;
  url: string;
  dataDir: string;
  child: Deno.ChildProcess;
  /** Admin client (trusts the cluster CA). */
  client: ApiClient;
  httpClient: Deno.HttpClient;
  kill(signal?: Deno.Signal): void;
  /** SIGKILL (if running) and wait; the data dir stays (a restart may reuse it). */
  stop(): Promise<void>;
  /** {@linkcode HaServer.stop}, then remove the data dir: the end of a test. */
  dispose(): Promise<void>;
}

/** Starts `skiff server --server-name NAME --listen IP:PORT ARGS...` and waits for /readyz. */
export async function startHaServer(o: {
  name: string;
  ip: string;
  port: number;
  args: string[];
  dataDir?: string;
  clusterCidr?: string;
}): Promise<HaServer> {
  const dataDir = o.dataDir ?? await Deno.makeTempDir({ prefix: `skiff-ha-${o.name}-` });
  const mainTs = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      mainTs,
      "server",
      "--server-name",
      o.name,
      "--data-dir",
      dataDir,
      "--listen",
      `${o.ip}:${o.port}`,
      "--log-level",
      Deno.env.get("SKIFF_TEST_LOG") ?? "error",
      "--cluster-cidr",
      o.clusterCidr ?? randomClusterCidr(),
      ...o.args,
    ],
    stdout: "null",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const url = `https://${o.ip}:${o.port}`;
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  let httpClient: Deno.HttpClient | undefined;
  for (;;) {
    if (exited) throw new Error(`server ${o.name} exited during start`);
    try {
      httpClient ??= Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(`${dataDir}/tls/ca.crt`)],
      });
      const r = await fetch(`${url}/readyz`, { client: httpClient });
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      httpClient?.close();
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`server ${o.name} not ready within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = (await Deno.readTextFile(`${dataDir}/admin-token`)).trim();
  const caPem = await Deno.readTextFile(`${dataDir}/tls/ca.crt`);
  const client = new ApiClient({ server: url, token, caData: caPem });
  let stopped = false;
  const stop = async () => {
    if (stopped) return await child.status.then(() => {});
    stopped = true;
    httpClient?.close();
    client.close();
    try {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await child.status;
  };
  return {
    name: o.name,
    ip: o.ip,
    url,
    dataDir,
    child,
    client,
    httpClient: httpClient!,
    kill: (signal = "SIGKILL") => {
      try {
        child.kill(signal);
      } catch {
        // gone
      }
    },
    stop,
    dispose: async () => {
      await stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
