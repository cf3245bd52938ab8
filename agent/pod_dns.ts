/**
 * A pod's name service files, as the kubelet makes them: `/etc/resolv.conf` from `dnsPolicy`
 * (ClusterFirst → the node-local DNS, the cluster search path and `ndots:5`; Default → the
 * node's own; None → only `dnsConfig`) with `dnsConfig` merged and trimmed to the resolver's
 * limits, and the managed `/etc/hosts` (the pod's own address and names, then `hostAliases`).
 * Both are written under the pod's directory and bind-mounted into every container.
 */

import {
  formatResolvConf,
  parseResolvConf,
  readResolvConf,
  type ResolvConf,
} from "../shared/resolv_conf.ts";

/** The pod fields these files depend on. */
export interface DnsPod {
  metadata: { name: string; namespace: string };
  spec: {
    hostNetwork?: boolean;
    hostname?: string;
    subdomain?: string;
    setHostnameAsFQDN?: boolean;
    dnsPolicy?: string;
    dnsConfig?: {
      nameservers?: string[];
      searches?: string[];
      options?: { name: string; value?: string }[];
    };
    hostAliases?: { ip: string; hostnames?: string[] }[];
  };
}

/** glibc's limits as the kubelet enforces them (validation.MaxDNSNameservers and friends). */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCHES = 32;
export const MAX_SEARCH_CHARS = 2048;

/** The pod's hostname and, when it has a subdomain, its domain (kubelet's rule). */
export function podHostnameAndDomain(
  pod: DnsPod,
  clusterDomain: string,
): { hostname: string; domain?: string } {
  // The pod name cut to a DNS label (63 characters), without a trailing '-' or '.'.
  let hostname = pod.spec.hostname ||
    pod.metadata.name.slice(0, 63).replace(/[-.]+$/, "");
  hostname = hostname.slice(0, 63);
  const domain = pod.spec.subdomain
    ? `${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}`
    : undefined;
  return { hostname, domain };
}

/** The hostname the pod's UTS namespace gets (the FQDN with `setHostnameAsFQDN`). */
export function podKernelHostname(pod: DnsPod, clusterDomain: string): string {
  const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
  if (!pod.spec.setHostnameAsFQDN || !domain) return hostname;
  const fqdn = `${hostname}.${domain}`;
  // Linux allows 64 characters; the kubelet refuses to start the pod beyond that.
  if (fqdn.length > 64) {
    throw new Error(
      `failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (64 characters is the max, ${fqdn.length} characters requested)`,
    );
  }
  return fqdn;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** How the pod's resolver is set up, and why (for the kubelet's warning events). */
export interface PodResolvConf {
  conf: ResolvConf;
  /** Kubelet-style warnings (`MissingClusterDNS`, `DNSConfigForming`) to record as events. */
  warnings: { reason: string; message: string }[];
}

/** Options of {@linkcode podResolvConf}. */
export interface PodResolvConfOptions {
  clusterDomain: string;
  /** The node-local DNS addresses (empty: unknown yet). */
  clusterDns: string[];
  /** The node's own resolver configuration (its resolv.conf). */
  host: ResolvConf;
}

