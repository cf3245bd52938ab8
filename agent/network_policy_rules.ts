/**
 * What the NetworkPolicies mean for this node's pods, as data: for each local pod that a policy
 * isolates, per direction, the list of allowed (peer CIDR, protocol, port range) triples — the
 * union of the rules of every policy of that type selecting it (Kubernetes' semantics: pods by
 * label in the policy's namespace, namespaces by label, both combined, ipBlocks less their
 * excepts; ports by number, `endPort` range or container port name). Pure functions over the
 * informers' caches; agent/network_policy_firewall.ts turns the result into iptables chains.
 */
import type { LabelSelector } from "../shared/api/meta.ts";
import {
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  policyTypesOf,
} from "../shared/api/network_policy.ts";
import { formatIpv4Net, type Ipv4Net, ipv4NetWithin, parseIpv4Net } from "../shared/ipv4_cidr.ts";
import { type Selector, selectorFromLabelSelector } from "../shared/labels.ts";

/** The facts of a pod the rules are computed from (the agent's trimmed all-pods cache). */
export interface PolicyPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The pod's IPv4 address; pods without one are neither targets nor peers yet. */
  ip: string;
  nodeName: string;
  /** Container ports by name (named ports in policies). */
  ports: { name: string; port: number; protocol: string }[];
}

/** A namespace's labels. */
export interface PolicyNamespace {
  name: string;
  labels: Record<string, string>;
}

/** One allowed flow: from/to `cidr` (any when undefined), `protocol` (any) and `ports`. */
export interface Allow {
  cidr?: string;
  protocol?: string;
  /** `80` or `8000:9000` (any port of the protocol when undefined). */
  ports?: string;
}

/** A local pod's firewall: undefined for a direction it is not isolated in. */
export interface PodFirewall {
  /** `namespace/name`. */
  key: string;
  ip: string;
  ingress?: Allow[];
  egress?: Allow[];
}

/** What {@linkcode desiredPodFirewalls} works from. */
export interface PolicyInputs {
  policies: readonly NetworkPolicy[];
  pods: readonly PolicyPod[];
  namespaces: readonly PolicyNamespace[];
  /** This node: only its pods are targets here. */
  nodeName: string;
  /** Where pods' DNS queries go (the node-local DNS): see {@linkcode dnsPeerPods}. */
  dnsAddresses?: readonly string[];
}

/** CoreDNS's container ports, as k3s and kubeadm deploy it. */
const DNS_POD_PORTS: PolicyPod["ports"] = [
  { name: "dns", port: 53, protocol: "UDP" },
  { name: "dns-tcp", port: 53, protocol: "TCP" },
  { name: "metrics", port: 9153, protocol: "TCP" },
];

/**
 * The cluster DNS as egress rules see it. On Kubernetes the DNS runs as pods labelled
 * `k8s-app: kube-dns` in kube-system, and policies let pods reach it by selecting those pods
 * (often with `kubernetes.io/metadata.name: kube-system` as the namespace selector); Skiff's DNS
 * is node-local, at `addresses`. Egress peers are matched against one such pod per address, with
 * CoreDNS's ports, so that those policies allow DNS here as they do there.
 */
export function dnsPeerPods(addresses: readonly string[]): PolicyPod[] {
  return addresses.filter((ip) => !ip.includes(":")).map((ip) => ({
    namespace: "kube-system",
    name: `node-local-dns-${ip}`,
    labels: { "k8s-app": "kube-dns" },
    ip,
    nodeName: "",
    ports: DNS_POD_PORTS,
  }));
}

function selectorOf(ls: LabelSelector | undefined): Selector {
  // A missing selector in a peer means "not this dimension"; callers pass `{}` for "all".
  return selectorFromLabelSelector(ls ?? {});
}

/** IPv4 CIDR `cidr` less each of `except`, as a sorted list of CIDRs (IPv6 blocks: none). */
export function subtractCidrs(cidr: string, except: readonly string[] = []): string[] {
  const base = parseIpv4Net(cidr);
  if (!base) return [];
  let parts: Ipv4Net[] = [base];
  for (const text of except) {
    const ex = parseIpv4Net(text);
    if (!ex) continue;
    const next: Ipv4Net[] = [];
    for (const p of parts) {
      if (ipv4NetWithin(p, ex)) continue; // wholly removed
      if (!ipv4NetWithin(ex, p)) {
        next.push(p); // disjoint
        continue;
      }
      // Split p down to ex: at each level keep the half that does not hold ex.
      let cur = p;
      while (cur.prefix < ex.prefix) {
        const prefix = cur.prefix + 1;
        const low = { base: cur.base, prefix };
        const high = { base: (cur.base + 2 ** (32 - prefix)) >>> 0, prefix };
        const [keep, into] = ipv4NetWithin(ex, low) ? [high, low] : [low, high];
        next.push(keep);
        cur = into;
      }
    }
    parts = next;
  }
  return parts.sort((a, b) => a.base - b.base || a.prefix - b.prefix).map(formatIpv4Net);
}

/** The pods (with their namespace's labels at hand) a peer matches, for a policy in `ns`. */
function peerPods(
  peer: NetworkPolicyPeer,
  ns: string,
  pods: readonly PolicyPod[],
  nsLabels: Map<string, Record<string, string>>,
): PolicyPod[] {
  const podSel = selectorOf(peer.podSelector);
  if (peer.namespaceSelector) {
    const nsSel = selectorOf(peer.namespaceSelector);
    return pods.filter((p) =>
      nsLabels.has(p.namespace) && nsSel.matches(nsLabels.get(p.namespace)) &&
      podSel.matches(p.labels)
    );
  }
  return pods.filter((p) => p.namespace === ns && podSel.matches(p.labels));
}

