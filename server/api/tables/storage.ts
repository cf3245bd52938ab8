/**
 * Printers for storage: PersistentVolumes, PersistentVolumeClaims and StorageClasses, with the
 * columns of kube-apiserver 1.32 (`kubectl get pv,pvc,sc`).
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import { isDefaultStorageClass } from "../../../shared/api/storage_v1.ts";
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

const ACCESS_MODE_ABBREVIATIONS: [string, string][] = [
  ["ReadWriteOnce", "RWO"],
  ["ReadOnlyMany", "ROX"],
  ["ReadWriteMany", "RWX"],
  ["ReadWriteOncePod", "RWOP"],
];

/** `RWO,ROX` in Kubernetes' fixed order, as `GetAccessModesAsString`. */
export function accessModesText(modes: readonly string[] | undefined): string {
  return ACCESS_MODE_ABBREVIATIONS.filter(([mode]) => modes?.includes(mode))
    .map(([, short]) => short)
    .join(",");
}

/** The class of a volume or claim, honouring the old beta annotation as Kubernetes does. */
function className(obj: KubeObject): string {
  return obj.spec?.storageClassName ??
    obj.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ?? "";
}

function phaseOrTerminating(obj: KubeObject): string {
  return obj.metadata.deletionTimestamp ? "Terminating" : (obj.status?.phase ?? "");
}

const VOLUME_MODE = col(
  "VolumeMode",
  "volumeMode defines if a volume is intended to be used " +
    "with a formatted filesystem or to remain in raw block state.",
  { priority: 1 },
);

/** core/v1 PersistentVolumes. */
export const persistentVolumePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Capacity",
      "capacity is the description of the persistent volume's resources and capacity.",
    ),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col(
      "Reclaim Policy",
      "persistentVolumeReclaimPolicy defines what happens to a persistent " +
        "volume when released from its claim.",
    ),
    col(
      "Status",
      "phase indicates if a volume is available, bound to a claim, or released by a claim.",
    ),
    col(
      "Claim",
      "claimRef is part of a bi-directional binding between PersistentVolume and " +
        "PersistentVolumeClaim.",
    ),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE_COLUMN,
    VOLUME_MODE,
  ],
  row: (pv, now) => {
    const ref = pv.spec?.claimRef;
    return {
      cells: [
        pv.metadata.name ?? "",
        pv.spec?.capacity?.storage ?? "0",
        accessModesText(pv.spec?.accessModes),
        pv.spec?.persistentVolumeReclaimPolicy ?? "",
        phaseOrTerminating(pv),
        ref ? `${ref.namespace ?? ""}/${ref.name ?? ""}` : "",
        className(pv),
        pv.spec?.volumeAttributesClassName ?? "<unset>",
        pv.status?.reason ?? "",
        timestampAge(pv.metadata.creationTimestamp, now),
        pv.spec?.volumeMode ?? "<unset>",
      ],
    };
  },
};

/** core/v1 PersistentVolumeClaims: capacity and access modes only once bound to a volume. */
export const persistentVolumeClaimPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Status", "phase represents the current phase of PersistentVolumeClaim."),
    col(
      "Volume",
      "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col("Capacity", "capacity represents the actual resources of the underlying volume."),
    col(
      "Access Modes",
      "accessModes contains the actual access modes the volume backing the " +
        "PVC has.",
    ),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE_COLUMN,
    VOLUME_MODE,
  ],
  row: (pvc, now) => {
    const bound = Boolean(pvc.spec?.volumeName);
    return {
      cells: [
        pvc.metadata.name ?? "",
        phaseOrTerminating(pvc),
        pvc.spec?.volumeName ?? "",
        bound ? (pvc.status?.capacity?.storage ?? "0") : "",
        bound ? accessModesText(pvc.status?.accessModes) : "",
        className(pvc),
        pvc.spec?.volumeAttributesClassName ?? "<unset>",
        timestampAge(pvc.metadata.creationTimestamp, now),
        pvc.spec?.volumeMode ?? "<unset>",
      ],
    };
  },
};

/** storage.k8s.io/v1 StorageClasses; the default class's name is printed `name (default)`. */
export const storageClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Provisioner", "provisioner indicates the type of the provisioner."),
    col(
      "ReclaimPolicy",
      "reclaimPolicy controls the reclaimPolicy for dynamically provisioned " +
        "PersistentVolumes of this storage class.",
    ),
    col(
      "VolumeBindingMode",
      "volumeBindingMode indicates how PersistentVolumeClaims should be " +
        "provisioned and bound.",
    ),
    col(
      "AllowVolumeExpansion",
      "allowVolumeExpansion shows whether the storage class allow " +
        "volume expand.",
    ),
    AGE_COLUMN,
  ],
  row: (sc, now) => ({
    cells: [
      isDefaultStorageClass(sc) ? `${sc.metadata.name} (default)` : (sc.metadata.name ?? ""),
      sc.provisioner ?? "",
      sc.reclaimPolicy ?? "Delete",
      sc.volumeBindingMode ?? "Immediate",
      sc.allowVolumeExpansion === true,
      timestampAge(sc.metadata.creationTimestamp, now),
    ],
  }),
};
