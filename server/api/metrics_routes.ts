/**
 * The metrics.k8s.io/v1beta1 API `kubectl top` reads, computed on request as metrics-server
 * does: the server asks every node's agent for `GET /stats` (in parallel, with a short timeout,
 * each answer cached for a few seconds) and answers NodeMetrics / PodMetrics built by
 * metrics_api.ts. Nodes whose agent does not answer are left out, as metrics-server leaves out
 * nodes it could not scrape. Mounted through `createApp`'s `extraRoutes`, before the generic
 * `/apis/{group}/{version}/*` route (these kinds are never stored).
 */
import type { Context, Hono } from "hono";
import type { KubeObject } from "../../shared/api/object.ts";
import type { AgentStatsSummary as AgentStats } from "../../shared/agent_stats.ts";
import { NotFoundError } from "../../shared/errors.ts";
import { parseSelector } from "../../shared/labels.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import type { AgentDialer } from "../agent_dialer.ts";
import { authorize, type Authorizer, type User } from "../auth/authorizer.ts";
import {
  nodeMetrics,
  nodeMetricsList,
  type NodeUsage,
  podMetrics,
  podMetricsList,
  type PodUsage,
} from "./metrics_api.ts";
import { jsonResponse } from "./responses.ts";
import { USAGE_HISTORY_ANNOTATION, type UsageHistory } from "./usage_history.ts";
import { delay } from "../../shared/backoff.ts";

/** Options of {@linkcode metricsRoutes}. */
export interface MetricsRoutesOptions {
  dialer: AgentDialer;
  /** Every Node (from the watch cache). */
  nodes: () => KubeObject[];
  /** The pods of a namespace, or of all namespaces. */
  pods: (namespace?: string) => KubeObject[];
  /**
   * The server's authorizer (token role OR RBAC), so a Role granting `pods.metrics.k8s.io` lets
   * its ServiceAccount run `kubectl top`; default: the token role alone.
   */
  authorizer?: Authorizer;
  /** How long one agent's stats are reused; default 10 s (metrics-server's resolution). */
  cacheMs?: number;
  /** How long to wait for one agent; default 5 s (its first sample takes ~0.5 s). */
  timeoutMs?: number;
  /** Node usage history served with node metrics (see usage_history.ts). */
  history?: UsageHistory;
  logger?: Logger;
}

type App = Hono<{ Variables: { user: User } }>;

const GROUP = "metrics.k8s.io";
const VERSION = "v1beta1";
const BASE = `/apis/${GROUP}/${VERSION}`;

/** Returns the `extraRoutes` function mounting the metrics API on the server's app. */
export function metricsRoutes(options: MetricsRoutesOptions): (app: App) => void {
  const stats = new StatsCache(options);
  const history = options.history;
  return (app) => {
    const allowed = async (
      c: Context<{ Variables: { user: User } }>,
      resource: string,
      name?: string,
      namespace?: string,
    ) => {
      const verb = name ? "get" : "list";
      const ri = { group: GROUP, version: VERSION, resource, name, namespace };
      if (options.authorizer) {
        await options.authorizer(c.get("user"), { verb, ri, request: c.req.raw });
      } else authorize(c.get("user"), verb, ri);
    };

    app.get(`${BASE}/nodes`, async (c) => {
      await allowed(c, "nodes");
      const selector = labelSelector(c.req.query("labelSelector"));
      const items = (await nodeUsages(options.nodes(), stats, history))
        .filter((u) => selector(u.labels ?? {}));
      const list = nodeMetricsList(items);
      if (history) {
        for (const item of list.items) {
          item.metadata.annotations = {
            [USAGE_HISTORY_ANNOTATION]: JSON.stringify(history.get(item.metadata.name!)),
          };
        }
      }
      return jsonResponse(list);
    });
    app.get(`${BASE}/nodes/:name`, async (c) => {
      const name = c.req.param("name");
      await allowed(c, "nodes", name);
      const node = options.nodes().find((n) => n.metadata.name === name);
      const usage = node && (await nodeUsages([node], stats, history))[0];
      if (!usage) throw notFound("nodes", name);
      return jsonResponse(nodeMetrics(usage));
    });

    const listPods = async (c: Context<{ Variables: { user: User } }>, namespace?: string) => {
      await allowed(c, "pods", undefined, namespace);
      const selector = labelSelector(c.req.query("labelSelector"));
      const pods = options.pods(namespace).filter((p) => selector(p.metadata.labels ?? {}));
      return jsonResponse(podMetricsList(await podUsages(pods, stats)));
    };
    app.get(`${BASE}/pods`, (c) => listPods(c));
    app.get(`${BASE}/namespaces/:namespace/pods`, (c) => listPods(c, c.req.param("namespace")));
    app.get(`${BASE}/namespaces/:namespace/pods/:name`, async (c) => {
      const { namespace, name } = c.req.param();
      await allowed(c, "pods", name, namespace);
      const pod = options.pods(namespace).find((p) => p.metadata.name === name);
      const usage = pod && (await podUsages([pod], stats))[0];
      if (!usage) throw notFound("pods", name);
      return jsonResponse(podMetrics(usage));
    });
  };
}

