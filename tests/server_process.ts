/**
 * Runs `skiff server` as a real subprocess for tests that must kill or restart it: it listens on
 * a loopback port it binds itself (port 0), which the harness reads from the kubeconfig the
 * server writes; then waits for /readyz and reads the admin token from the data dir.
 */
import YAML from "yaml";
import { randomClusterCidr } from "./test_utils.ts";

/** A server subprocess. */
export interface ServerProcess {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** Trusts the server's CA (read from its data dir). */
  httpClient: Deno.HttpClient;
  token: string;
  dataDir: string;
  child: Deno.ChildProcess;
  /** SIGKILL (no clean shutdown) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * A port that was free a moment ago on `hostname`, for what cannot bind port 0 itself: a pod's
 * hostPort, a port that must refuse connections, an external process told its port up front.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Resolves once `hostname:port` accepts a connection (a process just started listening), or
 * after `attempts` tries 100 ms apart, whichever comes first.
 */
export async function untilAccepting(hostname: string, port: number, attempts = 50): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      (await Deno.connect({ hostname, port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts `deno run -A main.ts server` and waits until it is ready. */
export async function startServerProcess(options: {
  dataDir: string;
  args?: string[];
  /** Flags for `deno run` itself (e.g. `--inspect=127.0.0.1:PORT` to profile the server). */
  denoFlags?: string[];
  /** A source tree holding the `main.ts` to run (default this one): A/B benchmarks. */
  sourceTree?: string;
}): Promise<ServerProcess> {
  // The kubeconfig names the port this run bound; one left by an earlier run must not be read.
  const kubeconfigPath = `${options.dataDir}/kubeconfig.yaml`;
  await Deno.remove(kubeconfigPath).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  const mainTs = options.sourceTree
    ? `${options.sourceTree}/main.ts`
    : new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(options.denoFlags ?? []),
      mainTs,
      "server",
      "--data-dir",
      options.dataDir,
      "--listen",
      "127.0.0.1:0",
      "--log-level",
      "error",
      // Test clusters on one Docker engine must not share pod subnets.
      ...(options.args?.includes("--cluster-cidr") ? [] : ["--cluster-cidr", randomClusterCidr()]),
      ...(options.args ?? []),
    ],
    stdout: "null",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  let httpClient: Deno.HttpClient | undefined;
  for (;;) {
    try {
      url ??= await serverUrlOf(kubeconfigPath);
      httpClient ??= Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(`${options.dataDir}/tls/ca.crt`)],
      });
      const r = await fetch(`${url}/readyz`, { client: httpClient });
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      httpClient?.close();
      child.kill("SIGKILL");
      await child.status;
      throw new Error("skiff server did not become ready within 30 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = (await Deno.readTextFile(`${options.dataDir}/admin-token`)).trim();
  const serverUrl = url!;
  const client = httpClient!;
  const end = async (signal: Deno.Signal) => {
    client.close();
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.status;
  };
  return {
    url: serverUrl,
    httpClient: client,
    token,
    dataDir: options.dataDir,
    child,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
  };
}

/** The server URL in a kubeconfig the server wrote (throws while it is not written yet). */
async function serverUrlOf(kubeconfigPath: string): Promise<string> {
  const config = YAML.parse(await Deno.readTextFile(kubeconfigPath));
  const server = config?.clusters?.[0]?.cluster?.server;
  if (typeof server !== "string") throw new Error(`no server URL in ${kubeconfigPath} yet`);
  return server;
}