/** The port ranges a policy port allows on a pod (named ports resolve on that pod). */
function portsOn(
  port: NetworkPolicyPort,
  pod: PolicyPod | undefined,
): { protocol: string; ports?: string }[] {
  const protocol = port.protocol ?? "TCP";
  if (port.port === undefined) return [{ protocol }];
  if (typeof port.port === "number") {
    const end = port.endPort !== undefined && port.endPort > port.port ? `:${port.endPort}` : "";
    return [{ protocol, ports: `${port.port}${end}` }];
  }
  // A name: the pod's container port of that name and protocol; nothing where it has none.
  return (pod?.ports ?? [])
    .filter((p) => p.name === port.port && p.protocol === protocol)
    .map((p) => ({ protocol, ports: String(p.port) }));
}

function hostCidr(ip: string): string {
  return `${ip}/32`;
}

/**
 * The allows of one rule for `target` (ingress: the local pod; its named ports resolve on it) or
 * from `target` (egress: named ports resolve on each destination pod).
 */
function ruleAllows(
  rule: { ports?: NetworkPolicyPort[]; peers?: NetworkPolicyPeer[] },
  dir: "ingress" | "egress",
  ctx: {
    ns: string;
    target: PolicyPod;
    pods: readonly PolicyPod[];
    nsLabels: Map<string, Record<string, string>>;
  },
): Allow[] {
  const ports = rule.ports ?? [];
  const out: Allow[] = [];
  // Peers as addresses (`undefined` = any) with the pod whose named ports apply, if one.
  // `namedOnly`: an expansion of "any destination" used only to resolve named egress ports.
  const peers: { cidr?: string; pod?: PolicyPod; namedOnly?: boolean }[] = [];
  if ((rule.peers ?? []).length === 0) {
    peers.push({});
    if (dir === "egress") {
      for (const p of ctx.pods) peers.push({ cidr: hostCidr(p.ip), pod: p, namedOnly: true });
    }
  } else {
    for (const peer of rule.peers!) {
      if (peer.ipBlock) {
        for (const c of subtractCidrs(peer.ipBlock.cidr, peer.ipBlock.except)) {
          peers.push({ cidr: c });
        }
        continue;
      }
      for (const p of peerPods(peer, ctx.ns, ctx.pods, ctx.nsLabels)) {
        peers.push({ cidr: hostCidr(p.ip), pod: p });
      }
    }
  }
  for (const peer of peers) {
    if (ports.length === 0) {
      if (!peer.namedOnly) out.push({ cidr: peer.cidr });
      continue;
    }
    for (const port of ports) {
      const named = typeof port.port === "string";
      if (peer.namedOnly && !named) continue;
      // Ingress: a named port is the target pod's. Egress: the destination pod's, so an
      // address that is not a pod never matches a named port.
      const on = dir === "ingress" ? ctx.target : peer.pod;
      if (named && dir === "egress" && !on) continue;
      for (const r of portsOn(port, on)) {
        out.push({ cidr: peer.cidr, protocol: r.protocol, ports: r.ports });
      }
    }
  }
  return out;
}

function allowKey(a: Allow): string {
  return `${a.cidr ?? ""}|${a.protocol ?? ""}|${a.ports ?? ""}`;
}

function dedupe(list: Allow[]): Allow[] {
  const seen = new Map<string, Allow>();
  for (const a of list) seen.set(allowKey(a), a);
  return [...seen.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, a]) => a);
}

/**
 * The firewall of every local pod some policy isolates, sorted by pod key. Pods no policy
 * selects are absent: they are not isolated.
 */
export function desiredPodFirewalls(inputs: PolicyInputs): PodFirewall[] {
  const nsLabels = new Map(inputs.namespaces.map((n) => [n.name, n.labels]));
  const local = inputs.pods.filter((p) => p.nodeName === inputs.nodeName);
  // Destinations also include the node-local DNS, standing in for the cluster's DNS pods.
  const destinations = [...inputs.pods, ...dnsPeerPods(inputs.dnsAddresses ?? [])];
  const out: PodFirewall[] = [];
  for (const target of local) {
    let ingress: Allow[] | undefined;
    let egress: Allow[] | undefined;
    for (const np of inputs.policies) {
      const ns = np.metadata.namespace ?? "";
      if (ns !== target.namespace || !np.spec?.podSelector) continue;
      if (!selectorOf(np.spec.podSelector).matches(target.labels)) continue;
      const types = policyTypesOf(np);
      const ctx = { ns, target, pods: inputs.pods, nsLabels };
      if (types.ingress) {
        ingress ??= [];
        for (const rule of np.spec.ingress ?? []) {
          ingress.push(...ruleAllows({ ports: rule.ports, peers: rule.from }, "ingress", ctx));
        }
      }
      if (types.egress) {
        egress ??= [];
        const to = { ...ctx, pods: destinations };
        for (const rule of np.spec.egress ?? []) {
          egress.push(...ruleAllows({ ports: rule.ports, peers: rule.to }, "egress", to));
        }
      }
    }
    if (!ingress && !egress) continue;
    out.push({
      key: `${target.namespace}/${target.name}`,
      ip: target.ip,
      ingress: ingress && dedupe(ingress),
      egress: egress && dedupe(egress),
    });
  }
  return out.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
