/**
 * Server-side Table printing: the meta.k8s.io/v1 `Table` kube-apiserver returns to `kubectl get`,
 * with each kind's own columns (kubectl 1.32 has no client-side printers left, so these are the
 * columns users see). Kinds without a printer get NAME and AGE.
 *
 * @example
 * ```ts
 * if (wantsTable(req.headers.get("accept"))) {
 *   return jsonResponse(tableFor(info, items, { includeObject: "Metadata", listMeta }));
 * }
 * ```
 */

import { horizontalPodAutoscalerPrinter } from "./autoscaling.ts";
import type { KubeObject } from "../../../shared/api/object.ts";
import { cronJobPrinter, jobPrinter } from "./batch.ts";
import { podDisruptionBudgetPrinter } from "./policy.ts";
import { priorityClassPrinter } from "./scheduling.ts";
import { resourceQuotaPrinter } from "./resource_quotas.ts";
import { configMapPrinter, secretPrinter, serviceAccountPrinter } from "./config.ts";
import { leasePrinter, namespacePrinter } from "./cluster.ts";
import { eventPrinter } from "./events.ts";
import { timestampAge } from "./human_duration.ts";
import { customResourceDefinitionPrinter } from "../../apiextensions/cr_table.ts";
import { ingressClassPrinter, ingressPrinter, networkPolicyPrinter } from "./networking.ts";
import { nodePrinter } from "./nodes.ts";
import { podPrinter } from "./pods.ts";
import { roleBindingPrinter, rolePrinter } from "./rbac.ts";
import { endpointSlicePrinter, endpointsPrinter, servicePrinter } from "./services.ts";
import {
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  storageClassPrinter,
} from "./storage.ts";
import { AGE_COLUMN, NAME_COLUMN, type Printer, type Table, type TableRow } from "./table.ts";
import { partialObjectMetadata } from "../responses.ts";
import {
  controllerRevisionPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  replicaSetPrinter,
  replicationControllerPrinter,
  statefulSetPrinter,
} from "./workloads.ts";

export type {
  Printer,
  Table,
  TableColumnDefinition,
  TableRow,
  TableRowCondition,
} from "./table.ts";
export { humanDuration, timestampAge } from "./human_duration.ts";

/** The NAME/AGE printer for kinds without their own. */
export const genericPrinter: Printer = {
  columns: [NAME_COLUMN, AGE_COLUMN],
  row: (obj, now) => ({
    cells: [obj.metadata.name ?? "", timestampAge(obj.metadata.creationTimestamp, now)],
  }),
};

/** Printers by `group/plural` (core group = ""). */
const PRINTERS: Record<string, Printer> = {
  "/pods": podPrinter,
  "/nodes": nodePrinter,
  "/services": servicePrinter,
  "/endpoints": endpointsPrinter,
  "/replicationcontrollers": replicationControllerPrinter,
  "/configmaps": configMapPrinter,
  "/secrets": secretPrinter,
  "/serviceaccounts": serviceAccountPrinter,
  "/namespaces": namespacePrinter,
  "/events": eventPrinter,
  "/persistentvolumes": persistentVolumePrinter,
  "/persistentvolumeclaims": persistentVolumeClaimPrinter,
  // kube-apiserver prints LimitRanges as Roles: NAME and CREATED AT.
  "/limitranges": rolePrinter,
  "/resourcequotas": resourceQuotaPrinter,
  "storage.k8s.io/storageclasses": storageClassPrinter,
  "scheduling.k8s.io/priorityclasses": priorityClassPrinter,
  "events.k8s.io/events": eventPrinter,
  "apps/deployments": deploymentPrinter,
  "apps/replicasets": replicaSetPrinter,
  "apps/daemonsets": daemonSetPrinter,
  "apps/statefulsets": statefulSetPrinter,
  "apps/controllerrevisions": controllerRevisionPrinter,
  "batch/jobs": jobPrinter,
  "batch/cronjobs": cronJobPrinter,
  "policy/poddisruptionbudgets": podDisruptionBudgetPrinter,
  "autoscaling/horizontalpodautoscalers": horizontalPodAutoscalerPrinter,
  "coordination.k8s.io/leases": leasePrinter,
  "discovery.k8s.io/endpointslices": endpointSlicePrinter,
  "apiextensions.k8s.io/customresourcedefinitions": customResourceDefinitionPrinter,
  "rbac.authorization.k8s.io/roles": rolePrinter,
  "rbac.authorization.k8s.io/clusterroles": rolePrinter,
  "rbac.authorization.k8s.io/rolebindings": roleBindingPrinter,
  "rbac.authorization.k8s.io/clusterrolebindings": roleBindingPrinter,
  "networking.k8s.io/ingresses": ingressPrinter,
  "networking.k8s.io/ingressclasses": ingressClassPrinter,
  "networking.k8s.io/networkpolicies": networkPolicyPrinter,
};

