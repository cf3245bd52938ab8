/**
 * Validation of PersistentVolumes, PersistentVolumeClaims and StorageClasses, as kube-apiserver's
 * `ValidatePersistentVolume`, `ValidatePersistentVolumeClaim`, `ValidateStorageClass` and their
 * update rules. Where Kubernetes accepts something Skiff cannot honour (volume sources other than
 * hostPath and local, raw block volumes, the Recycle policy, cloning, resizing), the field is
 * refused here with a 422 that says so, instead of being stored and ignored.
 */
import { selectorFromLabelSelector } from "../labels.ts";
import type { LabelSelector as SelectorShape } from "../labels.ts";
import { ApiError } from "../errors.ts";
import type { FieldErrors } from "./field_errors.ts";
import { quantityMillis } from "./quantity.ts";
import { UNSUPPORTED_PV_SOURCES } from "./persistent_volume.ts";
import { validateLabels, validateNodeSelectorTerm } from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** The reclaim policies Skiff honours (Recycle, deprecated upstream, is refused). */
export const SUPPORTED_RECLAIM_POLICIES = ["Delete", "Retain"] as const;

const NOT_SUPPORTED = "not supported by Skiff";

function validateAccessModes(modes: string[] | undefined, field: string, errs: FieldErrors): void {
  if (!modes || modes.length === 0) {
    errs.required(field, "at least 1 access mode is required");
    return;
  }
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) {
    errs.forbidden(field, "may not use ReadWriteOncePod with other access modes");
  }
}

function validateStorageQuantity(q: string | undefined, field: string, errs: FieldErrors): void {
  if (q === undefined) errs.required(field);
  else if (quantityMillis(q) <= 0) errs.invalid(field, q, "must be greater than zero");
}

function validateSelector(selector: SelectorShape | undefined, field: string, errs: FieldErrors) {
  if (!selector) return;
  validateLabels(selector.matchLabels ?? undefined, `${field}.matchLabels`, errs);
  try {
    selectorFromLabelSelector(selector);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    errs.invalid(`${field}.matchExpressions`, selector.matchExpressions, e.message);
  }
}

function validateReclaimPolicy(policy: string | undefined, field: string, errs: FieldErrors) {
  if (policy !== undefined && !(SUPPORTED_RECLAIM_POLICIES as readonly string[]).includes(policy)) {
    errs.notSupported(field, policy, SUPPORTED_RECLAIM_POLICIES);
  }
}

function validateAbsolutePath(path: string | undefined, field: string, errs: FieldErrors): void {
  if (!path) errs.required(field);
  else if (!path.startsWith("/")) errs.invalid(field, path, "must be an absolute path");
  else if (path.split("/").includes("..")) errs.invalid(field, path, "must not contain '..'");
}

/** A PersistentVolume's spec. */
export function validatePersistentVolume(pv: Obj, errs: FieldErrors): void {
  const spec: Obj = pv.spec;
  validateAccessModes(spec.accessModes, "spec.accessModes", errs);
  const capacity: Record<string, string> = spec.capacity ?? {};
  if (Object.keys(capacity).length === 0) errs.required("spec.capacity");
  for (const name of Object.keys(capacity)) {
    if (name !== "storage") errs.notSupported("spec.capacity", name, ["storage"]);
  }
  if (capacity.storage !== undefined) {
    validateStorageQuantity(capacity.storage, "spec.capacity[storage]", errs);
  }
  validateReclaimPolicy(
    spec.persistentVolumeReclaimPolicy,
    "spec.persistentVolumeReclaimPolicy",
    errs,
  );

  const sources = ["hostPath", "local", ...UNSUPPORTED_PV_SOURCES].filter((s) => spec[s]);
  if (sources.length === 0) errs.required("spec", "must specify a volume type");
  else if (sources.length > 1) {
    errs.forbidden(`spec.${sources[1]}`, "may not specify more than 1 volume type");
  }
  for (const s of sources) {
    if ((UNSUPPORTED_PV_SOURCES as readonly string[]).includes(s)) {
      errs.forbidden(`spec.${s}`, `${s} volumes are ${NOT_SUPPORTED} (hostPath and local are)`);
    }
  }
  if (spec.hostPath) validateAbsolutePath(spec.hostPath.path, "spec.hostPath.path", errs);
  if (spec.local) {
    validateAbsolutePath(spec.local.path, "spec.local.path", errs);
    if (!spec.nodeAffinity?.required) {
      errs.required("spec.nodeAffinity", "Local volumes require node affinity");
    }
  }
  if (spec.volumeMode === "Block") {
    errs.notSupported("spec.volumeMode", "Block", ["Filesystem"]);
  }
  if (spec.mountOptions?.length) {
    errs.forbidden(
      "spec.mountOptions",
      `mount options are ${NOT_SUPPORTED} (volumes are bind mounts)`,
    );
  }
  if (spec.volumeAttributesClassName !== undefined) {
    errs.forbidden(
      "spec.volumeAttributesClassName",
      `VolumeAttributesClasses are ${NOT_SUPPORTED}`,
    );
  }
  const required = spec.nodeAffinity?.required;
  if (spec.nodeAffinity && !required) {
    errs.required("spec.nodeAffinity.required", "must specify required node constraints");
  }
  if (required) {
    const terms: Obj[] = required.nodeSelectorTerms ?? [];
    if (terms.length === 0) {
      errs.required(
        "spec.nodeAffinity.required.nodeSelectorTerms",
        "must have at least one node selector term",
      );
    }
    terms.forEach((t, i) => {
      validateNodeSelectorTerm(t, `spec.nodeAffinity.required.nodeSelectorTerms[${i}]`, errs);
    });
  }
  if (spec.claimRef && !spec.claimRef.name) errs.required("spec.claimRef.name");
}

