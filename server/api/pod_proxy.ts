/**
 * The pod subresources served by the pod's node agent: `pods/log` (streamed from the agent's
 * `/containerLogs`), and `pods/exec`, `pods/attach`, `pods/portforward` (kubectl's WebSocket
 * relayed to the agent's `/exec`, `/attach`, `/portForward`). The server checks what
 * kube-apiserver and kubectl check first — the container name, the pod's phase, whether the
 * container has started — so users get Kubernetes' messages, then hands the stream to the agent.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { BadRequestError, MethodNotAllowedError } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import type { AgentDialer } from "../agent_dialer.ts";
import type { GenericRegistry } from "../registry/generic_registry.ts";
import { proxyWebSocket } from "./exec_proxy.ts";
import type { RequestInfo } from "./request_info.ts";
import type { SubresourceHandler } from "./rest.ts";

/** Options of {@linkcode podSubresources}. */
export interface PodSubresourceOptions {
  dialer: AgentDialer;
  logger?: Logger;
}

/** The log query parameters passed on to the agent (others are dropped). */
const LOG_PARAMS = [
  "follow",
  "previous",
  "timestamps",
  "tailLines",
  "sinceSeconds",
  "sinceTime",
  "limitBytes",
] as const;

/**
 * The handlers for `createApp`'s `subresources` map: `pods/log`, `pods/exec`, `pods/attach` and
 * `pods/portforward`.
 */
export function podSubresources(options: PodSubresourceOptions): Map<string, SubresourceHandler> {
  const logger = options.logger ?? silentLogger;
  const { dialer } = options;

  const log: SubresourceHandler = async (req, ri, registry) => {
    if (req.method !== "GET") throw new MethodNotAllowedError();
    const pod = podOf(registry, ri);
    const q = new URL(req.url).searchParams;
    validateLogQuery(q);
    const container = containerName(pod, q.get("container"));
    const previous = isTrue(q.get("previous"));
    if (!previous) assertStarted(pod, container);
    const upstream = new URLSearchParams();
    for (const p of LOG_PARAMS) {
      const v = q.get(p);
      if (v !== null && v !== "") upstream.set(p, v);
    }
    const { namespace, name } = pod.metadata;
    // kubectl hanging up cancels this response's body, which is the agent's body: that closes
    // the agent connection and its Docker log stream.
    const res = await dialer.get(
      nodeOf(pod, container),
      `/containerLogs/${enc(namespace!)}/${enc(name!)}/${enc(container)}?${upstream}`,
    );
    return new Response(res.body, {
      status: 200,
      headers: { "content-type": "text/plain", "cache-control": "no-cache" },
    });
  };

  const stream = (action: "exec" | "attach"): SubresourceHandler => async (req, ri, registry) => {
    const pod = podOf(registry, ri);
    const url = new URL(req.url);
    const container = containerName(pod, url.searchParams.get("container"));
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      const verb = action === "exec" ? "exec into" : "attach to";
      throw new BadRequestError(
        `cannot ${verb} a container in a completed pod; current phase is ${phase}`,
      );
    }
    assertStarted(pod, container);
    const endpoint = dialer.endpoint(nodeOf(pod, container));
    const { namespace, name } = pod.metadata;
    const path = `/${action}/${enc(namespace!)}/${enc(name!)}/${enc(container)}`;
    return await proxyWebSocket(req, {
      url: `${endpoint.wsUrl}${path}${url.search}`,
      token: endpoint.token,
    }, { logger });
  };

  const portForward: SubresourceHandler = async (req, ri, registry) => {
    const pod = podOf(registry, ri);
    if (pod.status?.phase !== "Running") {
      throw new BadRequestError(
        `unable to forward port because pod is not running. Current status=${
          pod.status?.phase ?? "Pending"
        }`,
      );
    }
    const endpoint = dialer.endpoint(nodeOf(pod));
    const { namespace, name } = pod.metadata;
    return await proxyWebSocket(req, {
      url: `${endpoint.wsUrl}/portForward/${enc(namespace!)}/${enc(name!)}${
        new URL(req.url).search
      }`,
      token: endpoint.token,
    }, { logger });
  };

  return new Map([
    ["pods/log", log],
    ["pods/exec", stream("exec")],
    ["pods/attach", stream("attach")],
    ["pods/portforward", portForward],
  ]);
}

