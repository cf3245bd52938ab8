import { deepStrictEqual, equal } from "node:assert/strict";
import { dnsListenAddresses, podCidrGateway } from "./listen_address.ts";

Deno.test("podCidrGateway() is the first address of the podCIDR", () => {
  equal(podCidrGateway("10.42.3.0/24"), "10.42.3.1");
  equal(podCidrGateway("10.42.3.77/24"), "10.42.3.1");
  equal(podCidrGateway("10.42.0.0/16"), "10.42.0.1");
  equal(podCidrGateway("fd00::/64"), undefined);
  equal(podCidrGateway("bad"), undefined);
});

Deno.test("dnsListenAddresses(): --cluster-dns wins, else the pod gateways", () => {
  deepStrictEqual(dnsListenAddresses(["127.0.0.53"], ["10.42.3.0/24"]), ["127.0.0.53"]);
  deepStrictEqual(dnsListenAddresses([], ["10.42.3.0/24"]), ["10.42.3.1"]);
  deepStrictEqual(dnsListenAddresses([], []), []);
});
