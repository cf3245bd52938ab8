/**
 * Where the node-local DNS listens: the addresses the kubelet-style `--cluster-dns` names, or
 * else the gateway of the node's pod bridge, which by contract with the pod network is the first
 * address of the Node's `spec.podCIDR` (10.42.3.0/24 → 10.42.3.1).
 */
import { podGatewayAddress } from "../shared/ipv4_cidr.ts";

/** The pod gateway of a podCIDR (shared/ipv4_cidr.ts says which address); undefined if not IPv4. */
export function podCidrGateway(cidr: string): string | undefined {
  try {
    return podGatewayAddress(cidr.trim());
  } catch {
    return undefined;
  }
}

/** The DNS listen addresses: `clusterDns` if given, else the pod gateways of `podCIDRs`. */
export function dnsListenAddresses(clusterDns: string[], podCIDRs: string[]): string[] {
  if (clusterDns.length) return [...clusterDns];
  return podCIDRs.map(podCidrGateway).filter((a): a is string => !!a);
}