/** A PersistentVolumeClaim's spec. */
export function validatePersistentVolumeClaim(pvc: Obj, errs: FieldErrors): void {
  const spec: Obj = pvc.spec;
  validateAccessModes(spec.accessModes, "spec.accessModes", errs);
  validateSelector(spec.selector, "spec.selector", errs);
  validateStorageQuantity(spec.resources?.requests?.storage, "spec.resources[storage]", errs);
  const limit = spec.resources?.limits?.storage;
  const request = spec.resources?.requests?.storage;
  if (
    limit !== undefined && request !== undefined && quantityMillis(request) > quantityMillis(limit)
  ) {
    errs.invalid(
      "spec.resources.requests",
      request,
      `must be less than or equal to storage limit of ${limit}`,
    );
  }
  if (spec.volumeMode === "Block") {
    errs.notSupported("spec.volumeMode", "Block", ["Filesystem"]);
  }
  for (const f of ["dataSource", "dataSourceRef"]) {
    if (spec[f]) errs.forbidden(`spec.${f}`, `volume populators and cloning are ${NOT_SUPPORTED}`);
  }
  if (spec.volumeAttributesClassName !== undefined) {
    errs.forbidden(
      "spec.volumeAttributesClassName",
      `VolumeAttributesClasses are ${NOT_SUPPORTED}`,
    );
  }
}

/** A StorageClass. */
export function validateStorageClass(sc: Obj, errs: FieldErrors): void {
  if (!sc.provisioner) errs.required("provisioner");
  validateReclaimPolicy(sc.reclaimPolicy, "reclaimPolicy", errs);
  if (sc.allowVolumeExpansion === true) {
    errs.forbidden("allowVolumeExpansion", `volume expansion is ${NOT_SUPPORTED}`);
  }
  if (sc.mountOptions?.length) {
    errs.forbidden("mountOptions", `mount options are ${NOT_SUPPORTED} (volumes are bind mounts)`);
  }
  (sc.allowedTopologies as Obj[] | undefined)?.forEach((term, i) => {
    (term.matchLabelExpressions as Obj[] | undefined)?.forEach((req, j) => {
      const f = `allowedTopologies[${i}].matchLabelExpressions[${j}]`;
      if (!req.key) errs.required(`${f}.key`);
      if (!req.values?.length) errs.required(`${f}.values`, "must specify as least one value");
    });
  });
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as Obj).sort().map((k) => [k, sortKeys((v as Obj)[k])]),
    );
  }
  return v;
}

const PV_SOURCE_FIELDS = ["hostPath", "local", ...UNSUPPORTED_PV_SOURCES];

/** What may change in a PersistentVolume update (its source and node affinity may not). */
export function validatePersistentVolumeUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  const pick = (spec: Obj) => Object.fromEntries(PV_SOURCE_FIELDS.map((f) => [f, spec?.[f]]));
  if (!jsonEqual(pick(next.spec), pick(old.spec))) {
    errs.forbidden(
      "spec.persistentvolumesource",
      "spec.persistentvolumesource is immutable after creation",
    );
  }
  if (old.spec?.volumeMode !== undefined && next.spec.volumeMode !== old.spec.volumeMode) {
    errs.invalid("spec.volumeMode", next.spec.volumeMode, "field is immutable");
  }
  if (old.spec?.nodeAffinity && !jsonEqual(next.spec.nodeAffinity, old.spec.nodeAffinity)) {
    errs.invalid("spec.nodeAffinity", next.spec.nodeAffinity ?? null, "field is immutable");
  }
}

const PVC_UPDATE_MESSAGE =
  "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

/**
 * What may change in a PersistentVolumeClaim update: binding sets `volumeName` once and the
 * default class may be filled in once; nothing else (resizing is refused, Skiff cannot expand).
 */
export function validatePersistentVolumeClaimUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  const spec: Obj = structuredClone(next.spec);
  const oldSpec: Obj = old.spec ?? {};
  if (!oldSpec.volumeName) spec.volumeName = oldSpec.volumeName;
  if (oldSpec.storageClassName === undefined) spec.storageClassName = undefined;
  const oldRequest = oldSpec.resources?.requests?.storage;
  const newRequest = spec.resources?.requests?.storage;
  if (
    oldRequest !== undefined && newRequest !== undefined &&
    quantityMillis(newRequest) !== quantityMillis(oldRequest)
  ) {
    errs.forbidden("spec.resources.requests.storage", `resizing a claim is ${NOT_SUPPORTED}`);
  }
  spec.resources = oldSpec.resources;
  if (!jsonEqual(spec, oldSpec)) errs.forbidden("spec", PVC_UPDATE_MESSAGE);
}

/** What may change in a StorageClass update (neither its provisioner nor its policies). */
export function validateStorageClassUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  if (!jsonEqual(next.parameters ?? {}, old.parameters ?? {})) {
    errs.forbidden("parameters", "updates to parameters are forbidden.");
  }
  if (next.provisioner !== old.provisioner) {
    errs.forbidden("provisioner", "updates to provisioner are forbidden.");
  }
  if (next.reclaimPolicy !== old.reclaimPolicy) {
    errs.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.");
  }
  if (old.volumeBindingMode !== undefined && next.volumeBindingMode !== old.volumeBindingMode) {
    errs.invalid("volumeBindingMode", next.volumeBindingMode, "field is immutable");
  }
}
