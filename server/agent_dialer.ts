/**
 * How the API server reaches a node's agent, as kube-apiserver reaches a kubelet: the Node's
 * InternalIP (`status.addresses`) and the agent API port it reports in
 * `status.daemonEndpoints.kubeletEndpoint.Port`, with the server's credential for the agent API.
 * Every server → agent call (logs, exec/attach/port-forward relays, stats) goes through here.
 *
 * The agent API is plain HTTP today (`http://` and `ws://`); when it moves to TLS, only
 * {@linkcode AgentDialer.endpoint} (schemes) and the fetch/WebSocket client (trusting the
 * cluster CA) change.
 */
import type { KubeObject } from "../shared/api/object.ts";
import { ApiError, errorFromStatus, ServiceUnavailableError } from "../shared/errors.ts";

/**
 * The bearer token the server presents to agents. Today an agent accepts its configured
 * `apiToken`, which defaults to the join token it joined with; when the agent client token
 * (issue 6) lands, return it here — the one place the credential is chosen.
 */
export function agentCredential(secrets: { joinToken: string; agentClientToken?: string }): string {
  return secrets.agentClientToken ?? secrets.joinToken;
}

/** Where one node's agent API is. */
export interface AgentEndpoint {
  nodeName: string;
  /** `http://ADDRESS:PORT`. */
  httpUrl: string;
  /** `ws://ADDRESS:PORT`. */
  wsUrl: string;
  /** Bearer token the agent expects. */
  token: string;
}

/** Options of {@linkcode AgentDialer}. */
export interface AgentDialerOptions {
  /** Looks up a Node (e.g. from the server's watch cache); undefined when absent. */
  node: (name: string) => KubeObject | undefined;
  /** Token for the agent API, see {@linkcode agentCredential}. */
  token: string;
  /** Default time to wait for an agent's response headers; default 10 s. */
  timeoutMs?: number;
}

/** Resolves nodes to agent endpoints and calls them. */
export class AgentDialer {
  readonly #options: AgentDialerOptions;

  constructor(options: AgentDialerOptions) {
    this.#options = options;
  }

  /**
   * The agent endpoint of `nodeName`.
   *
   * @throws {ServiceUnavailableError} the node is unknown or has not reported an address/port.
   */
  endpoint(nodeName: string): AgentEndpoint {
    const node = this.#options.node(nodeName);
    if (!node) throw new ServiceUnavailableError(`node "${nodeName}" not found`);
    const addresses = (node.status?.addresses ?? []) as { type: string; address: string }[];
    const address = addresses.find((a) => a.type === "InternalIP")?.address ??
      addresses.find((a) => a.type === "Hostname")?.address;
    const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
    if (!address || !port) {
      throw new ServiceUnavailableError(
        `node "${nodeName}" has not reported its agent's address and port yet`,
      );
    }
    const host = address.includes(":") ? `[${address}]` : address;
    return {
      nodeName,
      httpUrl: `http://${host}:${port}`,
      wsUrl: `ws://${host}:${port}`,
      token: this.#options.token,
    };
  }

  /**
   * GETs `path` (with query) from the node's agent. A Status answer from the agent is thrown as
   * the matching ApiError; a transport failure or timeout (for the headers only — a streaming
   * body may last longer) as a 503. Aborting `signal` (the client went away) ends the request
   * and its body.
   *
   * @throws {ServiceUnavailableError} the agent cannot be reached.
   * @throws {ApiError} the agent answered with an error Status.
   */
  async get(
    nodeName: string,
    path: string,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<Response> {
    const endpoint = this.endpoint(nodeName);
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? 10_000;
    const aborter = new AbortController();
    const onAbort = () => aborter.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => aborter.abort(new Error("timed out")), timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${endpoint.httpUrl}${path}`, {
        headers: { authorization: `Bearer ${endpoint.token}` },
        signal: aborter.signal,
      });
    } catch (err) {
      options.signal?.removeEventListener("abort", onAbort);
      const reason = aborter.signal.aborted ? aborter.signal.reason : err;
      throw new ServiceUnavailableError(
        `error dialing the agent of node "${nodeName}": ${
          reason instanceof Error ? reason.message : String(reason)
        }`,
      );
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) {
      options.signal?.removeEventListener("abort", onAbort);
      throw await errorOf(res, nodeName);
    }
    // The listener stays for the body's life: a client leaving mid-stream ends the upstream.
    if (!res.body) options.signal?.removeEventListener("abort", onAbort);
    return res;
  }
}

async function errorOf(res: Response, nodeName: string): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  // Passed on as-is, an agent's 401 would tell kubectl that *its* credentials are wrong.
  if (res.status === 401 || res.status === 403) {
    return new ServiceUnavailableError(
      `the agent of node "${nodeName}" refused the server's credentials (${res.status})`,
    );
  }
  try {
    const status = JSON.parse(text);
    if (status?.kind === "Status") return errorFromStatus(status, res.status);
  } catch {
    // not a Status
  }
  return new ApiError(
    res.status >= 500 ? 503 : res.status,
    res.status >= 500 ? "ServiceUnavailable" : "BadRequest",
    `the agent of node "${nodeName}" answered ${res.status}: ${text.trim().slice(0, 200)}`,
  );
}
