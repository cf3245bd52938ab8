/**
 * Per service port counters of the proxy (connections, active, bytes each way, errors, UDP
 * sessions) and their export: a plain snapshot for the metrics endpoint and the Prometheus text
 * exposition format. Counters are plain numbers bumped on the data path; nothing is computed
 * until a snapshot is taken.
 */

/** Identity of one proxied service port. */
export interface PortLabels {
  namespace: string;
  service: string;
  /** The service port's name (`""` when unnamed). */
  port: string;
  protocol: "TCP" | "UDP";
}

/** The counters of one service port. */
export class PortCounters {
  readonly labels: PortLabels;
  /** TCP connections accepted / UDP sessions opened, in total. */
  connectionsTotal = 0;
  /** TCP connections / UDP sessions open now. */
  active = 0;
  /** Bytes from clients to backends. */
  bytesIn = 0;
  /** Bytes from backends to clients. */
  bytesOut = 0;
  /** Backend connect failures (each attempt) and connections dropped for lack of a backend. */
  errors = 0;
  /** UDP sessions evicted because the session table was full. */
  udpEvictions = 0;

  constructor(labels: PortLabels) {
    this.labels = labels;
  }
}

/** One row of {@linkcode ProxyMetrics.snapshot}. */
export interface PortSnapshot extends PortLabels {
  connectionsTotal: number;
  active: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  udpSessions: number;
  udpEvictions: number;
}

function labelKey(l: PortLabels): string {
  return `${l.namespace}/${l.service}:${l.port}/${l.protocol}`;
}

/** The registry of every service port's counters on this node. */
export class ProxyMetrics {
  readonly #ports = new Map<string, PortCounters>();

  /** The counters for a service port, created on first use and kept across re-binds. */
  counters(labels: PortLabels): PortCounters {
    const key = labelKey(labels);
    let c = this.#ports.get(key);
    if (!c) {
      c = new PortCounters({ ...labels });
      this.#ports.set(key, c);
    }
    return c;
  }

  /** Drops a service port's counters (the service port is gone). */
  remove(labels: PortLabels): void {
    this.#ports.delete(labelKey(labels));
  }

  /** Drops the counters of every service port not in `keep`. */
  retain(keep: readonly PortLabels[]): void {
    const wanted = new Set(keep.map(labelKey));
    for (const key of [...this.#ports.keys()]) if (!wanted.has(key)) this.#ports.delete(key);
  }

  /** A copy of every counter, sorted by service port. */
  snapshot(): PortSnapshot[] {
    return [...this.#ports.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, c]) => ({
        ...c.labels,
        connectionsTotal: c.connectionsTotal,
        active: c.active,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        errors: c.errors,
        udpSessions: c.labels.protocol === "UDP" ? c.active : 0,
        udpEvictions: c.udpEvictions,
      }));
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

const FAMILIES: {
  name: string;
  type: "counter" | "gauge";
  help: string;
  of: keyof PortSnapshot;
}[] = [
  {
    name: "skiff_proxy_connections_total",
    type: "counter",
    help: "TCP connections accepted and UDP sessions opened per service port.",
    of: "connectionsTotal",
  },
  {
    name: "skiff_proxy_active_connections",
    type: "gauge",
    help: "TCP connections and UDP sessions open now per service port.",
    of: "active",
  },
  {
    name: "skiff_proxy_bytes_in_total",
    type: "counter",
    help: "Bytes forwarded from clients to backends.",
    of: "bytesIn",
  },
  {
    name: "skiff_proxy_bytes_out_total",
    type: "counter",
    help: "Bytes forwarded from backends to clients.",
    of: "bytesOut",
  },
  {
    name: "skiff_proxy_errors_total",
    type: "counter",
    help: "Failed backend connects and connections dropped for lack of a backend.",
    of: "errors",
  },
  {
    name: "skiff_proxy_udp_sessions",
    type: "gauge",
    help: "UDP sessions open now.",
    of: "udpSessions",
  },
  {
    name: "skiff_proxy_udp_evictions_total",
    type: "counter",
    help: "UDP sessions evicted because the session table was full.",
    of: "udpEvictions",
  },
];

/** Renders a snapshot in the Prometheus text exposition format (version 0.0.4). */
export function renderPrometheus(rows: readonly PortSnapshot[]): string {
  let out = "";
  for (const f of FAMILIES) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const r of rows) {
      if (f.of === "udpSessions" && r.protocol !== "UDP") continue;
      const labels = `namespace="${escapeLabel(r.namespace)}",service="${
        escapeLabel(r.service)
      }",port="${escapeLabel(r.port)}",protocol="${r.protocol}"`;
      out += `${f.name}{${labels}} ${r[f.of]}\n`;
    }
  }
  return out;
}

/** Renders the proxy's mode as a Prometheus info-style gauge (`skiff_proxy_mode{mode=…} 1`). */
export function renderProxyMode(mode: string): string {
  return `# HELP skiff_proxy_mode The node's Service proxy mode (nftables or userspace).\n` +
    `# TYPE skiff_proxy_mode gauge\nskiff_proxy_mode{mode="${escapeLabel(mode)}"} 1\n`;
}
