/**
 * The node-local DNS (cluster DNS without an add-on): records from Services and Endpoints per
 * the Kubernetes DNS specification, everything else forwarded to the node's resolvers.
 *
 * ```ts
 * import { DnsConfig, runNodeLocalDns } from "./dns/mod.ts";
 * await runNodeLocalDns(DnsConfig.parse({}), signal, { services, endpoints, addresses });
 * ```
 */
export { DnsConfig, type RunDnsOptions, runNodeLocalDns } from "./run.ts";
export { ClusterZone, DNS_SCHEMA_VERSION, reverseName } from "./cluster_zone.ts";
export { type ListenAddress, NodeLocalDns } from "./dns_server.ts";
export { Upstream, type UpstreamServer } from "./upstream.ts";
export { AnswerCache } from "./answer_cache.ts";
export { dnsListenAddresses, podCidrGateway } from "./listen_address.ts";
