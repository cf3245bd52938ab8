/**
 * Validation of networking.k8s.io/v1 NetworkPolicies, as kube-apiserver's
 * ValidateNetworkPolicySpec: a podSelector, at most the two policy types Ingress and Egress,
 * ports of protocol TCP, UDP or SCTP given by number (with an optional endPort range) or by
 * container port name, peers that are pods and/or namespaces by label or one ipBlock, whose
 * `except` entries are strict subsets of its `cidr`.
 */
import { type FieldErrors, isIP, portNameErrors } from "./field_errors.ts";
import { NETWORK_POLICY_PROTOCOLS, POLICY_TYPES } from "./network_policy.ts";
import { validateLabelSelector } from "./pod_scheduling_validation.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
const PORT_RANGE_MESSAGE = "must be between 1 and 65535, inclusive";

/** An IPv4 or IPv6 network as a number of its family's width. */
interface IpNet {
  bits: 32 | 128;
  base: bigint;
  prefix: number;
}

function ipToBigInt(ip: string): { value: bigint; bits: 32 | 128 } | undefined {
  if (!isIP(ip)) return undefined;
  if (!ip.includes(":")) {
    return { value: ip.split(".").reduce((n, p) => n * 256n + BigInt(p), 0n), bits: 32 };
  }
  // IPv6, possibly with `::` and a dotted IPv4 tail.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipToBigInt(v4[1])!.value;
    text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${
      (n & 0xffffn).toString(16)
    }`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8) return undefined;
  return { value: groups.reduce((n, g) => n * 65536n + BigInt(`0x${g}`), 0n), bits: 128 };
}

/** Parses a CIDR as Go's net.ParseCIDR (host bits allowed, then cleared); undefined if invalid. */
export function parseCidr(cidr: string): IpNet | undefined {
  const slash = cidr.indexOf("/");
  if (slash < 0) return undefined;
  const ip = ipToBigInt(cidr.slice(0, slash));
  const lenText = cidr.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > ip.bits) return undefined;
  const hostBits = BigInt(ip.bits - prefix);
  return { bits: ip.bits, base: (ip.value >> hostBits) << hostBits, prefix };
}

/** ValidateNetworkPolicyPort. */
function validatePort(p: Obj, field: string, errs: FieldErrors): void {
  if (p.protocol !== undefined && !NETWORK_POLICY_PROTOCOLS.includes(p.protocol)) {
    errs.notSupported(`${field}.protocol`, p.protocol, NETWORK_POLICY_PROTOCOLS);
  }
  if (p.port === undefined) {
    if (p.endPort !== undefined) {
      errs.invalid(
        `${field}.endPort`,
        p.endPort,
        "may not be specified when `port` is not specified",
      );
    }
    return;
  }
  if (typeof p.port === "number") {
    if (p.port < 1 || p.port > 65535) errs.invalid(`${field}.port`, p.port, PORT_RANGE_MESSAGE);
    if (p.endPort !== undefined) {
      if (p.endPort < p.port) {
        errs.invalid(`${field}.endPort`, p.port, "must be greater than or equal to `port`");
      }
      if (p.endPort < 1 || p.endPort > 65535) {
        errs.invalid(`${field}.endPort`, p.endPort, PORT_RANGE_MESSAGE);
      }
    }
    return;
  }
  if (p.endPort !== undefined) {
    errs.invalid(`${field}.endPort`, p.endPort, "may not be specified when `port` is non-numeric");
  }
  for (const e of portNameErrors(p.port)) errs.invalid(`${field}.port`, p.port, e);
}

/** ValidateIPBlock: a valid cidr, and every except a strict subset of it. */
function validateIpBlock(b: Obj, field: string, errs: FieldErrors): void {
  if (!b.cidr) {
    errs.required(`${field}.cidr`);
    return;
  }
  const net = parseCidr(b.cidr);
  if (!net) {
    errs.invalid(`${field}.cidr`, b.cidr, CIDR_MESSAGE);
    return;
  }
  (b.except ?? []).forEach((text: string, i: number) => {
    const at = `${field}.except[${i}]`;
    const ex = parseCidr(text);
    if (!ex) {
      errs.invalid(at, text, CIDR_MESSAGE);
      return;
    }
    const shift = BigInt(net.bits - net.prefix);
    const inside = ex.bits === net.bits && (ex.base >> shift) === (net.base >> shift);
    if (!inside || net.prefix >= ex.prefix) {
      errs.invalid(at, text, "must be a strict subset of `cidr`");
    }
  });
}

/** ValidateNetworkPolicyPeer: pods and/or namespaces by label, or an ipBlock alone. */
function validatePeer(peer: Obj, field: string, errs: FieldErrors): void {
  let peers = 0;
  if (peer.podSelector) {
    peers++;
    validateLabelSelector(peer.podSelector, `${field}.podSelector`, errs);
  }
  if (peer.namespaceSelector) {
    peers++;
    validateLabelSelector(peer.namespaceSelector, `${field}.namespaceSelector`, errs);
  }
  if (peer.ipBlock) {
    peers++;
    validateIpBlock(peer.ipBlock, `${field}.ipBlock`, errs);
  }
  if (peers === 0) errs.required(field, "must specify a peer");
  else if (peers > 1 && peer.ipBlock) {
    errs.forbidden(field, "may not specify both ipBlock and another peer");
  }
}

function validateRules(rules: Obj[], dir: "ingress" | "egress", errs: FieldErrors): void {
  const peersKey = dir === "ingress" ? "from" : "to";
  rules.forEach((rule, i) => {
    const at = `spec.${dir}[${i}]`;
    (rule.ports ?? []).forEach((p: Obj, j: number) => validatePort(p, `${at}.ports[${j}]`, errs));
    (rule[peersKey] ?? []).forEach((peer: Obj, j: number) =>
      validatePeer(peer, `${at}.${peersKey}[${j}]`, errs)
    );
  });
}

/** A NetworkPolicy's rules (ValidateNetworkPolicySpec). */
export function validateNetworkPolicy(np: Obj, errs: FieldErrors): void {
  const spec = np.spec ?? {};
  if (!spec.podSelector) errs.required("spec.podSelector");
  else validateLabelSelector(spec.podSelector, "spec.podSelector", errs);
  validateRules(spec.ingress ?? [], "ingress", errs);
  validateRules(spec.egress ?? [], "egress", errs);
  const types: unknown[] = spec.policyTypes ?? [];
  if (types.length > POLICY_TYPES.length) {
    errs.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
    return;
  }
  types.forEach((t, i) => {
    if (!(POLICY_TYPES as readonly unknown[]).includes(t)) {
      errs.notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES);
    }
  });
}
