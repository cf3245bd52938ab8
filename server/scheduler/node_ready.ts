/**
 * Filter `NodeReady`: the node must have condition Ready=True and must not be cordoned
 * (`spec.unschedulable`).
 */
import type { FilterPlugin } from "./framework.ts";

const UNSCHEDULABLE = ["node(s) were unschedulable"] as const;
const NOT_READY = ["node(s) were not ready"] as const;

/** Rejects cordoned and not-ready nodes. */
export const nodeReady: FilterPlugin = {
  name: "NodeReady",
  filter(_pod, node) {
    if (node.unschedulable) return UNSCHEDULABLE;
    if (!node.ready) return NOT_READY;
    return null;
  },
};
