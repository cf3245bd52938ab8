/**
 * networking.k8s.io/v1 NetworkPolicy: which traffic the pods it selects may receive (Ingress)
 * and send (Egress), by peer (pods by label, namespaces by label, both, or IP blocks) and port.
 * Every node's agent enforces the policies for its own pods in the kernel
 * (agent/network_policies.ts); the field-dependent default of `policyTypes` is
 * {@linkcode defaultNetworkPolicy}.
 */
import { z } from "zod";
import { Int32, IntOrString, LabelSelector, ObjectMeta, TypeMeta } from "./meta.ts";

/**
 * The protocols a policy port may name (core/v1 Protocol's values; not imported from core_v1.ts,
 * which would load every core schema into the agent's policy controller with this module).
 */
export const NETWORK_POLICY_PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
/** The policy types. */
export const POLICY_TYPES = ["Ingress", "Egress"] as const;

/** A port (number or container port name, optionally a range up to endPort) and protocol. */
export const NetworkPolicyPort = z.object({
  protocol: z.string().default("TCP"),
  port: IntOrString.optional(),
  endPort: Int32.optional(),
}).meta({ id: "io.k8s.api.networking.v1.NetworkPolicyPort" });
export type NetworkPolicyPort = z.infer<typeof NetworkPolicyPort>;

/** An IP range, less some sub-ranges. */
export const IPBlock = z.object({
  cidr: z.string(),
  except: z.array(z.string()).optional(),
}).meta({ id: "io.k8s.api.networking.v1.IPBlock" });
export type IPBlock = z.infer<typeof IPBlock>;

/** One peer: pods by label (in the policy's namespace, or in the selected namespaces), or IPs. */
export const NetworkPolicyPeer = z.object({
  podSelector: LabelSelector.optional(),
  namespaceSelector: LabelSelector.optional(),
  ipBlock: IPBlock.optional(),
}).meta({ id: "io.k8s.api.networking.v1.NetworkPolicyPeer" });
export type NetworkPolicyPeer = z.infer<typeof NetworkPolicyPeer>;

/** Traffic allowed in: from any of `from` (all sources when empty) to any of `ports`. */
export const NetworkPolicyIngressRule = z.object({
  ports: z.array(NetworkPolicyPort).optional(),
  from: z.array(NetworkPolicyPeer).optional(),
}).meta({ id: "io.k8s.api.networking.v1.NetworkPolicyIngressRule" });
export type NetworkPolicyIngressRule = z.infer<typeof NetworkPolicyIngressRule>;

/** Traffic allowed out: to any of `to` (all destinations when empty) on any of `ports`. */
export const NetworkPolicyEgressRule = z.object({
  ports: z.array(NetworkPolicyPort).optional(),
  to: z.array(NetworkPolicyPeer).optional(),
}).meta({ id: "io.k8s.api.networking.v1.NetworkPolicyEgressRule" });
export type NetworkPolicyEgressRule = z.infer<typeof NetworkPolicyEgressRule>;

/** NetworkPolicy spec. */
export const NetworkPolicySpec = z.object({
  // Required as in Kubernetes' OpenAPI (kubectl refuses a policy without it); `{}` selects every
  // pod of the namespace. Optional here so that the API answers a 422 naming the field.
  podSelector: LabelSelector.optional(),
  ingress: z.array(NetworkPolicyIngressRule).optional(),
  egress: z.array(NetworkPolicyEgressRule).optional(),
  policyTypes: z.array(z.string()).optional(),
}).meta({
  id: "io.k8s.api.networking.v1.NetworkPolicySpec",
  description: "The pods a policy isolates and the traffic it allows them.",
});
export type NetworkPolicySpec = z.infer<typeof NetworkPolicySpec>;

/** networking.k8s.io/v1 NetworkPolicy. */
export const NetworkPolicy = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: NetworkPolicySpec.prefault({}),
}).meta({
  id: "io.k8s.api.networking.v1.NetworkPolicy",
  description: "NetworkPolicy describes what network traffic is allowed for a set of pods.",
  "x-kubernetes-group-version-kind": [
    { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy" },
  ],
});
export type NetworkPolicy = z.infer<typeof NetworkPolicy>;

/**
 * SetDefaults_NetworkPolicySpec: without `policyTypes`, a policy is of type Ingress, and also of
 * type Egress when it has egress rules.
 */
export function defaultNetworkPolicy(np: { spec?: unknown }): void {
  const spec = np.spec as NetworkPolicySpec | undefined;
  if (!spec || (spec.policyTypes?.length ?? 0) > 0) return;
  spec.policyTypes = (spec.egress?.length ?? 0) > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** The policy types of a (defaulted) policy. */
export function policyTypesOf(np: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = np.spec?.policyTypes ?? [];
  return { ingress: types.includes("Ingress"), egress: types.includes("Egress") };
}
