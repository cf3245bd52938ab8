import assert from "node:assert/strict";
import type { DesiredListener } from "./service_table.ts";
import { type NftObjects, renderTransaction, servicePorts } from "./nft_ruleset.ts";

const NODE = "n1";

function listener(over: Partial<DesiredListener> = {}): DesiredListener {
  return {
    key: "k",
    protocol: "TCP",
    address: "10.43.0.10",
    port: 80,
    source: "clusterIP",
    service: { namespace: "default", name: "web" },
    portName: "http",
    backends: [
      { address: "10.42.1.5", port: 8080, nodeName: NODE },
      { address: "10.42.2.5", port: 8080, nodeName: "n2" },
    ],
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    ...over,
  };
}

const EMPTY: NftObjects = { chains: new Set(), sets: new Set() };
const OPTIONS = {
  table: "skiff",
  nodeName: NODE,
  nodePortAddresses: "local" as const,
  clusterCidr: "10.42.0.0/16",
  podCidr: "10.42.1.0/24",
};

function chainRules(script: string, prefix: string): string[] {
  return script.split("\n")
    .filter((l) => l.startsWith(`add rule inet skiff ${prefix}`))
    .map((l) => l.slice(l.indexOf(" ", `add rule inet skiff ${prefix}`.length) + 1));
}

Deno.test("servicePorts() groups a service port's ClusterIP, NodePort and external IPs", () => {
  const ports = servicePorts([
    listener(),
    listener({ source: "nodePort", address: "192.168.1.2", port: 30080 }),
    listener({ source: "externalIP", address: "192.0.2.7" }),
    listener({ protocol: "UDP", portName: "dns", port: 53 }),
  ]);
  assert.deepEqual(ports.map((p) => p.id), ["default/web/tcp/http", "default/web/udp/dns"]);
  assert.deepEqual(ports[0].internal, [{ address: "10.43.0.10", port: 80 }]);
  assert.deepEqual(ports[0].external, [{ address: "192.0.2.7", port: 80 }]);
  assert.equal(ports[0].nodePort, 30080);
});

