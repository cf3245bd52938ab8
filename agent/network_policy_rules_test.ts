import assert from "node:assert/strict";
import type { NetworkPolicy } from "../shared/api/network_policy.ts";
import {
  desiredPodFirewalls,
  type PolicyNamespace,
  type PolicyPod,
  subtractCidrs,
} from "./network_policy_rules.ts";

const NODE = "hnp-a";

function pod(
  name: string,
  ip: string,
  labels: Record<string, string>,
  more: Partial<PolicyPod> = {},
): PolicyPod {
  return { namespace: "default", name, labels, ip, nodeName: NODE, ports: [], ...more };
}

function policy(name: string, spec: NetworkPolicy["spec"], namespace = "default"): NetworkPolicy {
  return { metadata: { name, namespace }, spec } as NetworkPolicy;
}

const NAMESPACES: PolicyNamespace[] = [
  { name: "default", labels: { "kubernetes.io/metadata.name": "default" } },
  { name: "mon", labels: { "kubernetes.io/metadata.name": "mon", team: "ops" } },
];

const WEB = pod("web", "10.155.1.10", { app: "web" }, {
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const CLIENT = pod("client", "10.155.2.20", { app: "client" }, { nodeName: "hnp-b" });
const PROM = pod("prom", "10.155.2.30", { app: "prom" }, { namespace: "mon", nodeName: "hnp-b" });

Deno.test("subtractCidrs() splits a block around its excepts", () => {
  assert.deepEqual(subtractCidrs("10.0.0.0/24"), ["10.0.0.0/24"]);
  assert.deepEqual(subtractCidrs("10.0.0.0/24", ["10.0.0.128/25"]), ["10.0.0.0/25"]);
  assert.deepEqual(subtractCidrs("10.0.0.0/24", ["10.0.0.0/26"]), [
    "10.0.0.64/26",
    "10.0.0.128/25",
  ]);
  assert.deepEqual(subtractCidrs("10.0.0.0/30", ["10.0.0.1/32", "10.0.0.2/32"]), [
    "10.0.0.0/32",
    "10.0.0.3/32",
  ]);
  assert.deepEqual(subtractCidrs("10.0.0.0/24", ["10.0.0.0/24"]), []);
  // IPv6 blocks match no traffic of an IPv4 pod network.
  assert.deepEqual(subtractCidrs("2001:db8::/64"), []);
});

Deno.test("desiredPodFirewalls() leaves pods no policy selects alone", () => {
  const out = desiredPodFirewalls({
    policies: [
      policy("db", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] }),
    ],
    pods: [WEB, CLIENT],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  assert.deepEqual(out, []);
});

Deno.test("desiredPodFirewalls() isolates with no allows under a default deny", () => {
  const out = desiredPodFirewalls({
    policies: [policy("deny", { podSelector: {}, policyTypes: ["Ingress"] })],
    pods: [WEB, CLIENT],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  // Only the local pod: the client's node enforces its own.
  assert.deepEqual(out, [{
    key: "default/web",
    ip: "10.155.1.10",
    ingress: [],
    egress: undefined,
  }]);
});

Deno.test("desiredPodFirewalls() resolves pod, namespace and combined peers and named ports", () => {
  const out = desiredPodFirewalls({
    policies: [
      policy("from-client", {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Ingress"],
        ingress: [{
          from: [{ podSelector: { matchLabels: { app: "client" } } }],
          ports: [{ protocol: "TCP", port: "http" }, { protocol: "UDP", port: 53 }],
        }],
      }),
      policy("from-ops", {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Ingress"],
        ingress: [{
          from: [{
            namespaceSelector: { matchLabels: { team: "ops" } },
            podSelector: { matchLabels: { app: "prom" } },
          }, { namespaceSelector: { matchLabels: { team: "nobody" } } }],
          ports: [{ protocol: "TCP", port: 9000, endPort: 9100 }, {
            protocol: "TCP",
            port: "metrics",
          }],
        }],
      }),
    ],
    pods: [WEB, CLIENT, PROM],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].ingress, [
    { cidr: "10.155.2.20/32", protocol: "TCP", ports: "8080" },
    { cidr: "10.155.2.20/32", protocol: "UDP", ports: "53" },
    { cidr: "10.155.2.30/32", protocol: "TCP", ports: "9000:9100" },
  ]);
});

Deno.test("desiredPodFirewalls() ingress from a pod selector stays in the policy's namespace", () => {
  const out = desiredPodFirewalls({
    policies: [policy("any-prom", {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "prom" } } }] }],
    })],
    pods: [WEB, PROM],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  assert.deepEqual(out[0].ingress, [], "prom is in namespace mon, not default");
});

