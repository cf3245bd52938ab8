/**
 * Helpers for the agent's end-to-end tests: run a real agent (in-process or as a `deno run`
 * subprocess) against a test server and the real Docker engine, build pod manifests, wait for pod
 * states, and remove every container a test node left behind.
 */

import { DockerRuntime } from "../agent/docker_runtime.ts";
import { runAgent } from "../agent/run.ts";
import {
  type AgentConfig,
  AgentConfig as AgentConfigSchema,
  type AgentConfigInput,
} from "../agent/config.ts";
import type { Pod } from "../agent/pod_types.ts";
import { podNetworkName } from "../agent/pod_network.ts";
import { HostGateway } from "../agent/host_gw.ts";
import { unmountAll } from "../agent/shared_mount.ts";
import { NetworkPolicyFirewall } from "../agent/network_policy_firewall.ts";
import type { ApiClient } from "../shared/client/client.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { EVENTS, NAMESPACES, NODES, PODS, SECRETS } from "../shared/client/refs.ts";
import { isNotFound } from "../shared/errors.ts";
import { Logger } from "../shared/log.ts";
import { ensureTestImages, type TestImages } from "./images.ts";
import { startTestServer, type TestServer, type TestServerOptions, waitFor } from "./test_utils.ts";

/** A running test agent. */
export interface TestAgent {
  config: AgentConfig;
  /** Stops the agent (its containers keep running unless `cleanup`). */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
}

/** Fast back-offs and periods so the agent tests take seconds. */
export const FAST: Partial<AgentConfigInput> = {
  backoffInitialMs: 1000,
  backoffMaxMs: 8000,
  relistMs: 2000,
  leaseRenewMs: 2000,
  statusCheckMs: 2000,
  apiPort: 0,
};

/** A unique node name for one test. */
export function testNodeName(prefix = "agent"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The full config of a test agent for `server`. */
export async function testAgentConfig(
  server: { url: string; token: string; caPem?: string; clusterCidr?: string },
  overrides: Partial<AgentConfigInput> = {},
): Promise<AgentConfig> {
  const images = await ensureTestImages();
  const dataDir = overrides.dataDir ?? await Deno.makeTempDir({ prefix: "skiff-agent-" });
  return AgentConfigSchema.parse({
    server: server.url,
    token: server.token,
    caData: server.caPem,
    nodeName: testNodeName(),
    nodeAddress: "127.0.0.11",
    clusterCidr: server.clusterCidr,
    pauseImage: images.pause,
    ...FAST,
    ...overrides,
    dataDir,
  });
}

/**
 * Removes every container labelled with `nodeName`, then its pod network and firewall chains
 * (host-gw and NetworkPolicy ones; an agent leaves them when it stops) — tests' `finally`.
 */
export async function removeNodeContainers(nodeName: string): Promise<void> {
  const rt = new DockerRuntime({ nodeName });
  for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
  await rt.removeNetwork(podNetworkName(nodeName));
  await new HostGateway({ nodeName }).teardown();
  await new NetworkPolicyFirewall({ nodeName }).teardown();
}

/** Runs an agent in this process. */
export function startAgent(config: AgentConfig, options: { logger?: Logger } = {}): TestAgent {
  const ac = new AbortController();
  const level = Deno.env.get("SKIFF_TEST_LOG") as "debug" | undefined;
  const logger = options.logger ?? (level ? new Logger({ level }) : undefined);
  const done = runAgent(config, ac.signal, { logger });
  return {
    config,
    async stop(opts = {}) {
      ac.abort();
      await done;
      if (opts.cleanup ?? true) {
        await removeNodeContainers(config.nodeName);
        // A pod left running with mountPropagation keeps a shared mount in its directory.
        await unmountAll(config.dataDir).catch(() => {});
        await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** Runs an agent as a separate `deno run` process (for SIGKILL tests and the benchmark). */
export function startAgentProcess(
  config: AgentConfig,
  options: { v8Flags?: string } = {},
): Deno.ChildProcess {
  const script = new URL("./fixtures/agent_main.ts", import.meta.url).pathname;
  const level = Deno.env.get("SKIFF_TEST_LOG");
  const flags = options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : [];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...flags, script, JSON.stringify(config)],
    stdin: "null",
    stdout: "null",
    stderr: level ? "inherit" : "null",
  }).spawn();
}

/** A pod bound to `nodeName` (the scheduler is bypassed). */
export function boundPod(
  name: string,
  nodeName: string,
  spec: Partial<Pod["spec"]>,
  metadata: Record<string, unknown> = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: "", ...metadata },
    spec: { containers: [], terminationGracePeriodSeconds: 5, ...spec, nodeName },
  } as Pod;
}

