/**
 * The meta.k8s.io/v1 `Table` shape kubectl asks for with `Accept: ...;as=Table;g=meta.k8s.io`,
 * and the pieces every per-kind printer shares (the NAME and AGE columns, `<none>` cells).
 */

import type { KubeObject } from "../../../shared/api/object.ts";

/** One column header of a Table. */
export interface TableColumnDefinition {
  name: string;
  /** `string`, `integer`, `number`, `boolean` or `date`. */
  type: string;
  /** `name` marks the column `kubectl get all` prefixes with `kind/`. */
  format: string;
  description: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority: number;
}

/** A row condition (kube-apiserver marks finished pods `Completed`). */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** One row: cells in column order plus the object (PartialObjectMetadata or full). */
export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object?: unknown;
}

/** meta.k8s.io/v1 Table. */
export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** Column shorthand: `col("Ready", "The readiness ...")`, with type/format/priority options. */
export function col(
  name: string,
  description: string,
  options: { type?: string; format?: string; priority?: number } = {},
): TableColumnDefinition {
  return {
    name,
    type: options.type ?? "string",
    format: options.format ?? "",
    description,
    priority: options.priority ?? 0,
  };
}

/** The NAME column every kind starts with. */
export const NAME_COLUMN: TableColumnDefinition = col(
  "Name",
  "Name must be unique within a namespace. It is required when creating resources and cannot " +
    "be updated.",
  { format: "name" },
);

/** The AGE column (time since metadata.creationTimestamp). */
export const AGE_COLUMN: TableColumnDefinition = col(
  "Age",
  "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

/** Cells of one object's row for a given kind, given the printing time. */
export type RowPrinter = (obj: KubeObject, now: Date) => {
  cells: unknown[];
  conditions?: TableRowCondition[];
};

/** A per-kind printer: its columns and how to fill a row. */
export interface Printer {
  columns: TableColumnDefinition[];
  row: RowPrinter;
}

/** `<none>` for empty strings and absent values, else the string itself. */
export function orNone(value: string | null | undefined): string {
  return value ? value : "<none>";
}

/** `a=b,c=d` with keys sorted, `<none>` when empty (Kubernetes' `labels.FormatLabels`). */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return "<none>";
  return keys.map((k) => `${k}=${labels![k]}`).join(",");
}

/** An integer field, 0 when absent (Go's zero value). */
export function int(value: unknown): number {
  return typeof value === "number" ? value : 0;
}
