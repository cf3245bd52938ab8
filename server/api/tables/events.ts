/**
 * The event printer: LAST SEEN, TYPE, REASON, OBJECT (`pod/web-1`), MESSAGE, and wide SUBOBJECT,
 * SOURCE, FIRST SEEN, COUNT, NAME. Accepts core/v1 Events and events.k8s.io/v1 Events.
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import { timestampAge } from "./human_duration.ts";
import { col, type Printer } from "./table.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function source(e: Any): string {
  const component = e.source?.component || e.reportingComponent || e.reportingController || "";
  const host = e.source?.host || e.reportingInstance || "";
  return host ? `${component}, ${host}` : component;
}

/** The fields the printer reads, from either Event version. */
function normalize(e: KubeObject) {
  const involved: Any = e.involvedObject ?? e.regarding ?? {};
  const first: string | undefined = e.firstTimestamp ?? e.deprecatedFirstTimestamp ??
    e.eventTime;
  const series: Any = e.series;
  const last: string | undefined = series?.lastObservedTime ?? e.lastTimestamp ??
    e.deprecatedLastTimestamp ?? first;
  const count: number = series?.count ?? e.count ?? e.deprecatedCount ?? 0;
  return {
    involved,
    first,
    last,
    count: count === 0 ? 1 : count,
    message: (e.message ?? e.note ?? "") as string,
  };
}

/** Events. */
export const eventPrinter: Printer = {
  columns: [
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning)."),
    col(
      "Reason",
      "A short, machine understandable string for the transition into the object's current status.",
    ),
    col("Object", "The object this Event is about."),
    col("Subobject", "The field of the object this Event is about.", { priority: 1 }),
    col("Source", "The component reporting this event.", { priority: 1 }),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", { priority: 1 }),
    col("Count", "The number of times this event has occurred.", { priority: 1 }),
    col("Name", "Name of the event.", { priority: 1, format: "name" }),
  ],
  row(e, now) {
    const n = normalize(e);
    const kind = String(n.involved.kind ?? "").toLowerCase();
    const target = n.involved.name ? `${kind}/${n.involved.name}` : kind;
    return {
      cells: [
        timestampAge(n.last, now),
        e.type ?? "",
        e.reason ?? "",
        target,
        n.involved.fieldPath ?? "",
        source(e),
        n.message,
        timestampAge(n.first, now),
        n.count,
        e.metadata.name ?? "",
      ],
    };
  },
};