/**
 * Labels a namespace `privileged` for Pod Security (enforce and warn), as an admin does before
 * running pods that need host ports or host paths; the cluster default is `baseline`.
 */
export async function allowPrivilegedPods(client: ApiClient, namespace = "default"): Promise<void> {
  await client.patch(NAMESPACES, namespace, {
    metadata: {
      labels: {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "privileged",
      },
    },
  }, { type: "merge" });
}

/** Creates a pod, returning it as stored. */
export function createPod(client: ApiClient, pod: Pod): Promise<Pod> {
  // uid is assigned by the server.
  const { uid: _uid, ...metadata } = pod.metadata;
  return client.create<Pod>(PODS, { ...pod, metadata } as unknown as Pod);
}

/** Waits until `check(pod)` holds for the stored pod; returns it. */
export function waitForPod(
  client: ApiClient,
  name: string,
  what: string,
  check: (p: Pod) => boolean,
  timeoutMs = 30_000,
): Promise<Pod> {
  return waitFor(`pod ${name} ${what}`, async () => {
    const p = await client.get<Pod>(PODS, name, { namespace: "default" });
    return check(p) ? p : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

/** Waits until the pod's first container is waiting with `reason` (e.g. CreateContainerConfigError). */
export function waitForWaitingReason(
  client: ApiClient,
  name: string,
  reason: string,
  timeoutMs = 30_000,
): Promise<Pod> {
  return waitForPod(
    client,
    name,
    reason,
    (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === reason,
    timeoutMs,
  );
}

/** An Event as the agent records it about a pod. */
export interface PodEvent extends KubeObject {
  reason: string;
  message: string;
  type: string;
  involvedObject: { name: string };
}

/** Waits for an Event with `reason` about pod `pod` in "default"; returns it. */
export function eventFor(client: ApiClient, pod: string, reason: string): Promise<PodEvent> {
  return waitFor(`event ${reason} on ${pod}`, async () => {
    const list = await client.list<PodEvent>(EVENTS, { namespace: "default" });
    return list.items.find((e) => e.involvedObject.name === pod && e.reason === reason);
  });
}

/** Creates an Opaque Secret `name` in "default" holding `data` (plain text, encoded here). */
export async function createSecret(
  client: ApiClient,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await client.create(SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "default" },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
  });
}

/** Waits until the pod is gone from the API. */
export function waitForPodGone(client: ApiClient, name: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(`pod ${name} gone`, async () => {
    try {
      await client.get<Pod>(PODS, name, { namespace: "default" });
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  }, { timeoutMs, intervalMs: 100 });
}

/** The test server's admin client (closed by the server's `stop()`). */
export function clientFor(server: { client: ApiClient }): ApiClient {
  return server.client;
}

/** Everything an agent end-to-end test starts with. */
export interface AgentTest {
  images: TestImages;
  server: TestServer;
  client: ApiClient;
  config: AgentConfig;
  agent: TestAgent;
  /** Stops the agent (removing its containers) and the server. */
  stop(): Promise<void>;
}

/**
 * Builds the test images, starts a server (controllers off unless asked) and one in-process
 * agent with the fast test settings plus `overrides`.
 */
export async function startAgentTest(
  overrides: Partial<AgentConfigInput> = {},
  serverOptions: TestServerOptions = { controllers: false },
): Promise<AgentTest> {
  const images = await ensureTestImages();
  const server = await startTestServer(serverOptions);
  const config = await testAgentConfig(server, overrides);
  const agent = startAgent(config);
  return {
    images,
    server,
    client: server.client,
    config,
    agent,
    async stop() {
      await agent.stop();
      await server.stop();
    },
  };
}

/** A shell command that runs until SIGTERM and then exits 0 at once. */
export const SLEEP_UNTIL_TERM = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/** The agent API's base URL for a node (`http://<InternalIP>:<daemonEndpoints port>`). */
export async function agentApiBase(client: ApiClient, nodeName: string): Promise<string> {
  const node = await waitFor("node with its agent API port", async () => {
    const n = await client.get(NODES, nodeName).catch(() => undefined);
    return n?.status?.daemonEndpoints?.kubeletEndpoint?.Port ? n : undefined;
  });
  const ip = node.status.addresses.find((a: { type: string }) => a.type === "InternalIP").address;
  return `http://${ip}:${node.status.daemonEndpoints.kubeletEndpoint.Port}`;
}
