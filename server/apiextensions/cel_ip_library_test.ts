import assert from "node:assert/strict";
import { validationRuleEnvironment } from "./cel_library.ts";

const env = validationRuleEnvironment();
const run = (e: string) => env.evaluate(e, { self: null, oldSelf: null });
const fails = (e: string) => {
  try {
    run(e);
  } catch (err) {
    return (err as Error).message.split("\n")[0];
  }
  return "";
};

Deno.test("isIP accepts plain addresses and refuses zones, IPv4-mapped IPv6 and leading zeros", () => {
  for (const s of ["192.168.0.1", "::1", "2001:db8::68", "::", "1:2:3:4:5:6:1.2.3.4"]) {
    assert.equal(run(`isIP("${s}")`), true, s);
  }
  for (
    const s of ["fe80::1%eth0", "::ffff:1.2.3.4", "01.2.3.4", "1.2.3", "256.1.1.1", "1::2::3", "x"]
  ) {
    assert.equal(run(`isIP("${s}")`), false, s);
  }
});

Deno.test("ip() refuses what isIP refuses, with Kubernetes' reasons", () => {
  assert.match(fails(`ip("::ffff:1.2.3.4")`), /IPv4-mapped IPv6 address is not allowed/);
  assert.match(fails(`ip("fe80::1%eth0")`), /IP address with zone value is not allowed/);
  assert.match(fails(`ip("nope")`), /IP Address "nope" parse error during conversion from string/);
});

Deno.test("IP getters follow Go's netip", () => {
  assert.equal(run(`ip("10.0.0.1").family()`), 4n);
  assert.equal(run(`ip("::1").family()`), 6n);
  assert.equal(run(`ip("0.0.0.0").isUnspecified()`), true);
  assert.equal(run(`ip("::").isUnspecified()`), true);
  assert.equal(run(`ip("127.0.0.2").isLoopback()`), true);
  assert.equal(run(`ip("::1").isLoopback()`), true);
  assert.equal(run(`ip("224.0.0.5").isLinkLocalMulticast()`), true);
  assert.equal(run(`ip("ff02::1").isLinkLocalMulticast()`), true);
  assert.equal(run(`ip("ff05::1").isLinkLocalMulticast()`), false);
  assert.equal(run(`ip("169.254.1.1").isLinkLocalUnicast()`), true);
  assert.equal(run(`ip("fe80::1").isLinkLocalUnicast()`), true);
  assert.equal(run(`ip("192.168.0.1").isGlobalUnicast()`), true);
  assert.equal(run(`ip("2001:db8::1").isGlobalUnicast()`), true);
  assert.equal(run(`ip("255.255.255.255").isGlobalUnicast()`), false);
  assert.equal(run(`ip("224.0.0.1").isGlobalUnicast()`), false);
  assert.equal(run(`ip("1.2.3.4") == ip("1.2.3.4")`), true);
});

Deno.test("ip.isCanonical and string() use RFC 5952 for IPv6", () => {
  assert.equal(run(`ip.isCanonical("2001:db8::68")`), true);
  assert.equal(run(`ip.isCanonical("2001:DB8::68")`), false);
  assert.equal(run(`ip.isCanonical("2001:db8:0:0:0:0:0:68")`), false);
  assert.equal(run(`string(ip("2001:db8:0:0:1:0:0:1"))`), "2001:db8::1:0:0:1");
  assert.equal(run(`string(ip("1:0:2:3:4:5:6:7"))`), "1:0:2:3:4:5:6:7");
  assert.equal(run(`string(ip("2001:db8:0:0:0:0:0:0"))`), "2001:db8::");
});

Deno.test("cidr() and its methods", () => {
  assert.equal(run(`isCIDR("10.0.0.0/8")`), true);
  assert.equal(run(`isCIDR("10.0.0.0/33")`), false);
  assert.equal(run(`isCIDR("10.0.0.0/08")`), false);
  assert.equal(run(`isCIDR("10.0.0.0")`), false);
  assert.equal(run(`isCIDR("::ffff:1.2.3.4/120")`), false);
  assert.equal(run(`isCIDR("2001:db8::/32")`), true);
  assert.equal(run(`cidr("10.0.0.0/8").containsIP("10.1.2.3")`), true);
  assert.equal(run(`cidr("10.0.0.0/8").containsIP(ip("11.0.0.0"))`), false);
  assert.equal(run(`cidr("::/0").containsIP("1.2.3.4")`), false);
  assert.equal(run(`cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16")`), true);
  assert.equal(run(`cidr("10.1.0.0/16").containsCIDR(cidr("10.0.0.0/8"))`), false);
  assert.equal(run(`cidr("192.168.1.7/24").ip() == ip("192.168.1.7")`), true);
  assert.equal(run(`cidr("192.168.1.7/24").prefixLength()`), 24n);
  assert.equal(run(`string(cidr("192.168.1.7/20").masked())`), "192.168.0.0/20");
  assert.equal(run(`cidr("2001:db8::1/64").masked() == cidr("2001:db8::/64")`), true);
  assert.match(fails(`cidr("10.0.0.0/40")`), /network address parse error/);
});
