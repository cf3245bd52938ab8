/** The pod printer: NAME, READY, STATUS, RESTARTS, AGE and, wide, IP, NODE, NOMINATED NODE, READINESS GATES. */

import type { KubeObject } from "../../../shared/api/object.ts";
import { podStatusSummary } from "../pod_status_text.ts";
import { timestampAge } from "./human_duration.ts";
import {
  AGE_COLUMN,
  col,
  NAME_COLUMN,
  orNone,
  type Printer,
  type TableRowCondition,
} from "./table.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function readinessGates(pod: KubeObject): string {
  const gates: Any[] = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return "<none>";
  const conditions: Any[] = pod.status?.conditions ?? [];
  const met =
    gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === "True")
      .length;
  return `${met}/${gates.length}`;
}

function finishedConditions(pod: KubeObject): TableRowCondition[] | undefined {
  // kube-apiserver marks finished pods so clients can tell them apart.
  if (pod.status?.phase === "Succeeded") {
    return [{
      type: "Completed",
      status: "True",
      reason: "Succeeded",
      message: "The pod has completed successfully.",
    }];
  }
  if (pod.status?.phase === "Failed") {
    return [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];
  }
  return undefined;
}

/** Pods. */
export const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last " +
        "container in this pod has restarted.",
    ),
    AGE_COLUMN,
    col("IP", "IP address allocated to the pod.", { priority: 1 }),
    col("Node", "The node this pod is scheduled onto.", { priority: 1 }),
    col("Nominated Node", "The node the scheduler nominated for a preempting pod.", {
      priority: 1,
    }),
    col("Readiness Gates", "Readiness gates met out of those declared.", { priority: 1 }),
  ],
  row(pod, now) {
    const s = podStatusSummary(pod, now);
    const ip = pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP;
    return {
      cells: [
        pod.metadata.name ?? "",
        s.ready,
        s.status,
        s.restartsText,
        timestampAge(pod.metadata.creationTimestamp, now),
        orNone(ip),
        orNone(pod.spec?.nodeName),
        orNone(pod.status?.nominatedNodeName),
        readinessGates(pod),
      ],
      conditions: finishedConditions(pod),
    };
  },
};
