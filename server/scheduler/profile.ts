/**
 * The default plugin lists, in the order they run. Adding a step is one file plus one line here.
 */
import type { Profile } from "./framework.ts";
import { leastAllocated } from "./least_allocated.ts";
import { nodePorts } from "./node_ports.ts";
import { nodeReady, nodeUnschedulable } from "./node_ready.ts";
import { nodeResourcesFit } from "./node_resources_fit.ts";
import { nodeSelector } from "./node_selector.ts";
import { createSpread } from "./spread.ts";
import { taintToleration } from "./taint_toleration.ts";
import { volumeBinding } from "./volume_binding.ts";

/**
 * The default profile, in kube-scheduler's order: cordon first, then taints — so an unreachable
 * node reports its `node.kubernetes.io/unreachable` taint — then readiness, labels, ports,
 * resources, volumes.
 */
export function defaultProfile(): Profile {
  return {
    filters: [
      nodeUnschedulable,
      taintToleration,
      nodeReady,
      nodeSelector,
      nodePorts,
      nodeResourcesFit,
      volumeBinding,
    ],
    scores: [leastAllocated, createSpread()],
  };
}
