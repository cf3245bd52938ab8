/**
 * The default plugin lists, in the order they run. Adding a step is one file plus one line here.
 */
import type { Profile } from "./framework.ts";
import { leastAllocated } from "./least_allocated.ts";
import { nodePorts } from "./node_ports.ts";
import { nodeReady, nodeUnschedulable } from "./node_ready.ts";
import { nodeResourcesFit } from "./node_resources_fit.ts";
import { createNodeAffinityScore, nodeSelector } from "./node_selector.ts";
import { createInterPodAffinity } from "./inter_pod_affinity.ts";
import { createTopologySpread } from "./topology_spread.ts";
import { createSpread } from "./spread.ts";
import { taintToleration } from "./taint_toleration.ts";
import { volumeBinding } from "./volume_binding.ts";

/**
 * The default profile, in kube-scheduler's order: cordon first, then taints — so an unreachable
 * node reports its `node.kubernetes.io/unreachable` taint — then readiness, labels, ports,
 * resources, volumes, topology spread, pod affinity. Score weights as kube-scheduler's defaults
 * (NodeAffinity, PodTopologySpread, InterPodAffinity ×2).
 */
export function defaultProfile(): Profile {
  const topologySpread = createTopologySpread();
  const interPodAffinity = createInterPodAffinity();
  return {
    filters: [
      nodeUnschedulable,
      taintToleration,
      nodeReady,
      nodeSelector,
      nodePorts,
      nodeResourcesFit,
      volumeBinding,
      topologySpread,
      interPodAffinity,
    ],
    scores: [
      leastAllocated,
      createSpread(),
      createNodeAffinityScore(),
      topologySpread,
      interPodAffinity,
    ],
  };
}
