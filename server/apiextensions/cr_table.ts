/**
 * The server-side Table printer of a custom resource version: NAME, then the CRD's
 * `additionalPrinterColumns` evaluated by JSONPath (a `date` column printed as an age, as
 * kube-apiserver's table convertor does); without printer columns, NAME and AGE.
 */
import type { CustomResourceColumnDefinition } from "../../shared/api/apiextensions_v1.ts";
import { timestampAge } from "../api/tables/human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "../api/tables/table.ts";
import { evaluateJsonPath, parseJsonPath } from "./json_path.ts";

/** The printer for a version's columns. */
export function customResourcePrinter(
  columns: readonly CustomResourceColumnDefinition[] | undefined,
): Printer {
  if (!columns || columns.length === 0) {
    return {
      columns: [NAME_COLUMN, AGE_COLUMN],
      row: (obj, now) => ({
        cells: [obj.metadata.name ?? "", timestampAge(obj.metadata.creationTimestamp, now)],
      }),
    };
  }
  const compiled = columns.map((c) => ({ def: c, steps: parseJsonPath(c.jsonPath) ?? [] }));
  return {
    columns: [
      NAME_COLUMN,
      ...columns.map((c) =>
        col(c.name, c.description ?? "", {
          type: c.type,
          format: c.format ?? "",
          priority: c.priority ?? 0,
        })
      ),
    ],
    row: (obj, now) => ({
      cells: [
        obj.metadata.name ?? "",
        ...compiled.map(({ def, steps }) => cell(evaluateJsonPath(obj, steps), def.type, now)),
      ],
    }),
  };
}

/** kube-apiserver's columns for CustomResourceDefinitions: NAME, CREATED AT. */
export const customResourceDefinitionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Created At", "The time the CRD was created.", { type: "date" }),
  ],
  row: (obj) => ({ cells: [obj.metadata.name ?? "", obj.metadata.creationTimestamp ?? null] }),
};

function cell(values: unknown[], type: string, now: Date): unknown {
  if (values.length === 0) return null;
  if (type === "date") {
    return typeof values[0] === "string" ? timestampAge(values[0], now) : null;
  }
  if (values.length === 1) {
    const v = values[0];
    if (typeof v === "object" && v !== null) return JSON.stringify(v);
    return v;
  }
  return values.map((v) => typeof v === "object" ? JSON.stringify(v) : String(v)).join(",");
}
