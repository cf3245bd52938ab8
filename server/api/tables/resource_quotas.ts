/** Printer for core/v1 ResourceQuotas: REQUEST and LIMIT as `used/hard` per resource. */

import { canonicalQuantity } from "../../../shared/api/quantity.ts";
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

/**
 * core/v1 ResourceQuotas (kube-apiserver's printResourceQuota): every resource of `status.hard`,
 * sorted, as `name: used/hard`; `limits.*` in LIMIT, the rest in REQUEST. A resource not yet
 * measured reads 0 used.
 */
export const resourceQuotaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Request",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
      "Limit",
      "Limits control the maximum amount of cpu/memory that a container may use independent of " +
        "contention on the node.",
    ),
    AGE_COLUMN,
  ],
  row: (quota, now) => {
    const hard: Record<string, string> = quota.status?.hard ?? {};
    const used: Record<string, string> = quota.status?.used ?? {};
    const request: string[] = [];
    const limit: string[] = [];
    for (const name of Object.keys(hard).sort()) {
      const pieces = name.split(".");
      const column = pieces.length > 1 && pieces[0] === "limits" ? limit : request;
      const usedText = used[name] === undefined ? "0" : canonicalQuantity(used[name]);
      column.push(`${name}: ${usedText}/${canonicalQuantity(hard[name])}`);
    }
    return {
      cells: [
        quota.metadata.name ?? "",
        request.join(", "),
        limit.join(", "),
        timestampAge(quota.metadata.creationTimestamp, now),
      ],
    };
  },
};
