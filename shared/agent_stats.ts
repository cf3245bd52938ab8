/**
 * The wire contract of the node agent's `GET /stats` (agent/stats.ts produces it, the server's
 * metrics.k8s.io routes consume it): CPU and memory usage of the node and of each pod's running
 * containers, averaged over a short window.
 */

/** Usage of one container. */
export interface ContainerUsageSample {
  name: string;
  /** CPU in nanocores (1 core = 1e9) averaged over the window. */
  cpuNanoCores: number;
  /** Memory working set in bytes. */
  memoryBytes: number;
}

/** What `GET /stats` answers. */
export interface AgentStatsSummary {
  node: {
    name: string;
    cpuNanoCores: number;
    memoryBytes: number;
    /** RFC 3339 end of the window. */
    timestamp: string;
    windowSeconds: number;
  };
  pods: {
    namespace: string;
    name: string;
    containers: ContainerUsageSample[];
    timestamp: string;
    windowSeconds: number;
  }[];
}
