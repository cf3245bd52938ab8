/**
 * Shared helpers for cross-component tests: an in-process API server on a temporary data dir
 * and a free loopback port, and small polling helpers. Every helper cleans up after itself so
 * Deno's sanitizers stay on.
 */
import { ApiClient } from "../shared/client/client.ts";
import { ServerConfig } from "../server/config.ts";
import { runServer } from "../server/run.ts";
import { InformerSet } from "../shared/informer_set.ts";
import { runNodeIpamController } from "../server/controllers/node_ipam.ts";
import { EventRecorder } from "../shared/events.ts";

/**
 * A cluster CIDR of its own for one test cluster: a random /22 (four nodes' /24s) in
 * 10.160.0.0–10.223.255.255, so that the Docker pod networks of test clusters running at the
 * same time on one engine do not overlap.
 */
export function randomClusterCidr(): string {
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  return `10.${160 + (a % 64)}.${(b % 64) * 4}.0/22`;
}

/** A server started by {@linkcode startTestServer}. */
export interface TestServer {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** The cluster CA; `httpClient` trusts it. */
  caPem: string;
  /** A Deno HTTP client trusting the cluster CA, for raw `fetch(url, { client })`. */
  httpClient: Deno.HttpClient;
  /** Admin bearer token. */
  token: string;
  joinToken: string;
  /** The cluster CIDR node podCIDRs come from (random per server unless given). */
  clusterCidr: string;
  dataDir: string;
  kubeconfigPath: string;
  /** In-process transport (no socket). */
  fetch: typeof fetch;
  /** Admin client over real HTTP. */
  client: ApiClient;
  /** Stops the server and removes its data dir (unless `keepDataDir`). */
  stop(): Promise<void>;
}

/** Options of {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** Reuse a data dir (restart tests); a new temp dir otherwise. */
  dataDir?: string;
  keepDataDir?: boolean;
  /** Run the scheduler and controllers (default true). */
  controllers?: boolean;
  serviceCidr?: string;
  /** Default: {@linkcode randomClusterCidr}. */
  clusterCidr?: string;
  nodeMonitorGracePeriodMs?: number;
  podEvictionTimeoutSeconds?: number;
  listen?: string;
  /** Run on a real etcd at this client URL instead of SQLite. */
  datastoreEndpoint?: string;
  /** Events each watch cache keeps (small values make 410 Gone easy to reach). */
  watchHistorySize?: number;
}

/** Starts a real API server in this process on 127.0.0.1 and a free port. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "skiff-test-" });
  const ac = new AbortController();
  const config = ServerConfig.parse({
    dataDir,
    listen: options.listen ?? "127.0.0.1:0",
    serviceCidr: options.serviceCidr ?? "127.43.0.0/16",
    clusterCidr: options.clusterCidr ?? randomClusterCidr(),
    controllers: options.controllers ?? true,
    nodeMonitorGracePeriodMs: options.nodeMonitorGracePeriodMs,
    podEvictionTimeoutSeconds: options.podEvictionTimeoutSeconds,
    watchHistorySize: options.watchHistorySize,
    datastoreEndpoint: options.datastoreEndpoint,
    logLevel: (Deno.env.get("SKIFF_TEST_LOG") as "debug" | undefined) ?? "error",
  });
  const server = await runServer(config, ac.signal);
  const client = new ApiClient({
    server: server.url,
    token: server.adminToken,
    caData: server.caPem,
  });
  const httpClient = Deno.createHttpClient({ caCerts: [server.caPem] });
  // Without the controllers, nodes still need a podCIDR before their agents start pods: run the
  // real node IPAM controller alone beside the server.
  const ipam = config.controllers ? undefined : (() => {
    const informers = new InformerSet(server.client);
    const recorder = new EventRecorder(server.client, { component: "controller-manager" });
    return Promise.all([
      informers.run(ac.signal),
      runNodeIpamController(
        { informers, recorder, clusterCidr: config.clusterCidr },
        ac.signal,
      ).finally(() => recorder.flush()),
    ]);
  })();
  return {
    url: server.url,
    caPem: server.caPem,
    httpClient,
    token: server.adminToken,
    joinToken: server.joinToken,
    clusterCidr: config.clusterCidr,
    dataDir,
    kubeconfigPath: server.kubeconfigPath,
    fetch: server.fetch,
    client,
    async stop() {
      httpClient.close();
      client.close();
      ac.abort();
      await ipam;
      await server.finished;
      if (!options.keepDataDir && !options.dataDir) {
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
  throw new Error(
    `timed out waiting for ${what}${lastError ? `: last error ${String(lastError)}` : ""}`,
  );
}

/** Raw authenticated request against a test server over HTTP. */
export async function api(
  server: Pick<TestServer, "url" | "token" | "httpClient">,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; accept?: string; token?: string | null } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? server.token : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.accept) headers.accept = options.accept;
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    body = typeof options.body === "string" || options.body instanceof Uint8Array
      ? options.body as BodyInit
      : JSON.stringify(options.body);
  }
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body,
    client: server.httpClient,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * A random /20 in 10.96.0.0/11 for ClusterIPs (the proxy adds them to this host's `lo`), so that
 * pods can reach Services (a 127/8 service CIDR is not reachable from inside pods).
 */
export function randomServiceCidr(): string {
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  return `10.${96 + (a % 32)}.${(b % 16) * 16}.0/20`;
}
