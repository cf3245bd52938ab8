/**
 * Printer for autoscaling HorizontalPodAutoscalers: REFERENCE, TARGETS, MINPODS, MAXPODS,
 * REPLICAS (kube-apiserver's printHorizontalPodAutoscaler and formatHPAMetrics).
 */

import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, int, NAME_COLUMN, type Printer } from "./table.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const UNKNOWN = "<unknown>";

/** One metric as `name: current/target` (percent for utilization targets). */
function formatMetric(spec: Obj, current: Obj | undefined): string {
  const source = spec.resource ?? spec.containerResource;
  if (!source) return `${UNKNOWN}/${UNKNOWN}`;
  const cur = (current?.resource ?? current?.containerResource)?.current;
  const target = source.target ?? {};
  const name = spec.type === "ContainerResource"
    ? `${source.name}(${source.container})`
    : source.name;
  if (target.type === "Utilization") {
    const now = cur?.averageUtilization !== undefined ? `${cur.averageUtilization}%` : UNKNOWN;
    return `${name}: ${now}/${target.averageUtilization}%`;
  }
  return `${name}: ${cur?.averageValue ?? UNKNOWN}/${target.averageValue}`;
}

/** The TARGETS cell: the first two metrics, then `+ N more...`. */
export function formatHpaTargets(hpa: Obj): string {
  const specs: Obj[] = hpa.spec?.metrics ?? [];
  if (specs.length === 0) return "<none>";
  const statuses: Obj[] = hpa.status?.currentMetrics ?? [];
  const parts = specs.map((m, i) => formatMetric(m, statuses[i]));
  if (parts.length > 2) return `${parts.slice(0, 2).join(", ")} + ${parts.length - 2} more...`;
  return parts.join(", ");
}

/** autoscaling HorizontalPodAutoscalers. */
export const horizontalPodAutoscalerPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Reference", "reference to the scaled target"),
    col("Targets", "current and target metric values"),
    col("MinPods", "lower limit for the number of pods", { type: "integer" }),
    col("MaxPods", "upper limit for the number of pods", { type: "integer" }),
    col("Replicas", "current number of replicas", { type: "integer" }),
    AGE_COLUMN,
  ],
  row: (hpa, now) => {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    return {
      cells: [
        hpa.metadata.name ?? "",
        `${ref.kind}/${ref.name}`,
        formatHpaTargets(hpa),
        hpa.spec?.minReplicas ?? "<unset>",
        int(hpa.spec?.maxReplicas),
        int(hpa.status?.currentReplicas),
        timestampAge(hpa.metadata.creationTimestamp, now),
      ],
    };
  },
};