function notFound(resource: "nodes" | "pods", name: string): NotFoundError {
  const plural = resource === "nodes" ? "nodemetrics" : "podmetrics";
  return new NotFoundError(
    { resource: plural, group: GROUP, name },
    `${plural}.${GROUP} "${name}" not found`,
  );
}

function labelSelector(text: string | undefined): (labels: Record<string, string>) => boolean {
  if (!text) return () => true;
  const selector = parseSelector(text);
  return (labels) => selector.matches(labels);
}

/**
 * Samples every node's usage into `history` every `everyMs` until `signal` aborts, so the
 * dashboard has the last minutes to draw when it opens (one stats request per node per period).
 */
export async function sampleNodeUsage(
  options: Pick<MetricsRoutesOptions, "dialer" | "nodes" | "cacheMs" | "timeoutMs" | "logger"> & {
    history: UsageHistory;
    everyMs?: number;
  },
  signal: AbortSignal,
): Promise<void> {
  const stats = new StatsCache(options);
  const every = options.everyMs ?? 60_000;
  while (!signal.aborted) {
    const nodes = options.nodes();
    options.history.retain(new Set(nodes.map((n) => n.metadata.name!)));
    await nodeUsages(nodes, stats, options.history).catch(() => {});
    await delay(every, signal);
  }
}

async function nodeUsages(
  nodes: KubeObject[],
  stats: StatsCache,
  history?: UsageHistory,
): Promise<NodeUsage[]> {
  const answers = await Promise.all(nodes.map((n) => stats.get(n.metadata.name!)));
  const out: NodeUsage[] = [];
  nodes.forEach((node, i) => {
    const s = answers[i]?.node;
    if (!s) return;
    out.push({
      name: node.metadata.name!,
      cpuNanoCores: s.cpuNanoCores,
      memoryBytes: s.memoryBytes,
      timestamp: new Date(s.timestamp),
      windowSeconds: s.windowSeconds,
      labels: node.metadata.labels,
    });
    history?.record(node.metadata.name!, [Date.parse(s.timestamp), s.cpuNanoCores, s.memoryBytes]);
  });
  return out;
}

async function podUsages(pods: KubeObject[], stats: StatsCache): Promise<PodUsage[]> {
  const nodeNames = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n) => n))] as string[];
  const answers = await Promise.all(nodeNames.map((n) => stats.get(n)));
  const byKey = new Map<string, AgentStats["pods"][number]>();
  for (const answer of answers) {
    for (const p of answer?.pods ?? []) byKey.set(`${p.namespace}/${p.name}`, p);
  }
  const out: PodUsage[] = [];
  for (const pod of pods) {
    const s = byKey.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
    // A pod the agent reports no running container of has no metrics yet, as in metrics-server.
    if (!s || s.containers.length === 0) continue;
    out.push({
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      containers: s.containers,
      timestamp: new Date(s.timestamp),
      windowSeconds: s.windowSeconds,
      labels: pod.metadata.labels,
    });
  }
  return out;
}

/** One agent's latest `/stats`, fetched at most once per `cacheMs` (concurrent callers share). */
type StatsOptions = Pick<MetricsRoutesOptions, "dialer" | "cacheMs" | "timeoutMs" | "logger">;

class StatsCache {
  readonly #options: StatsOptions;
  readonly #entries = new Map<string, { at: number; value: Promise<AgentStats | undefined> }>();
  readonly #logger: Logger;

  constructor(options: StatsOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  get(nodeName: string): Promise<AgentStats | undefined> {
    const now = Date.now();
    const cached = this.#entries.get(nodeName);
    if (cached && now - cached.at < (this.#options.cacheMs ?? 10_000)) return cached.value;
    const value = this.#fetch(nodeName);
    this.#entries.set(nodeName, { at: now, value });
    // Failures are not remembered: the next request asks again.
    value.then((v) => {
      if (!v && this.#entries.get(nodeName)?.value === value) this.#entries.delete(nodeName);
    });
    return value;
  }

  async #fetch(nodeName: string): Promise<AgentStats | undefined> {
    try {
      const res = await this.#options.dialer.get(nodeName, "/stats", {
        timeoutMs: this.#options.timeoutMs ?? 5_000,
      });
      return await res.json() as AgentStats;
    } catch (err) {
      this.#logger.debug("no stats from node", { node: nodeName, error: err });
      return undefined;
    }
  }
}
