import assert from "node:assert/strict";
import { FieldErrors } from "./field_errors.ts";
import { parseCidr, validateNetworkPolicy } from "./network_policy_validation.ts";

function errors(spec: unknown): string[] {
  const errs = new FieldErrors();
  validateNetworkPolicy({ spec }, errs);
  return errs.causes.map((c) => `${c.field}: ${c.message}`);
}

Deno.test("parseCidr() reads IPv4 and IPv6 networks, clearing host bits", () => {
  assert.deepEqual(parseCidr("10.1.2.3/8"), { bits: 32, base: 10n << 24n, prefix: 8 });
  assert.deepEqual(parseCidr("2001:db8::1/32"), {
    bits: 128,
    base: 0x20010db8n << 96n,
    prefix: 32,
  });
  assert.deepEqual(parseCidr("::ffff:10.0.0.0/120")?.base, (0xffffn << 32n) | (10n << 24n));
  for (const bad of ["10.0.0.0", "10.0.0.0/33", "2001:db8::/129", "x/8", "1.2.3.256/8"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("validateNetworkPolicy() checks excepts against an IPv6 cidr", () => {
  const block = (except: string[]) => ({
    podSelector: {},
    ingress: [{ from: [{ ipBlock: { cidr: "2001:db8::/32", except } }] }],
  });
  assert.deepEqual(errors(block(["2001:db8:1::/48"])), []);
  assert.deepEqual(errors(block(["2001:db9::/48", "10.0.0.0/8", "2001:db8::/32"])), [
    'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "2001:db9::/48": must be a strict subset of `cidr`',
    'spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
    'spec.ingress[0].from[0].ipBlock.except[2]: Invalid value: "2001:db8::/32": must be a strict subset of `cidr`',
  ]);
});

Deno.test("validateNetworkPolicy() accepts a full policy and refuses more than two types", () => {
  assert.deepEqual(
    errors({
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a"] }] },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: {} }], ports: [{ port: "http" }] }],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 1, endPort: 65535 }] }],
    }),
    [],
  );
  assert.deepEqual(errors({ podSelector: {}, policyTypes: ["Ingress", "Egress", "Ingress"] }), [
    'spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes',
  ]);
});

Deno.test("validateNetworkPolicy() checks selectors as ValidateLabelSelector", () => {
  assert.deepEqual(
    errors({
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: [] }] },
      ingress: [{
        from: [{
          namespaceSelector: { matchLabels: { "bad key!": "x" } },
          podSelector: { matchExpressions: [{ key: "tier", operator: "Near" }] },
        }],
      }],
    }),
    [
      "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      'spec.ingress[0].from[0].podSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
      "spec.ingress[0].from[0].namespaceSelector.matchLabels: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
  );
});
