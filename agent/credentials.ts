/**
 * A node's own credentials, in k3s's model. On first start the agent makes a random node
 * password (`<data-dir>/node-password`, 0600), trusts the server's CA by the join token's hash
 * (agent/trust.ts), and posts `{nodeName, nodePassword}` to `POST /skiff/v1/join` with the join
 * token. The server answers with the node's own token and the SHA-256 of the token it will present
 * to this node's agent API; the agent keeps server URL, CA, node name and both in
 * `<data-dir>/credentials.json` (0600) and uses them on every restart, so the join token is needed
 * only once (and may be revoked afterwards). When the server refuses the stored credentials (401)
 * and a join token is at hand, the agent joins again with the same node password, which rotates
 * its token.
 */
import { ApiError, errorFromStatus, type Status } from "../shared/errors.ts";
import { Backoff, delay } from "../shared/backoff.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { fetchTrustedCa, ServerUnreachableError } from "./trust.ts";

export { ServerUnreachableError };

/** The server's join endpoint (server/api/join_route.ts). */
export const JOIN_PATH = "/skiff/v1/join";

/** What `<data-dir>/credentials.json` holds. */
export interface NodeCredentials {
  /** API server URL. */
  server: string;
  /** PEM of the cluster CA (https servers). */
  caPem?: string;
  nodeName: string;
  /** The node's bearer token (role `node`). */
  token: string;
  /** SHA-256 (hex) of the token the server presents to this node's agent API. */
  agentClientTokenSha256: string;
  /** The cluster's Service CIDR (for the node's proxy), when the server told it. */
  serviceCidr?: string;
  /** The cluster CIDR (where node podCIDRs come from), when the server told it. */
  clusterCidr?: string;
}

/** Thrown when the node cannot get credentials for a reason the user must fix. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsError";
  }
}

/** Options of {@linkcode ensureNodeCredentials}. */
export interface EnsureCredentialsOptions {
  /** `--server`; optional once credentials are stored. */
  server?: string;
  /** `--token` (a join token); optional once credentials are stored. */
  joinToken?: string;
  nodeName: string;
  dataDir: string;
  /** The CA when already known (same process as the server). */
  caPem?: string;
  /** In-process transport to the server (`skiff up`). */
  fetch?: typeof fetch;
  logger?: Logger;
  /**
   * With a signal, a join that cannot reach the server (not yet up, network down) is retried with
   * back-off until it succeeds or the signal aborts; without one it fails at once.
   */
  signal?: AbortSignal;
}

/**
 * Returns usable credentials: the stored ones when they still match `server`/`nodeName` and the
 * server does not refuse them, else the result of a (re-)join with `joinToken`.
 */
export async function ensureNodeCredentials(
  options: EnsureCredentialsOptions,
): Promise<NodeCredentials> {
  const log = options.logger ?? silentLogger;
  const stored = await loadCredentials(options.dataDir);
  const usable = stored && stored.nodeName === options.nodeName &&
    (!options.server || sameServer(stored.server, options.server));
  if (stored && usable) {
    const verdict = await checkCredentials(stored, options.fetch);
    if (verdict !== "refused") return stored;
    if (!options.joinToken) {
      throw new CredentialsError(
        `the server refused this node's stored credentials (${
          credentialsPath(options.dataDir)
        }); start it with --token to join again`,
      );
    }
    log.warn("stored node credentials refused; joining again", { node: options.nodeName });
  }
  if (!options.joinToken || !options.server) {
    const missing = !options.server ? "--server" : "--token";
    throw new CredentialsError(
      `missing required flag: ${missing} (this node has no credentials in ${options.dataDir} yet)`,
    );
  }
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  for (;;) {
    try {
      const creds = await joinCluster({
        server: options.server,
        joinToken: options.joinToken,
        nodeName: options.nodeName,
        dataDir: options.dataDir,
        caPem: options.caPem,
        fetch: options.fetch,
      });
      log.info("joined the cluster", { server: creds.server, node: creds.nodeName });
      return creds;
    } catch (e) {
      if (!(e instanceof ServerUnreachableError) || !options.signal) throw e;
      const retryMs = Math.round(backoff.next());
      log.warn("cannot reach the server to join; retrying", { error: e.message, retryMs });
      if (!await delay(retryMs, options.signal)) throw e;
    }
  }
}

