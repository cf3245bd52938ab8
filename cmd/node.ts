/**
 * One node's whole job in one process (`skiff agent`): establishes trust with the server from the
 * join token, then runs the node agent and the service proxy side by side until the signal aborts.
 */
import { AgentConfig, runAgent } from "../agent/run.ts";
import { fetchTrustedCa } from "../agent/trust.ts";
import type { Logger } from "../shared/log.ts";
import { ensureDockerEngine } from "./docker_engine.ts";

/** Options of {@linkcode runNode}. */
export interface RunNodeOptions {
  logger: Logger;
  /** In-process transport to a server in the same process (`skiff up`). */
  fetch?: typeof fetch;
  /** The CA when already known (same process as the server). */
  caPem?: string;
}

/** Runs agent (and proxy) for one node; resolves when both have stopped. */
export async function runNode(
  input: AgentConfig,
  signal: AbortSignal,
  options: RunNodeOptions,
): Promise<void> {
  await ensureDockerEngine(input.dockerSocket, options.logger);
  const caData = input.caData ?? options.caPem ?? await fetchTrustedCa(input.server, input.token);
  const config = AgentConfig.parse({ ...input, caData });
  await runAgent(config, signal, { logger: options.logger, fetch: options.fetch });
}
