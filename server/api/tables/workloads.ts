/**
 * Printers for the replicated workloads: Deployments (READY, UP-TO-DATE, AVAILABLE), ReplicaSets
 * and ReplicationControllers (DESIRED, CURRENT, READY), with CONTAINERS, IMAGES, SELECTOR wide.
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import { selectorFromLabelSelector } from "../../../shared/labels.ts";
import { timestampAge } from "./human_duration.ts";
import {
  AGE_COLUMN,
  col,
  formatLabels,
  int,
  NAME_COLUMN,
  type Printer,
  type TableColumnDefinition,
} from "./table.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const WIDE_COLUMNS: TableColumnDefinition[] = [
  col("Containers", "Names of each container in the template.", { priority: 1 }),
  col("Images", "Images referenced by each container in the template.", { priority: 1 }),
  col("Selector", "Label selector for pods. Existing pods selected by it are managed.", {
    priority: 1,
  }),
];

function containersAndImages(obj: KubeObject): [string, string] {
  const containers: Any[] = obj.spec?.template?.spec?.containers ?? [];
  return [
    containers.map((c) => c.name).join(","),
    containers.map((c) => c.image).join(","),
  ];
}

/** A structured selector as text (`<none>` when empty, `<invalid>` when it does not parse). */
export function labelSelectorText(selector: unknown): string {
  try {
    const text = selectorFromLabelSelector(selector as Any).toString();
    return text === "" ? "<none>" : text;
  } catch {
    return "<invalid>";
  }
}

function replicas(obj: KubeObject): number {
  // The API defaults spec.replicas to 1.
  return typeof obj.spec?.replicas === "number" ? obj.spec.replicas : 1;
}

/** apps/v1 Deployments. */
export const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Ready", "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      {
        type: "integer",
      },
    ),
    col(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      {
        type: "integer",
      },
    ),
    AGE_COLUMN,
    ...WIDE_COLUMNS,
  ],
  row(d, now) {
    const [containers, images] = containersAndImages(d);
    return {
      cells: [
        d.metadata.name ?? "",
        `${int(d.status?.readyReplicas)}/${replicas(d)}`,
        int(d.status?.updatedReplicas),
        int(d.status?.availableReplicas),
        timestampAge(d.metadata.creationTimestamp, now),
        containers,
        images,
        labelSelectorText(d.spec?.selector),
      ],
    };
  },
};

const REPLICA_COLUMNS: TableColumnDefinition[] = [
  NAME_COLUMN,
  col("Desired", "Number of desired pods.", { type: "integer" }),
  col("Current", "Number of actual replicas.", { type: "integer" }),
  col("Ready", "The number of ready replicas.", { type: "integer" }),
  AGE_COLUMN,
  ...WIDE_COLUMNS,
];

function replicaRow(obj: KubeObject, now: Date, selector: string) {
  const [containers, images] = containersAndImages(obj);
  return {
    cells: [
      obj.metadata.name ?? "",
      replicas(obj),
      int(obj.status?.replicas),
      int(obj.status?.readyReplicas),
      timestampAge(obj.metadata.creationTimestamp, now),
      containers,
      images,
      selector,
    ],
  };
}

/** apps/v1 ReplicaSets (structured selector). */
export const replicaSetPrinter: Printer = {
  columns: REPLICA_COLUMNS,
  row: (rs, now) => replicaRow(rs, now, labelSelectorText(rs.spec?.selector)),
};

/** core/v1 ReplicationControllers (map selector). */
export const replicationControllerPrinter: Printer = {
  columns: REPLICA_COLUMNS,
  row: (rc, now) => replicaRow(rc, now, formatLabels(rc.spec?.selector)),
};

/** apps/v1 DaemonSets: DESIRED … AVAILABLE and the template's NODE SELECTOR. */
export const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Desired", "The desired number of nodes that should be running the daemon pod.", {
      type: "integer",
    }),
    col("Current", "The number of nodes that are running at least 1 daemon pod.", {
      type: "integer",
    }),
    col("Ready", "The number of nodes that should be running the daemon pod and are ready.", {
      type: "integer",
    }),
    col("Up-to-date", "The number of nodes running the updated daemon pod.", {
      type: "integer",
    }),
    col("Available", "The number of nodes running a daemon pod available for minReadySeconds.", {
      type: "integer",
    }),
    col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit."),
    AGE_COLUMN,
    ...WIDE_COLUMNS,
  ],
  row(ds, now) {
    const [containers, images] = containersAndImages(ds);
    const s = ds.status ?? {};
    return {
      cells: [
        ds.metadata.name ?? "",
        int(s.desiredNumberScheduled),
        int(s.currentNumberScheduled),
        int(s.numberReady),
        int(s.updatedNumberScheduled),
        int(s.numberAvailable),
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        timestampAge(ds.metadata.creationTimestamp, now),
        containers,
        images,
        labelSelectorText(ds.spec?.selector),
      ],
    };
  },
};

/** apps/v1 StatefulSets: READY as ready/desired. */
export const statefulSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Ready", "Number of the pod with ready state"),
    AGE_COLUMN,
    WIDE_COLUMNS[0],
    WIDE_COLUMNS[1],
  ],
  row(sts, now) {
    const [containers, images] = containersAndImages(sts);
    return {
      cells: [
        sts.metadata.name ?? "",
        `${int(sts.status?.readyReplicas)}/${replicas(sts)}`,
        timestampAge(sts.metadata.creationTimestamp, now),
        containers,
        images,
      ],
    };
  },
};

/** apps/v1 ControllerRevisions: the owning controller as `kind.group/name` and the revision. */
export const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Controller", "Controller of the object"),
    col("Revision", "Revision of the ControllerRevision", { type: "integer" }),
    AGE_COLUMN,
  ],
  row(cr, now) {
    const ref = (cr.metadata.ownerReferences ?? []).find((r) => r.controller);
    let controller = "<none>";
    if (ref) {
      const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
      controller = `${ref.kind.toLowerCase()}${group ? `.${group}` : ""}/${ref.name}`;
    }
    return {
      cells: [
        cr.metadata.name ?? "",
        controller,
        int((cr as Any).revision),
        timestampAge(cr.metadata.creationTimestamp, now),
      ],
    };
  },
};
