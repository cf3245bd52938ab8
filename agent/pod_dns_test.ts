import { deepStrictEqual, equal, throws } from "node:assert/strict";
import {
  type DnsPod,
  podHostnameAndDomain,
  podHostsFile,
  podKernelHostname,
  podResolvConf,
} from "./pod_dns.ts";

function pod(spec: DnsPod["spec"] = {}, name = "web-7d4b9", namespace = "shop"): DnsPod {
  return { metadata: { name, namespace }, spec };
}

const host = { nameservers: ["192.168.1.1"], searches: ["lan"], options: ["edns0"] };
const o = { clusterDomain: "cluster.local", clusterDns: ["10.42.3.1"], host };

Deno.test("ClusterFirst: node-local DNS, the cluster search path + the host's, ndots:5", () => {
  const r = podResolvConf(pod(), o);
  deepStrictEqual(r.conf, {
    nameservers: ["10.42.3.1"],
    searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "lan"],
    options: ["ndots:5"],
  });
  deepStrictEqual(r.warnings, []);
});

Deno.test("dnsPolicy: host network, Default, None, ClusterFirstWithHostNet", () => {
  // ClusterFirst on the host network behaves as Default.
  deepStrictEqual(podResolvConf(pod({ hostNetwork: true }), o).conf, host);
  deepStrictEqual(podResolvConf(pod({ dnsPolicy: "Default" }), o).conf, host);
  deepStrictEqual(
    podResolvConf(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), o).conf
      .nameservers,
    ["10.42.3.1"],
  );
  deepStrictEqual(
    podResolvConf(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.2.3.4"] } }), o).conf,
    { nameservers: ["1.2.3.4"], searches: [], options: [] },
  );
});

Deno.test("dnsConfig is merged: servers and searches appended without duplicates, options by name", () => {
  const r = podResolvConf(
    pod({
      dnsConfig: {
        nameservers: ["10.42.3.1", "9.9.9.9"],
        searches: ["lan", "corp.example"],
        options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
      },
    }),
    o,
  );
  deepStrictEqual(r.conf, {
    nameservers: ["10.42.3.1", "9.9.9.9"],
    searches: [
      "shop.svc.cluster.local",
      "svc.cluster.local",
      "cluster.local",
      "lan",
      "corp.example",
    ],
    options: ["ndots:2", "edns0"],
  });
});

Deno.test("without a cluster DNS address ClusterFirst falls back to Default with MissingClusterDNS", () => {
  const r = podResolvConf(pod(), { ...o, clusterDns: [] });
  deepStrictEqual(r.conf, host);
  equal(r.warnings[0].reason, "MissingClusterDNS");
});

Deno.test("more than 3 nameservers are cut with a DNSConfigForming warning", () => {
  const r = podResolvConf(
    pod({ dnsConfig: { nameservers: ["1.1.1.1", "2.2.2.2", "3.3.3.3"] } }),
    o,
  );
  deepStrictEqual(r.conf.nameservers, ["10.42.3.1", "1.1.1.1", "2.2.2.2"]);
  equal(r.warnings[0].reason, "DNSConfigForming");
});

Deno.test("hostname: spec.hostname or the pod name; FQDN with a subdomain", () => {
  deepStrictEqual(podHostnameAndDomain(pod(), "cluster.local"), {
    hostname: "web-7d4b9",
    domain: undefined,
  });
  deepStrictEqual(
    podHostnameAndDomain(pod({ hostname: "db-0", subdomain: "db" }), "cluster.local"),
    { hostname: "db-0", domain: "db.shop.svc.cluster.local" },
  );
  equal(podHostnameAndDomain(pod({}, `${"a".repeat(62)}-b`), "c").hostname, "a".repeat(62));
  equal(
    podKernelHostname(pod({ hostname: "db-0", subdomain: "db", setHostnameAsFQDN: true }), "x"),
    "db-0.db.shop.svc.x",
  );
  throws(() =>
    podKernelHostname(
      pod({ hostname: "h".repeat(40), subdomain: "s".repeat(20), setHostnameAsFQDN: true }),
      "cluster.local",
    ), /too long/);
});

Deno.test("hosts file: the kubelet's header, the pod's own names, then hostAliases", () => {
  const text = podHostsFile(
    pod({
      hostname: "db-0",
      subdomain: "db",
      hostAliases: [{ ip: "10.0.0.5", hostnames: ["foo.local", "bar.local"] }],
    }),
    { clusterDomain: "cluster.local", podIPs: ["10.42.3.7"] },
  );
  equal(
    text,
    "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n" +
      "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n" +
      "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
      "10.42.3.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n" +
      "\n# Entries added by HostAliases.\n10.0.0.5\tfoo.local\tbar.local\n",
  );
  const hostNet = podHostsFile(pod({ hostNetwork: true }), {
    clusterDomain: "cluster.local",
    podIPs: ["192.168.1.20"],
    hostHosts: "127.0.0.1 localhost\n192.168.1.20 pi1",
  });
  equal(
    hostNet,
    "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.168.1.20 pi1\n",
  );
});
