/**
 * NetworkPolicy with the real kubectl on a two-node Docker cluster: kube-apiserver's validation
 * (bad policies refused with its messages) and defaulting, `kubectl get netpol` columns and
 * `kubectl describe`, and enforcement by the agents on busybox pods — a default deny blocks a
 * client on the other node and a pod on the same node (bridged), an allow for `app=client` on the
 * server's named port lets only the client in (also through its Service: the nftables proxy mode
 * DNATs before the policy), the rules follow pod and namespace labels, an egress policy blocks the
 * client's egress, and deleting the policies restores access.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { INDEX_HTML } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed } from "./kubectl_helpers.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

/** A policy of `spec` (YAML flow text) named `name`. */
function np(name: string, spec: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name} }
spec: ${spec}
`;
}

/** [spec, the message kube-apiserver answers] */
const INVALID: [string, string][] = [
  ["{ policyTypes: [Ingress] }", "spec.podSelector: Required value"],
  [
    "{ podSelector: {}, policyTypes: [Ingress, Sideways] }",
    'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
  ],
  [
    "{ podSelector: {}, ingress: [{ ports: [{ protocol: ICMP, port: 1 }] }] }",
    'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
  ],
  [
    "{ podSelector: {}, ingress: [{ ports: [{ port: 100, endPort: 90 }] }] }",
    "spec.ingress[0].ports[0].endPort: Invalid value: 100: must be greater than or equal to `port`",
  ],
  [
    "{ podSelector: {}, egress: [{ ports: [{ port: http, endPort: 90 }] }] }",
    "spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
  ],
  [
    "{ podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }",
    "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
  ],
  [
    "{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 10.0.0.0/8 }, podSelector: {} }] }] }",
    "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer",
  ],
  [
    "{ podSelector: {}, ingress: [{ from: [{}] }] }",
    "spec.ingress[0].from[0]: Required value: must specify a peer",
  ],
  [
    "{ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/8, except: [192.168.0.0/16, 10.0.0.0/8] } }] }] }",
    'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
  ],
  [
    "{ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/33 } }] }] }",
    'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value',
  ],
];

const PODS = (web: string, client: string, image: string) => `
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec:
  nodeName: ${web}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${image}
    command: [httpd, -f, -p, "80", -h, /www]
    ports: [{ name: http, containerPort: 80 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { app: client } }
spec:
  nodeName: ${client}
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: ${image}, command: [sleep, "3600"] }]
---
apiVersion: v1
kind: Pod
metadata: { name: other, labels: { app: other } }
spec:
  nodeName: ${web}
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: ${image}, command: [sleep, "3600"] }]
`;

Deno.test({
  name:
    "NetworkPolicy: kubectl validation and columns, and the agents enforce deny, allow by label and named port, egress, removal",
  ignore: !haveKubectl(),
  async fn(t) {
    // The nftables proxy mode DNATs Service traffic before FORWARD: policies see pod IPs.
    const cluster = await startTestCluster({
      nodeAddresses: ["127.0.9.11", "127.0.9.12"],
      serviceCidr: randomServiceCidr(),
      proxyMode: "nftables",
    });
    const k = cluster.kubectl;
    try {
      await t.step("invalid policies are refused with kube-apiserver's messages", async () => {
        for (const [i, [spec, message]] of INVALID.entries()) {
          const r = await kubectl(k, ["apply", "-f", "-"], { stdin: np(`bad-${i}`, spec) });
          assert.notEqual(r.code, 0, `accepted: ${spec}`);
          assert.ok(
            r.stderr.includes(`The NetworkPolicy "bad-${i}" is invalid`) &&
              r.stderr.includes(message),
            `${spec}\n  wanted: ${message}\n  got: ${r.stderr}`,
          );
        }
      });

      await t.step("defaults, get netpol columns and describe", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], {
          stdin: np(
            "shape",
            "{ podSelector: { matchLabels: { app: db } }, egress: [{ ports: [{ port: 53 }] }] }",
          ),
        });
        const got = JSON.parse(await kubectlOk(k, ["get", "netpol", "shape", "-o", "json"]));
        assert.deepEqual(got.spec.policyTypes, ["Ingress", "Egress"]);
        assert.equal(got.spec.egress[0].ports[0].protocol, "TCP");
        const row = rowNamed(parseTable(await kubectlOk(k, ["get", "networkpolicies"])), "shape");
        assert.deepEqual(Object.keys(row), ["NAME", "POD-SELECTOR", "AGE"]);
        assert.equal(row["POD-SELECTOR"], "app=db");
        const text = await kubectlOk(k, ["describe", "netpol", "shape"]);
        assert.match(text, /PodSelector:\s+app=db/);
        assert.match(text, /Allowing egress traffic:\s+To Port: 53\/TCP/);
        assert.match(text, /Policy Types: Ingress, Egress/);
        await kubectlOk(k, ["delete", "netpol", "shape"]);
      });

      const [a, b] = cluster.nodes.map((n) => n.name);
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: PODS(a, b, cluster.images.busybox) });
      await kubectlOk(k, [
        "wait",
        "--for=condition=Ready",
        "pod/web",
        "pod/client",
        "pod/other",
        "--timeout=60s",
      ]);
      const web = JSON.parse(await kubectlOk(k, ["get", "pod", "web", "-o", "json"])).status.podIP;
      await kubectlOk(k, ["expose", "pod", "web", "--port=80", "--target-port=http"]);
      const svc = JSON.parse(await kubectlOk(k, ["get", "svc", "web", "-o", "json"]));
      const clusterIP: string = svc.spec.clusterIP;
      // busybox-static's wget crashes with -T: bound it with timeout(1) instead.
      const get = async (pod: string, ip: string) => {
        const wget = ["timeout", "3", "wget", "-q", "-O-", `http://${ip}/`];
        const r = await kubectl(k, ["exec", pod, "--", ...wget]);
        return r.code === 0 && r.stdout === INDEX_HTML;
      };
      const fetches = (pod: string) => get(pod, web);
      const until = (what: string, check: () => Promise<boolean>) =>
        waitFor(what, check, { timeoutMs: 30_000, intervalMs: 250 });

      await t.step("without policies both pods reach web", async () => {
        await until("client reaches web", () => fetches("client"));
        await until("other reaches web", () => fetches("other"));
        await until("other reaches web's Service", () => get("other", clusterIP));
      });

      await t.step(
        "a default deny blocks the other node's client and the same node's pod",
        async () => {
          await kubectlOk(k, ["apply", "-f", "-"], {
            stdin: np("deny", "{ podSelector: {}, policyTypes: [Ingress] }"),
          });
          await until("client blocked", async () => !await fetches("client"));
          await until("other blocked", async () => !await fetches("other"));
        },
      );

      await t.step("allowing app=client on the named port lets only the client in", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], {
          stdin: np(
            "web-from-client",
            "{ podSelector: { matchLabels: { app: web } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: client } } }], ports: [{ port: http }] }] }",
          ),
        });
        await until("client allowed", () => fetches("client"));
        // The rules are rewritten whole: the client's access is the signal they are in place.
        assert.equal(await fetches("other"), false, "other still blocked");
        // Through the Service too: the ClusterIP is DNATed to web's pod IP before the policy.
        await until("client reaches web's Service", () => get("client", clusterIP));
        assert.equal(await get("other", clusterIP), false, "other blocked through the Service");
      });

      await t.step("the rules follow pod labels and namespace labels", async () => {
        await kubectlOk(k, ["label", "pod", "other", "app=client", "--overwrite"]);
        await until("relabelled other allowed", () => fetches("other"));
        await kubectlOk(k, ["label", "pod", "other", "app=other", "--overwrite"]);
        await until("other blocked again", async () => !await fetches("other"));
        // From namespaces labelled team=ops: none is, until default is.
        await kubectlOk(k, ["apply", "-f", "-"], {
          stdin: np(
            "web-from-ops",
            "{ podSelector: { matchLabels: { app: web } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: ops } } }] }] }",
          ),
        });
        await kubectlOk(k, ["label", "namespace", "default", "team=ops"]);
        await until("other allowed by its namespace's label", () => fetches("other"));
        await kubectlOk(k, ["label", "namespace", "default", "team-"]);
        await until("other blocked without the label", async () => !await fetches("other"));
        await kubectlOk(k, ["delete", "netpol", "web-from-ops"]);
      });

      await t.step("an egress policy blocks the client's egress", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], {
          stdin: np(
            "client-out",
            "{ podSelector: { matchLabels: { app: client } }, policyTypes: [Egress] }",
          ),
        });
        await until("client egress blocked", async () => !await fetches("client"));
      });

      await t.step(
        "egress to the kube-dns pods, as manifests write it, lets DNS through",
        async () => {
          const resolves = async () =>
            (await kubectl(k, [
              "exec",
              "client",
              "--",
              ...["timeout", "3", "nslookup", "web.default.svc.cluster.local"],
            ])).code === 0;
          await until("client DNS blocked", async () => !await resolves());
          await kubectlOk(k, ["apply", "-f", "-"], {
            stdin: np(
              "client-dns",
              "{ podSelector: { matchLabels: { app: client } }, policyTypes: [Egress], egress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } }, podSelector: { matchLabels: { k8s-app: kube-dns } } }], ports: [{ port: 53, protocol: UDP }, { port: 53, protocol: TCP }] }] }",
            ),
          });
          await until("client resolves names", resolves);
          assert.equal(await fetches("client"), false, "and reaches nothing else");
          await kubectlOk(k, ["delete", "netpol", "client-dns"]);
        },
      );

      await t.step("deleting the policies restores access", async () => {
        await kubectlOk(k, ["delete", "netpol", "deny", "web-from-client", "client-out"]);
        await until("client reaches web again", () => fetches("client"));
        await until("other reaches web again", () => fetches("other"));
      });
    } finally {
      await cluster.stop();
    }
  },
});
