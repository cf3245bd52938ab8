/**
 * Runs `skiff server` as a real subprocess for tests that must kill or restart it: picks a free
 * loopback port, waits for /readyz, and reads the admin token from the data dir.
 */
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

/** A port that was free a moment ago on `hostname`. */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `deno run -A main.ts server` and waits until it is ready. */
export async function startServerProcess(options: {
  dataDir: string;
  port?: number;
  args?: string[];
}): Promise<ServerProcess> {
  const port = options.port ?? freePort();
  const mainTs = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      mainTs,
      "server",
      "--data-dir",
      options.dataDir,
      "--listen",
      `127.0.0.1:${port}`,
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
  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let httpClient: Deno.HttpClient | undefined;
  for (;;) {
    try {
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
    url,
    httpClient: client,
    token,
    dataDir: options.dataDir,
    child,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
  };
}
