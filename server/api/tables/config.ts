/** Printers for configuration objects: ConfigMaps (DATA), Secrets (TYPE, DATA), ServiceAccounts. */

import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

function size(map: unknown): number {
  return map && typeof map === "object" ? Object.keys(map).length : 0;
}

/** ConfigMaps: DATA counts `data` and `binaryData` keys. */
export const configMapPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Data", "Number of keys in the ConfigMap.", { type: "integer" }),
    AGE_COLUMN,
  ],
  row: (cm, now) => ({
    cells: [
      cm.metadata.name ?? "",
      size(cm.data) + size(cm.binaryData),
      timestampAge(cm.metadata.creationTimestamp, now),
    ],
  }),
};

/** Secrets. */
export const secretPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Type", "The type of the secret"),
    col("Data", "The number of keys in the secret.", { type: "integer" }),
    AGE_COLUMN,
  ],
  row: (s, now) => ({
    cells: [
      s.metadata.name ?? "",
      s.type ?? "Opaque",
      size(s.data),
      timestampAge(s.metadata.creationTimestamp, now),
    ],
  }),
};

/** ServiceAccounts: SECRETS counts the (legacy) token Secrets listed in `secrets`. */
export const serviceAccountPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Secrets",
      "Secrets is a list of the secrets in the same namespace that pods running " +
        "using this ServiceAccount are allowed to use.",
      { type: "integer" },
    ),
    AGE_COLUMN,
  ],
  row: (sa, now) => ({
    cells: [
      sa.metadata.name ?? "",
      Array.isArray(sa.secrets) ? sa.secrets.length : 0,
      timestampAge(sa.metadata.creationTimestamp, now),
    ],
  }),
};