Deno.test("renderTransaction() round-robins with numgen and DNATs per endpoint", () => {
  const { script } = renderTransaction(servicePorts([listener()]), EMPTY, OPTIONS);
  assert.ok(script.startsWith("add table inet skiff\nflush table inet skiff\n"), script);
  const svc = chainRules(script, "svc-");
  assert.equal(svc.length, 2, svc.join("\n"));
  assert.ok(/^numgen inc mod 2 vmap \{ 0 : goto ep-\S+, 1 : goto ep-\S+ \}$/.test(svc[1]), svc[1]);
  assert.ok(script.includes("meta l4proto tcp dnat ip to 10.42.1.5:8080"), script);
  assert.ok(script.includes("meta l4proto tcp dnat ip to 10.42.2.5:8080"), script);
  // Hairpin: an endpoint reaching itself is masqueraded.
  assert.ok(script.includes("ip saddr 10.42.1.5 jump mark-for-masquerade"), script);
  assert.ok(
    /add element inet skiff service-ips \{ 10\.43\.0\.10 \. tcp \. 80 : goto svc-/.test(script),
  );
});

Deno.test("renderTransaction() pins ClientIP affinity with a dynamic set per endpoint", () => {
  const { script, objects } = renderTransaction(
    servicePorts([listener({ affinityTimeoutSeconds: 300 })]),
    EMPTY,
    OPTIONS,
  );
  assert.equal(objects.sets.size, 2);
  for (const set of objects.sets) {
    assert.ok(
      script.includes(
        `add set inet skiff ${set} { type ipv4_addr ; flags dynamic,timeout ; timeout 300s ; }`,
      ),
    );
    assert.ok(script.includes(`update @${set} { ip saddr }`), script);
    assert.ok(new RegExp(`ip saddr @${set} goto ep-`).test(script), script);
  }
});

Deno.test("renderTransaction() rejects service ports without endpoints, NodePorts included", () => {
  const { script } = renderTransaction(
    servicePorts([
      listener({ backends: [] }),
      listener({ backends: [], source: "nodePort", address: "192.168.1.2", port: 30080 }),
    ]),
    EMPTY,
    OPTIONS,
  );
  assert.ok(script.includes("no-endpoint-services { 10.43.0.10 . tcp . 80 : goto reject-chain }"));
  assert.ok(script.includes("no-endpoint-nodeports { tcp . 30080 : goto reject-chain }"));
  assert.ok(script.includes("reject with tcp reset"));
  assert.ok(!script.includes("dnat ip to"), script);
});

Deno.test("renderTransaction() masquerades outside NodePort clients only towards other nodes", () => {
  const { script } = renderTransaction(
    servicePorts([listener({ source: "nodePort", address: "192.168.1.2", port: 30080 })]),
    EMPTY,
    OPTIONS,
  );
  assert.ok(
    script.includes("fib daddr type local meta l4proto . th dport vmap @service-nodeports"),
  );
  assert.ok(
    chainRules(script, "ext-").includes("ip saddr != 10.42.0.0/16 jump mark-for-masquerade-remote"),
  );
  assert.ok(
    script.includes("meta mark & 0x00008000 == 0x00008000 ip daddr != 10.42.1.0/24 masquerade"),
  );
});

Deno.test("renderTransaction() honours traffic policies Local", () => {
  const { script } = renderTransaction(
    servicePorts([
      listener({ internalTrafficPolicy: "Local", externalTrafficPolicy: "Local" }),
      listener({
        source: "nodePort",
        address: "192.168.1.2",
        port: 30080,
        internalTrafficPolicy: "Local",
        externalTrafficPolicy: "Local",
      }),
    ]),
    EMPTY,
    OPTIONS,
  );
  const svc = chainRules(script, "svc-");
  // Only this node's endpoint, no round robin.
  assert.equal(svc.filter((r) => r.startsWith("goto ep-")).length, 1, svc.join("\n"));
  assert.ok(svc.some((r) => r.includes("10.42.1.5")), svc.join("\n"));
  assert.ok(!svc.some((r) => r.includes("10.42.2.5")), svc.join("\n"));
  const ext = chainRules(script, "ext-");
  // Pods and the node itself still reach every endpoint; outside clients only the local one.
  assert.ok(
    ext.some((r) => r.startsWith("ip saddr 10.42.0.0/16 numgen inc mod 2")),
    ext.join("\n"),
  );
  assert.ok(
    ext.at(-1)!.startsWith("goto ep-") && ext.at(-1)!.includes("10.42.1.5"),
    ext.join("\n"),
  );
  assert.ok(!ext.some((r) => r.includes("mark-for-masquerade-remote")), ext.join("\n"));
});

Deno.test("renderTransaction() deletes chains and sets no longer wanted, keeps the rest", () => {
  const first = renderTransaction(
    servicePorts([listener({ affinityTimeoutSeconds: 60 })]),
    EMPTY,
    OPTIONS,
  );
  const second = renderTransaction(
    servicePorts([
      listener({ backends: [{ address: "10.42.1.5", port: 8080 }], affinityTimeoutSeconds: 60 }),
    ]),
    first.objects,
    OPTIONS,
  );
  const deleted = second.script.split("\n").filter((l) => l.startsWith("delete "));
  assert.equal(deleted.length, 2, deleted.join("\n"));
  assert.ok(deleted.some((l) => l.startsWith("delete chain") && l.includes("10.42.2.5")));
  assert.ok(deleted.some((l) => l.startsWith("delete set")));
  assert.equal(second.objects.sets.size, 1);
});

Deno.test("renderTransaction() forwards SCTP service ports too", () => {
  const { script } = renderTransaction(
    servicePorts([listener({ protocol: "SCTP", portName: "sig" })]),
    EMPTY,
    OPTIONS,
  );
  assert.ok(script.includes("10.43.0.10 . sctp . 80 : goto svc-"), script);
  assert.ok(script.includes("meta l4proto sctp dnat ip to 10.42.1.5:8080"), script);
});
