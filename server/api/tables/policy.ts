/** Printer for policy/v1 PodDisruptionBudgets: MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS. */

import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, int, NAME_COLUMN, type Printer } from "./table.ts";

/** policy/v1 PodDisruptionBudgets (kube-apiserver's printPodDisruptionBudget). */
export const podDisruptionBudgetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Min Available", "The minimum number of pods that must be available."),
    col("Max Unavailable", "The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", {
      type: "integer",
    }),
    AGE_COLUMN,
  ],
  row: (pdb, now) => ({
    cells: [
      pdb.metadata.name ?? "",
      pdb.spec?.minAvailable !== undefined ? String(pdb.spec.minAvailable) : "N/A",
      pdb.spec?.maxUnavailable !== undefined ? String(pdb.spec.maxUnavailable) : "N/A",
      int(pdb.status?.disruptionsAllowed),
      timestampAge(pdb.metadata.creationTimestamp, now),
    ],
  }),
};