function podOf(registry: GenericRegistry, ri: RequestInfo): KubeObject {
  if (ri.name === undefined) throw new MethodNotAllowedError();
  return registry.store.get(ri.namespace, ri.name);
}

/** The node running the pod; a pod not yet scheduled has nothing to stream. */
function nodeOf(pod: KubeObject, container?: string): string {
  const node = pod.spec?.nodeName;
  if (node) return node;
  if (container) throw waiting(pod, container, "ContainerCreating");
  throw new BadRequestError(`pod ${pod.metadata.name} does not have a host assigned`);
}

interface ContainerSpec {
  name: string;
}

/**
 * The container a request addresses: the `container` parameter, or the only container; with
 * several and none named, Kubernetes' "choose one of" message.
 */
export function containerName(pod: KubeObject, requested: string | null): string {
  const containers = (pod.spec?.containers ?? []) as ContainerSpec[];
  const inits = (pod.spec?.initContainers ?? []) as ContainerSpec[];
  const ephemeral = (pod.spec?.ephemeralContainers ?? []) as ContainerSpec[];
  const podName = pod.metadata.name;
  if (requested) {
    if ([...containers, ...inits, ...ephemeral].some((c) => c.name === requested)) return requested;
    throw new BadRequestError(`container ${requested} is not valid for pod ${podName}`);
  }
  if (containers.length === 1) return containers[0].name;
  const names = (list: ContainerSpec[]) => `[${list.map((c) => c.name).join(" ")}]`;
  const initPart = inits.length ? ` or one of the init containers: ${names(inits)}` : "";
  const ephemeralPart = ephemeral.length
    ? ` or one of the ephemeral containers: ${names(ephemeral)}`
    : "";
  throw new BadRequestError(
    `a container name must be specified for pod ${podName}, choose one of: ${
      names(containers)
    }${initPart}${ephemeralPart}`,
  );
}

/**
 * Refuses a container that has never run (waiting with no earlier termination), as the kubelet
 * does: `container "x" in pod "y" is waiting to start: ContainerCreating`.
 */
function assertStarted(pod: KubeObject, container: string): void {
  if (!pod.spec?.nodeName) throw waiting(pod, container, "ContainerCreating");
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ] as {
    name: string;
    state?: { waiting?: { reason?: string }; running?: unknown; terminated?: unknown };
    lastState?: { terminated?: unknown };
  }[];
  const status = statuses.find((s) => s.name === container);
  if (!status) throw waiting(pod, container, "ContainerCreating");
  if (status.state?.waiting && !status.lastState?.terminated) {
    throw waiting(pod, container, status.state.waiting.reason || "ContainerCreating");
  }
}

function waiting(pod: KubeObject, container: string, reason: string): BadRequestError {
  return new BadRequestError(
    `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`,
  );
}

function validateLogQuery(q: URLSearchParams): void {
  const positive = (name: string, min: number) => {
    const v = q.get(name);
    if (v === null || v === "") return;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new BadRequestError(
        `${name}: Invalid value: ${v}: must be ${
          min === 0 ? "greater than or equal to 0" : "greater than 0"
        }`,
      );
    }
  };
  positive("tailLines", 0);
  positive("sinceSeconds", 1);
  positive("limitBytes", 1);
  if (q.get("sinceSeconds") && q.get("sinceTime")) {
    throw new BadRequestError("at most one of sinceTime or sinceSeconds may be specified");
  }
  const since = q.get("sinceTime");
  if (since && Number.isNaN(Date.parse(since))) {
    throw new BadRequestError(`sinceTime: Invalid value: "${since}"`);
  }
}

function isTrue(v: string | null): boolean {
  return v === "true" || v === "1";
}

const enc = encodeURIComponent;