Deno.test("desiredPodFirewalls() egress: ipBlocks less excepts, any-destination ports, named ports on peers", () => {
  const out = desiredPodFirewalls({
    policies: [policy("out", {
      podSelector: { matchLabels: { app: "web" } },
      policyTypes: ["Egress"],
      egress: [
        { to: [{ ipBlock: { cidr: "192.168.0.0/24", except: ["192.168.0.128/25"] } }] },
        { ports: [{ protocol: "UDP", port: 53 }] },
        { to: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: "http" }] },
      ],
    })],
    pods: [
      WEB,
      CLIENT,
      PROM,
      pod("api", "10.155.2.40", {}, {
        nodeName: "hnp-b",
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
      }),
    ],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  assert.equal(out[0].ingress, undefined, "not isolated for ingress");
  assert.deepEqual(out[0].egress, [
    { cidr: "10.155.1.10/32", protocol: "TCP", ports: "8080" },
    { cidr: "10.155.2.40/32", protocol: "TCP", ports: "80" },
    { cidr: "192.168.0.0/25" },
    { cidr: undefined, protocol: "UDP", ports: "53" },
  ]);
});

Deno.test("desiredPodFirewalls() unions policies and an empty rule allows everything", () => {
  const out = desiredPodFirewalls({
    policies: [
      policy("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
      policy("all-in", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] }),
    ],
    pods: [WEB],
    namespaces: NAMESPACES,
    nodeName: NODE,
  });
  assert.deepEqual(out, [{
    key: "default/web",
    ip: "10.155.1.10",
    ingress: [{ cidr: undefined }],
    egress: [],
  }]);
});

Deno.test("desiredPodFirewalls() egress to the cluster's DNS pods reaches the node-local DNS", () => {
  const namespaces = [
    ...NAMESPACES,
    { name: "kube-system", labels: { "kubernetes.io/metadata.name": "kube-system" } },
  ];
  const egress = (rules: NonNullable<NetworkPolicy["spec"]>["egress"], ns?: string) =>
    desiredPodFirewalls({
      policies: [policy("dns", { podSelector: {}, policyTypes: ["Egress"], egress: rules }, ns)],
      pods: [WEB, pod("sys", "10.155.1.50", {}, { namespace: "kube-system" })],
      namespaces,
      nodeName: NODE,
      dnsAddresses: ["10.155.1.1"],
    })[0].egress;
  // The usual policy: kube-dns pods in kube-system, DNS ports, one by number and one by name.
  assert.deepEqual(
    egress([{
      to: [{
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: "dns-tcp" }],
    }]),
    [
      { cidr: "10.155.1.1/32", protocol: "TCP", ports: "53" },
      { cidr: "10.155.1.1/32", protocol: "UDP", ports: "53" },
    ],
  );
  // Any namespace's kube-dns pods; no ports: every port of the DNS address.
  assert.deepEqual(
    egress([{
      to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
    }]),
    [{ cidr: "10.155.1.1/32" }],
  );
  // A pod selector alone stays in the policy's namespace: kube-dns is not in default...
  assert.deepEqual(
    egress([{ to: [{ podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }] }]),
    [],
  );
  // ...and a selector the DNS pods do not match allows nothing to the DNS.
  assert.deepEqual(
    egress([{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "web" } } }] }]),
    [{ cidr: "10.155.1.10/32" }],
  );
});