/** The printer for a resource (the generic NAME/AGE printer when it has none). */
export function printerFor(info: { group: string; plural: string }): Printer {
  return PRINTERS[`${info.group}/${info.plural}`] ?? genericPrinter;
}

/** `includeObject` as the query parameter spells it; `true` = Object, `false` = Metadata. */
export type IncludeObject = "None" | "Metadata" | "Object" | boolean;

/** Options of {@linkcode tableFor}. */
export interface TableOptions {
  /** What `rows[].object` holds; default `Metadata` (a PartialObjectMetadata), as kube-apiserver. */
  includeObject?: IncludeObject;
  /** The printing time for AGE columns; default now. */
  now?: Date;
  /** The list's metadata (resourceVersion, continue, remainingItemCount). */
  listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** Omit column definitions (the `noHeaders` Table option). */
  noHeaders?: boolean;
}

function rowObject(
  obj: KubeObject,
  info: { group: string; kind: string; version?: string },
  mode: "None" | "Metadata" | "Object",
): unknown {
  if (mode === "None") return undefined;
  if (mode === "Object") {
    // kubectl decodes rows[].object by kind/apiVersion: make sure both are there.
    const apiVersion = obj.apiVersion ??
      (info.version ? (info.group ? `${info.group}/${info.version}` : info.version) : undefined);
    return { ...obj, kind: obj.kind ?? info.kind, ...(apiVersion ? { apiVersion } : {}) };
  }
  return partialObjectMetadata(obj);
}

/**
 * Builds the Table for `objects` of one resource kind. Without `listMeta`, a single object's
 * resourceVersion becomes the Table's (as for a GET or a watch event).
 */
export function tableFor(
  info: { group: string; kind: string; plural: string; version?: string; printer?: Printer },
  objects: KubeObject[],
  options: TableOptions = {},
): Table {
  // A custom resource's served version carries its own printer (additionalPrinterColumns).
  const printer = info.printer ?? printerFor(info);
  const now = options.now ?? new Date();
  const include = options.includeObject;
  const mode = include === true
    ? "Object"
    : include === false || include === undefined
    ? "Metadata"
    : include;

  const rows: TableRow[] = objects.map((obj) => {
    const { cells, conditions } = printer.row(obj, now);
    const row: TableRow = { cells };
    if (conditions) row.conditions = conditions;
    const object = rowObject(obj, info, mode);
    if (object !== undefined) row.object = object;
    return row;
  });

  const metadata: Table["metadata"] = {};
  const listMeta = options.listMeta;
  if (listMeta) {
    if (listMeta.resourceVersion !== undefined) metadata.resourceVersion = listMeta.resourceVersion;
    if (listMeta.continue) metadata.continue = listMeta.continue;
    if (listMeta.remainingItemCount !== undefined) {
      metadata.remainingItemCount = listMeta.remainingItemCount;
    }
  } else if (objects.length === 1 && objects[0].metadata.resourceVersion) {
    metadata.resourceVersion = objects[0].metadata.resourceVersion;
  }

  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: options.noHeaders ? [] : printer.columns,
    rows,
  };
}
