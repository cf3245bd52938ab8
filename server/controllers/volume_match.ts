/**
 * The matching rules between claims and volumes, shared by the PV controller (binding) and the
 * scheduler's VolumeBinding plugin, as Kubernetes' `FindMatchingVolume` and
 * `CheckNodeAffinity`: same class, every requested access mode offered, enough capacity (the
 * smallest such volume wins), the claim's selector matching the volume's labels, the volume free
 * or pre-bound to this claim, and its node affinity matching the node when one is given.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { quantityValue } from "../../shared/api/quantity.ts";
import { isDefaultStorageClass } from "../../shared/api/storage_v1.ts";
import { selectorFromLabelSelector } from "../../shared/labels.ts";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_STORAGE_CLASS } from "../../shared/local_path.ts";
import { compileNodeConstraints, matchesNodeConstraints } from "../scheduler/node_selector.ts";

/** The class a claim or volume belongs to ("" for none), honouring the old beta annotation. */
export function storageClassOf(obj: KubeObject): string {
  return obj.spec?.storageClassName ??
    obj.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ?? "";
}

/** The requested size of a claim in bytes (0 when unparseable; validation forbids that). */
export function requestedBytes(pvc: KubeObject): number {
  try {
    return quantityValue(pvc.spec?.resources?.requests?.storage ?? "0");
  } catch {
    return 0;
  }
}

function capacityBytes(pv: KubeObject): number {
  try {
    return quantityValue(pv.spec?.capacity?.storage ?? "0");
  } catch {
    return 0;
  }
}

/** Whether a volume's required node affinity admits `node` (no affinity admits every node). */
export function volumeNodeAffinityMatches(pv: KubeObject, node: KubeObject): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  const { affinityTerms } = compileNodeConstraints({
    metadata: {},
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms },
        },
      },
    },
  });
  return matchesNodeConstraints({ affinityTerms: affinityTerms ?? [] }, {
    name: node.metadata.name ?? "",
    labels: node.metadata.labels ?? {},
  });
}

/** Whether a volume's claimRef names this claim (by uid once the uid is recorded). */
export function claimRefMatches(pv: KubeObject, pvc: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata.name || ref.namespace !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

function selectorMatches(pvc: KubeObject, pv: KubeObject): boolean {
  const selector = pvc.spec?.selector;
  if (!selector) return true;
  try {
    return selectorFromLabelSelector(selector).matches(pv.metadata.labels ?? {});
  } catch {
    return false;
  }
}

/** Whether `pv` can serve `pvc` (ignoring node affinity and whether it is taken). */
export function volumeSatisfiesClaim(pv: KubeObject, pvc: KubeObject): boolean {
  if (storageClassOf(pv) !== storageClassOf(pvc)) return false;
  if ((pv.spec?.volumeMode ?? "Filesystem") !== (pvc.spec?.volumeMode ?? "Filesystem")) {
    return false;
  }
  const offered: string[] = pv.spec?.accessModes ?? [];
  if (!(pvc.spec?.accessModes ?? []).every((m: string) => offered.includes(m))) return false;
  if (capacityBytes(pv) < requestedBytes(pvc)) return false;
  return selectorMatches(pvc, pv);
}

/**
 * The best volume for a claim among `volumes`: one pre-bound to it if any, else the smallest
 * free one that satisfies it (and, with `node`, is reachable from that node). Volumes being
 * deleted or bound elsewhere never match.
 */
export function findMatchingVolume(
  pvc: KubeObject,
  volumes: readonly KubeObject[],
  options: { node?: KubeObject } = {},
): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    if (options.node && !volumeNodeAffinityMatches(pv, options.node)) continue;
    if (pv.spec?.claimRef) {
      // Pre-bound to this claim: it wins, even if it is not the smallest.
      if (claimRefMatches(pv, pvc) && volumeSatisfiesClaim(pv, pvc)) return pv;
      continue;
    }
    if (pv.status?.phase === "Released" || pv.status?.phase === "Failed") continue;
    // A claim naming a volume only binds to that one.
    if (pvc.spec?.volumeName && pvc.spec.volumeName !== pv.metadata.name) continue;
    if (!volumeSatisfiesClaim(pv, pvc)) continue;
    if (!best || capacityBytes(pv) < capacityBytes(best)) best = pv;
  }
  return best;
}

/** The default StorageClass among `classes` (the newest, if several are marked). */
export function defaultStorageClassName(classes: readonly KubeObject[]): string | undefined {
  let best: KubeObject | undefined;
  for (const sc of classes) {
    if (!isDefaultStorageClass(sc)) continue;
    if (!best || (sc.metadata.creationTimestamp ?? "") > (best.metadata.creationTimestamp ?? "")) {
      best = sc;
    }
  }
  return best?.metadata.name;
}

/** The built-in default StorageClass, as k3s ships its local-path class. */
export function localPathStorageClass(): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name: LOCAL_PATH_STORAGE_CLASS,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  } as KubeObject;
}
