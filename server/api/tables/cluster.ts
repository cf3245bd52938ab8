/** Printers for cluster bookkeeping objects: Namespaces (STATUS) and Leases (HOLDER). */

import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

/** Namespaces. */
export const namespacePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Status", "The status of the namespace"),
    AGE_COLUMN,
  ],
  row: (ns, now) => ({
    cells: [
      ns.metadata.name ?? "",
      ns.status?.phase ?? "",
      timestampAge(ns.metadata.creationTimestamp, now),
    ],
  }),
};

/** coordination.k8s.io Leases. */
export const leasePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Holder", "The holder of the lease."),
    AGE_COLUMN,
  ],
  row: (lease, now) => ({
    cells: [
      lease.metadata.name ?? "",
      lease.spec?.holderIdentity ?? "",
      timestampAge(lease.metadata.creationTimestamp, now),
    ],
  }),
};