/** Joins: trusts the CA by the token's hash, posts the node password, stores the answer. */
export async function joinCluster(options: {
  server: string;
  joinToken: string;
  nodeName: string;
  dataDir: string;
  caPem?: string;
  fetch?: typeof fetch;
}): Promise<NodeCredentials> {
  const caPem = options.caPem ?? await fetchTrustedCa(options.server, options.joinToken);
  const password = await ensureNodePassword(options.dataDir);
  const { res, text } = await withFetch(caPem, options.fetch, async (f) => {
    try {
      const res = await f(new URL(JOIN_PATH, options.server), {
        method: "POST",
        headers: {
          authorization: `Bearer ${options.joinToken}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ nodeName: options.nodeName, nodePassword: password }),
        signal: AbortSignal.timeout(30_000),
      });
      return { res, text: await res.text() };
    } catch (e) {
      throw new ServerUnreachableError(
        `cannot reach ${options.server}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  });
  if (res.status >= 500) {
    throw new ServerUnreachableError(`the server answered ${res.status} to the join`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as Status | undefined)?.kind === "Status"
      ? errorFromStatus(body as Status, res.status)
      : new ApiError(res.status, "Unknown", text.slice(0, 200));
    const why = res.status === 401 ? " (the join token is unknown, revoked or expired)" : "";
    throw new CredentialsError(`cannot join the cluster: ${err.message}${why}`);
  }
  const answer = body as {
    token?: string;
    agentClientTokenSha256?: string;
    serviceCidr?: string;
    clusterCidr?: string;
  };
  if (!answer?.token || !answer.agentClientTokenSha256) {
    throw new CredentialsError("cannot join the cluster: the server's answer has no credentials");
  }
  const creds: NodeCredentials = {
    server: options.server,
    caPem,
    nodeName: options.nodeName,
    token: answer.token,
    agentClientTokenSha256: answer.agentClientTokenSha256,
  };
  if (answer.serviceCidr) creds.serviceCidr = answer.serviceCidr;
  if (answer.clusterCidr) creds.clusterCidr = answer.clusterCidr;
  await saveCredentials(options.dataDir, creds);
  return creds;
}

/** `<data-dir>/credentials.json`. */
export function credentialsPath(dataDir: string): string {
  return `${dataDir}/credentials.json`;
}

/** The stored credentials, or undefined. */
export async function loadCredentials(dataDir: string): Promise<NodeCredentials | undefined> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(credentialsPath(dataDir)));
    if (typeof parsed?.token !== "string" || typeof parsed?.server !== "string") return undefined;
    return parsed as NodeCredentials;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** Writes the credentials, readable by the owner only. */
export async function saveCredentials(dataDir: string, creds: NodeCredentials): Promise<void> {
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writePrivate(credentialsPath(dataDir), JSON.stringify(creds, null, 2) + "\n");
}

/** The node password, made on first use (32 random bytes, hex) and kept 0600. */
export async function ensureNodePassword(dataDir: string): Promise<string> {
  const path = `${dataDir}/node-password`;
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const password = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await writePrivate(path, password + "\n");
  return password;
}

/** Whether the token still works: "refused" only on 401 (an unreachable server is not that). */
async function checkCredentials(
  creds: NodeCredentials,
  injected: typeof fetch | undefined,
): Promise<"ok" | "refused" | "unknown"> {
  try {
    const status = await withFetch(creds.caPem, injected, async (f) => {
      const res = await f(
        new URL(`/api/v1/nodes/${encodeURIComponent(creds.nodeName)}`, creds.server),
        {
          headers: { authorization: `Bearer ${creds.token}` },
          signal: AbortSignal.timeout(10_000),
        },
      );
      await res.body?.cancel();
      return res.status;
    });
    return status === 401 ? "refused" : "ok";
  } catch {
    return "unknown";
  }
}

async function withFetch<T>(
  caPem: string | undefined,
  injected: typeof fetch | undefined,
  fn: (f: typeof fetch) => Promise<T>,
): Promise<T> {
  if (injected) return await fn(injected);
  const client = caPem ? Deno.createHttpClient({ caCerts: [caPem] }) : undefined;
  try {
    return await fn((input, init) => fetch(input, { ...init, client }));
  } finally {
    client?.close();
  }
}

function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return a === b;
  }
}

async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}
