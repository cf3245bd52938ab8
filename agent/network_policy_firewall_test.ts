import assert from "node:assert/strict";
import { chainId } from "./host_gw.ts";
import type { CommandRunner } from "../shared/command_runner.ts";
import {
  NetworkPolicyFirewall,
  policyChains,
  renderPolicyRules,
} from "./network_policy_firewall.ts";

Deno.test("policyChains() names fit iptables' 28 characters and differ per node", () => {
  const a = policyChains("hnp-a");
  const b = policyChains("hnp-b");
  assert.notEqual(a.forward, b.forward);
  const longest = `${a.podIngress}${chainId("default/web").toUpperCase()}`;
  assert.ok(longest.length <= 28, longest);
  assert.ok(a.input.length <= 28);
});

Deno.test("renderPolicyRules() writes the dispatch, per-pod chains, DNS and stale chains", () => {
  const c = policyChains("hnp-a");
  const h = chainId("default/web").toUpperCase();
  const text = renderPolicyRules(c, [{
    key: "default/web",
    ip: "10.155.1.5",
    ingress: [
      { cidr: "10.155.2.20/32", protocol: "TCP", ports: "8080" },
      { cidr: "192.168.0.0/25" },
      { protocol: "SCTP", ports: "9000:9100" },
    ],
    egress: [],
  }], [`${c.podIngress}DEADBEEF`]);
  assert.equal(
    text,
    [
      "*filter",
      `:${c.forward} - [0:0]`,
      `:${c.input} - [0:0]`,
      `:${c.podEgress}${h} - [0:0]`,
      `:${c.podIngress}${h} - [0:0]`,
      `:${c.podIngress}DEADBEEF - [0:0]`,
      `-A ${c.forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${c.input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${c.forward} -s 10.155.1.5/32 -j ${c.podEgress}${h}`,
      `-A ${c.input} -s 10.155.1.5/32 -p udp -m udp --dport 53 -j ${c.podEgress}${h}`,
      `-A ${c.input} -s 10.155.1.5/32 -p tcp -m tcp --dport 53 -j ${c.podEgress}${h}`,
      `-A ${c.forward} -d 10.155.1.5/32 -j ${c.podIngress}${h}`,
      `-A ${c.podEgress}${h} -j REJECT`,
      `-A ${c.podIngress}${h} -s 10.155.2.20/32 -p tcp -m tcp --dport 8080 -j RETURN`,
      `-A ${c.podIngress}${h} -s 192.168.0.0/25 -j RETURN`,
      `-A ${c.podIngress}${h} -p sctp -m sctp --dport 9000:9100 -j RETURN`,
      `-A ${c.podIngress}${h} -j REJECT`,
      "COMMIT",
      "",
    ].join("\n"),
  );
});

Deno.test("renderPolicyRules() without isolated pods keeps only the conntrack returns", () => {
  const c = policyChains("hnp-a");
  assert.equal(
    renderPolicyRules(c, []),
    `*filter\n:${c.forward} - [0:0]\n:${c.input} - [0:0]\n` +
      `-A ${c.forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n` +
      `-A ${c.input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\nCOMMIT\n`,
  );
});

Deno.test("NetworkPolicyFirewall.sync() lists the filter table only when the rules change", async () => {
  const calls: string[] = [];
  const c = policyChains("hnp-a");
  // The kernel as the fake shows it: a stale pod chain from an earlier process.
  const run: CommandRunner = (command, args) => {
    calls.push([command, ...args].join(" "));
    const stdout = args.join(" ") === "-w 5 -t filter -S"
      ? `-P INPUT ACCEPT\n-N ${c.podIngress}DEADBEEF\n`
      : args.includes("-S")
      ? ""
      : "1\n";
    return Promise.resolve({ code: 0, stdout, stderr: "" });
  };
  const fw = new NetworkPolicyFirewall({ nodeName: "hnp-a", run });
  const pod = { key: "default/web", ip: "10.155.1.5", ingress: [], egress: undefined };
  const listings = () => calls.filter((l) => l === "iptables -w 5 -t filter -S").length;
  await fw.sync([pod]);
  assert.equal(listings(), 1);
  assert.ok(calls.includes(`iptables -w 5 -t filter -X ${c.podIngress}DEADBEEF`), calls.join("\n"));
  const restores = () => calls.filter((l) => l.startsWith("iptables-restore")).length;
  assert.equal(restores(), 1);
  await fw.sync([pod]);
  assert.equal(listings(), 1, "an unchanged pass does not list the table");
  assert.equal(restores(), 1, "nor rewrites the rules");
  await fw.sync([{ ...pod, ingress: [{ cidr: "10.155.2.20/32" }] }]);
  assert.equal(listings(), 2);
  assert.equal(restores(), 2);
});
