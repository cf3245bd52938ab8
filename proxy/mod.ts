/**
 * The service proxy (kube-proxy's userspace job): `runProxy()` runs it for one node; the
 * forwarders and the counters are exported for embedding, benchmarks and the metrics endpoint.
 *
 * ```ts
 * import { ProxyConfig, ProxyMetrics, renderPrometheus, runProxy } from "./proxy/mod.ts";
 * const metrics = new ProxyMetrics();
 * await runProxy(ProxyConfig.parse({ server, token, nodeAddress }), signal, { metrics });
 * // elsewhere: renderPrometheus(metrics.snapshot())
 * ```
 */
export { FAILED_TO_BIND_PORT, ProxyConfig, type ProxyConfigInput, runProxy } from "./run.ts";
export type { RunProxyOptions } from "./run.ts";
export { type PortSnapshot, ProxyMetrics, renderPrometheus } from "./metrics.ts";
export { TcpForwarder, type TcpForwarderOptions } from "./tcp_forwarder.ts";
export { UdpForwarder, type UdpForwarderOptions } from "./udp_forwarder.ts";
export type { Backend } from "./round_robin.ts";
