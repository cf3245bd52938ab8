/**
 * Filters on node state: `NodeUnschedulable` rejects cordoned nodes (`spec.unschedulable`)
 * unless the pod tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint, as
 * kube-scheduler does; `NodeReady` rejects nodes whose Ready condition is not True (kube-scheduler
 * relies on the not-ready/unreachable taints alone; this also covers a node whose taints have not
 * been written yet).
 */
import { TAINT_UNSCHEDULABLE } from "../../shared/api/well_known_taints.ts";
import type { FilterPlugin, Taint } from "./framework.ts";
import { toleratesTaint } from "./taint_toleration.ts";

const UNSCHEDULABLE = ["node(s) were unschedulable"] as const;
const NOT_READY = ["node(s) were not ready"] as const;
const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" };

/** Rejects cordoned nodes. */
export const nodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  events: ["Node"],
  filter(pod, node) {
    if (!node.unschedulable) return null;
    if (pod.tolerations.some((t) => toleratesTaint(t, UNSCHEDULABLE_TAINT))) return null;
    return UNSCHEDULABLE;
  },
};

/** Rejects nodes that are not Ready. */
export const nodeReady: FilterPlugin = {
  name: "NodeReady",
  events: ["Node"],
  filter(_pod, node) {
    return node.ready ? null : NOT_READY;
  },
};
