/**
 * `skiff up`: a whole single-node cluster in one process — the control plane, plus the node agent
 * and service proxy for this machine — and the lines telling the user what to type next.
 */
import type { AgentConfig } from "../agent/config.ts";
import { Logger } from "../shared/log.ts";
import type { ServerConfig } from "../server/config.ts";
import { runServer } from "../server/run.ts";
import { ensureDockerEngine } from "./docker_engine.ts";
import { runNode } from "./node.ts";

/** Options of {@linkcode runUp}. */
export interface UpOptions {
  server: ServerConfig;
  /** Agent settings; server, token and CA are filled in from the server. */
  agent: Omit<AgentConfig, "server" | "token" | "caData">;
  /** Where the hints go (stdout by default). */
  print?: (line: string) => void;
}

/** Runs server + agent + proxy until `signal` aborts. */
export async function runUp(options: UpOptions, signal: AbortSignal): Promise<void> {
  const logger = new Logger({ level: options.server.logLevel, component: "skiff" });
  // Fail early, before the control plane starts, when no container engine can be had.
  await ensureDockerEngine(options.agent.dockerSocket, logger);
  const server = await runServer(options.server, signal);
  const print = options.print ?? ((l: string) => console.log(l));
  print(`Skiff is up: API at ${server.url}, node "${options.agent.nodeName}".`);
  print(
    `Join more nodes with: skiff agent --server ${server.url} --token $(cat ${options.server.dataDir}/token)`,
  );
  print(`Next: export KUBECONFIG=${server.kubeconfigPath}; kubectl get nodes`);
  const node = runNode(
    {
      ...options.agent,
      server: server.url,
      token: server.joinToken,
    },
    signal,
    { logger, fetch: server.fetch, caPem: server.caPem },
  );
  await Promise.all([server.finished, node]);
}
