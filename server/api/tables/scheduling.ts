/**
 * Printer for scheduling.k8s.io/v1 PriorityClasses: VALUE, GLOBAL-DEFAULT, AGE and
 * PREEMPTIONPOLICY, as kube-apiserver's printPriorityClass (AGE before the policy, as there).
 */
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, int, NAME_COLUMN, orNone, type Printer } from "./table.ts";

/** scheduling.k8s.io/v1 PriorityClasses. */
export const priorityClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Value",
      "value represents the integer value of this priority class. This is the actual priority " +
        "that pods receive when they have the name of this class in their pod spec.",
      { type: "integer" },
    ),
    col(
      "Global-Default",
      "globalDefault specifies whether this PriorityClass should be considered as the default " +
        "priority for pods that do not have any priority class.",
      { type: "boolean" },
    ),
    AGE_COLUMN,
    col(
      "PreemptionPolicy",
      "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, " +
        "PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
  ],
  row: (pc, now) => ({
    cells: [
      pc.metadata.name ?? "",
      int(pc.value),
      pc.globalDefault === true,
      timestampAge(pc.metadata.creationTimestamp, now),
      orNone(pc.preemptionPolicy),
    ],
  }),
};
