/** Printer for core/v1 LimitRanges: NAME and CREATED AT, as kube-apiserver's printLimitRange. */
import { col, NAME_COLUMN, type Printer } from "./table.ts";

/** core/v1 LimitRanges. */
export const limitRangePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Created At",
      "CreationTimestamp is a timestamp representing the server time when this object was " +
        "created.",
      { format: "date" },
    ),
  ],
  row: (lr) => ({ cells: [lr.metadata.name ?? "", lr.metadata.creationTimestamp ?? ""] }),
};