/** The pod's resolv.conf, as kubelet's `GetPodDNS` builds it. */
export function podResolvConf(pod: DnsPod, o: PodResolvConfOptions): PodResolvConf {
  const warnings: PodResolvConf["warnings"] = [];
  const policy = pod.spec.dnsPolicy ?? "ClusterFirst";
  let type: "cluster" | "host" | "none";
  if (policy === "None") type = "none";
  else if (policy === "ClusterFirstWithHostNet") type = "cluster";
  else if (policy === "ClusterFirst") type = pod.spec.hostNetwork ? "host" : "cluster";
  else type = "host";
  if (type === "cluster" && o.clusterDns.length === 0) {
    warnings.push({
      reason: "MissingClusterDNS",
      message:
        `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
    });
    type = "host";
  }
  let conf: ResolvConf;
  if (type === "cluster") {
    const ns = pod.metadata.namespace;
    const d = o.clusterDomain;
    conf = {
      nameservers: [...o.clusterDns],
      searches: unique([`${ns}.svc.${d}`, `svc.${d}`, d, ...o.host.searches]),
      options: ["ndots:5"],
    };
  } else if (type === "host") {
    conf = {
      nameservers: [...o.host.nameservers],
      searches: [...o.host.searches],
      options: [...o.host.options],
    };
  } else {
    conf = { nameservers: [], searches: [], options: [] };
  }
  const extra = pod.spec.dnsConfig;
  if (extra) {
    conf.nameservers = unique([...conf.nameservers, ...(extra.nameservers ?? [])]);
    conf.searches = unique([...conf.searches, ...(extra.searches ?? [])]);
    conf.options = mergeOptions(conf.options, extra.options ?? []);
  }
  return { conf: fitLimits(conf, warnings), warnings };
}

/** Options by name, the pod's overriding the base's (kubelet's `mergeDNSOptions`). */
function mergeOptions(base: string[], pod: { name: string; value?: string }[]): string[] {
  const byName = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(":");
    byName.set(i < 0 ? o : o.slice(0, i), o);
  }
  for (const o of pod) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...byName.values()];
}

function fitLimits(conf: ResolvConf, warnings: PodResolvConf["warnings"]): ResolvConf {
  if (conf.nameservers.length > MAX_NAMESERVERS) {
    conf.nameservers = conf.nameservers.slice(0, MAX_NAMESERVERS);
    warnings.push({
      reason: "DNSConfigForming",
      message:
        `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${
          conf.nameservers.join(" ")
        }`,
    });
  }
  let searches = conf.searches;
  if (searches.length > MAX_SEARCHES) searches = searches.slice(0, MAX_SEARCHES);
  while (searches.join(" ").length > MAX_SEARCH_CHARS) searches = searches.slice(0, -1);
  if (searches.length !== conf.searches.length) {
    warnings.push({
      reason: "DNSConfigForming",
      message:
        `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${
          searches.join(" ")
        }`,
    });
    conf.searches = searches;
  }
  return conf;
}

/** Options of {@linkcode podHostsFile}. */
export interface PodHostsOptions {
  clusterDomain: string;
  /** The pod's addresses (its IP; the node's on the host network). */
  podIPs: string[];
  /** The node's /etc/hosts text (used for host-network pods). */
  hostHosts?: string;
}

/** The managed /etc/hosts of a pod (kubelet's `managedHostsFileContent`). */
export function podHostsFile(pod: DnsPod, o: PodHostsOptions): string {
  let out: string;
  if (pod.spec.hostNetwork) {
    out = "# Kubernetes-managed hosts file (host network).\n" + (o.hostHosts ?? "");
    if (out.length && !out.endsWith("\n")) out += "\n";
  } else {
    const { hostname, domain } = podHostnameAndDomain(pod, o.clusterDomain);
    out = [
      "# Kubernetes-managed hosts file.",
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      "fe00::0\tip6-localnet",
      "fe00::0\tip6-mcastprefix",
      "fe00::1\tip6-allnodes",
      "fe00::2\tip6-allrouters",
      "",
    ].join("\n");
    for (const ip of o.podIPs) {
      out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
    }
  }
  const aliases = pod.spec.hostAliases ?? [];
  if (aliases.length) {
    out += "\n# Entries added by HostAliases.\n";
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`;
  }
  return out;
}

/** The resolv.conf text of {@linkcode podResolvConf}'s result. */
export function renderPodResolvConf(r: PodResolvConf): string {
  return formatResolvConf(r.conf);
}

/** How the agent sets up pods' name service (from its configuration). */
export interface PodDnsSetup {
  clusterDomain: string;
  /** The node-local DNS addresses now (empty until the node's pod network is known). */
  clusterDns: () => string[];
  /** The node's resolv.conf (kubelet's `--resolv-conf`). */
  resolvConf: string;
}

/** systemd-resolved's file with the real upstream servers, behind its 127.0.0.53 stub. */
const SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf";

/**
 * The node's resolver configuration as pods may use it: like k3s, when /etc/resolv.conf only
 * names loopback resolvers (a systemd-resolved stub, unreachable from a pod's network), the
 * file systemd-resolved keeps with the real servers is used instead.
 */
export async function hostResolvConfForPods(path: string): Promise<ResolvConf> {
  const conf = await readResolvConf(path);
  const loopbackOnly = conf.nameservers.length > 0 &&
    conf.nameservers.every((ns) => ns.startsWith("127.") || ns === "::1");
  if (path === "/etc/resolv.conf" && loopbackOnly) {
    try {
      return parseResolvConf(await Deno.readTextFile(SYSTEMD_RESOLV_CONF));
    } catch { /* no systemd-resolved: keep what the file says */ }
  }
  return conf;
}

/**
 * Writes the pod's `etc-hosts` and `resolv.conf` into `dir` (in place: running containers have
 * them bind-mounted) and returns the Docker binds for `container` plus warnings to record. No
 * hosts file while the pod has no address (as the kubelet); a container that mounts a volume at
 * either path keeps its own.
 */
export async function writePodDnsFiles(
  pod: DnsPod,
  container: { volumeMounts?: { mountPath: string }[] },
  o: { dir: string; podIP: string; setup: PodDnsSetup },
): Promise<{ binds: string[]; warnings: PodResolvConf["warnings"] }> {
  await Deno.mkdir(o.dir, { recursive: true });
  const mounted = new Set((container.volumeMounts ?? []).map((m) => m.mountPath));
  const binds: string[] = [];
  const resolv = podResolvConf(pod, {
    clusterDomain: o.setup.clusterDomain,
    clusterDns: o.setup.clusterDns(),
    host: await hostResolvConfForPods(o.setup.resolvConf),
  });
  if (!mounted.has("/etc/resolv.conf")) {
    await Deno.writeTextFile(`${o.dir}/resolv.conf`, renderPodResolvConf(resolv));
    binds.push(`${o.dir}/resolv.conf:/etc/resolv.conf`);
  }
  if (o.podIP && !mounted.has("/etc/hosts")) {
    const hostHosts = pod.spec.hostNetwork
      ? await Deno.readTextFile("/etc/hosts").catch(() => "")
      : undefined;
    const text = podHostsFile(pod, {
      clusterDomain: o.setup.clusterDomain,
      podIPs: [o.podIP],
      hostHosts,
    });
    await Deno.writeTextFile(`${o.dir}/etc-hosts`, text);
    binds.push(`${o.dir}/etc-hosts:/etc/hosts`);
  }
  return { binds, warnings: resolv.warnings };
}
