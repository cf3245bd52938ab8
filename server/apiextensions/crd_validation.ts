/**
 * What a CustomResourceDefinition must satisfy to be stored (kube-apiextensions'
 * `ValidateCustomResourceDefinition`, the parts Skiff serves): `metadata.name` is
 * `<plural>.<group>`, DNS names, exactly one storage version, a structural schema per version,
 * CEL validation rules that compile (validation_rules.ts), sound subresource paths and printer
 * columns, and `conversion.strategy: None` — Skiff runs no
 * conversion webhooks, so `Webhook` is refused with a 422 naming the field. Also the CRD strategy
 * that defaults names, adds the cleanup finalizer and records stored versions.
 */
import {
  dns1035LabelErrors,
  dns1123LabelErrors,
  FieldErrors,
} from "../../shared/api/field_errors.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { InvalidError } from "../../shared/errors.ts";
import type { Strategy } from "../registry/strategy.ts";
import { parseJsonPath } from "./json_path.ts";
import { structuralErrors } from "./schema.ts";
import { validationRuleErrors } from "./validation_rules.ts";

/** The finalizer that deletes every custom resource before its CRD goes (as Kubernetes). */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

const COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"];

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Field errors of a CRD (and, on update, of its changes against `old`). */
export function validateCrd(crd: Obj, old?: Obj): FieldErrors {
  const errs = new FieldErrors();
  const spec: Obj = crd.spec ?? {};
  const names: Obj = spec.names ?? {};
  const group: string = spec.group ?? "";
  if (!group.includes(".")) {
    errs.invalid("spec.group", group, "should be a domain with at least one dot");
  }
  for (const [field, value] of [["plural", names.plural], ["singular", names.singular]]) {
    if (value === undefined && field === "singular") continue;
    for (const m of dns1123LabelErrors(String(value ?? ""))) {
      errs.invalid(`spec.names.${field}`, value, m);
    }
  }
  for (const [i, s] of (names.shortNames ?? []).entries()) {
    for (const m of dns1123LabelErrors(s)) errs.invalid(`spec.names.shortNames[${i}]`, s, m);
  }
  for (const [i, c] of (names.categories ?? []).entries()) {
    for (const m of dns1123LabelErrors(c)) errs.invalid(`spec.names.categories[${i}]`, c, m);
  }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(names.kind ?? "")) {
    errs.invalid(
      "spec.names.kind",
      names.kind ?? "",
      "must be a valid kind name (letters and digits, starting with a letter)",
    );
  }
  const expected = `${names.plural}.${group}`;
  if (crd.metadata?.name !== expected) {
    errs.invalid(
      "metadata.name",
      crd.metadata?.name ?? "",
      `must be spec.names.plural+"."+spec.group`,
    );
  }
  if (spec.preserveUnknownFields === true) {
    errs.invalid(
      "spec.preserveUnknownFields",
      true,
      "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
    );
  }
  if (spec.conversion?.strategy === "Webhook") {
    errs.notSupported("spec.conversion.strategy", "Webhook", ["None"]);
  }
  validateVersions(spec.versions ?? [], errs);
  if (old) {
    if (old.spec?.scope !== spec.scope) {
      errs.invalid("spec.scope", spec.scope, "field is immutable");
    }
    if (old.spec?.group !== spec.group) {
      errs.invalid("spec.group", spec.group, "field is immutable");
    }
  }
  return errs;
}

function validateVersions(versions: Obj[], errs: FieldErrors): void {
  if (versions.length === 0) {
    errs.required("spec.versions", "must have exactly one version marked as storage version");
    return;
  }
  const storage = versions.filter((v) => v.storage).length;
  if (storage !== 1) {
    errs.invalid(
      "spec.versions",
      versions.map((v) => v.name),
      "must have exactly one version marked as storage version",
    );
  }
  if (!versions.some((v) => v.served)) {
    errs.invalid(
      "spec.versions",
      versions.map((v) => v.name),
      "must have at least one served version",
    );
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const base = `spec.versions[${i}]`;
    for (const m of dns1035LabelErrors(v.name ?? "")) errs.invalid(`${base}.name`, v.name, m);
    if (seen.has(v.name)) errs.duplicate(`${base}.name`, v.name);
    seen.add(v.name);
    const schema = v.schema?.openAPIV3Schema;
    if (schema === undefined) {
      errs.required(`${base}.schema.openAPIV3Schema`, "schemas are required");
    } else {
      const structural = structuralErrors(schema, `${base}.schema.openAPIV3Schema`);
      errs.add(structural.causes);
      if (structural.empty) {
        errs.add(validationRuleErrors(schema, `${base}.schema.openAPIV3Schema`).causes);
      }
    }
    const scale = v.subresources?.scale;
    if (scale) {
      checkPath(
        scale.specReplicasPath,
        `${base}.subresources.scale.specReplicasPath`,
        [".spec."],
        errs,
      );
      checkPath(scale.statusReplicasPath, `${base}.subresources.scale.statusReplicasPath`, [
        ".status.",
      ], errs);
      if (scale.labelSelectorPath !== undefined) {
        checkPath(scale.labelSelectorPath, `${base}.subresources.scale.labelSelectorPath`, [
          ".spec.",
          ".status.",
        ], errs);
      }
    }
    (v.additionalPrinterColumns ?? []).forEach((c: Obj, j: number) => {
      const cb = `${base}.additionalPrinterColumns[${j}]`;
      if (!COLUMN_TYPES.includes(c.type)) errs.notSupported(`${cb}.type`, c.type, COLUMN_TYPES);
      if (c.priority !== undefined && c.priority < 0) {
        errs.invalid(`${cb}.priority`, c.priority, "must be greater than or equal to 0");
      }
      if (!parseJsonPath(c.jsonPath)) {
        errs.invalid(`${cb}.jsonPath`, c.jsonPath, "must be a simple json path");
      }
    });
  });
}

function checkPath(path: unknown, field: string, prefixes: string[], errs: FieldErrors): void {
  if (typeof path !== "string" || !parseJsonPath(path) || path.includes("[")) {
    errs.invalid(field, path, "must be a simple json path");
    return;
  }
  if (!prefixes.some((p) => path.startsWith(p))) {
    errs.invalid(
      field,
      path,
      `should be a json path under ${prefixes.map((p) => p.slice(0, -1)).join(" or ")}`,
    );
  }
}

function invalid(crd: KubeObject, errs: FieldErrors): InvalidError {
  return new InvalidError(
    {
      kind: "CustomResourceDefinition",
      resource: "customresourcedefinitions",
      group: "apiextensions.k8s.io",
      name: crd.metadata.name,
    },
    errs.causes,
  );
}

/** Defaults Kubernetes applies to names: singular = lowercase kind, listKind = kind + "List". */
function defaultNames(crd: KubeObject): void {
  const names = crd.spec.names;
  names.singular ??= String(names.kind).toLowerCase();
  names.listKind ??= `${names.kind}List`;
}

function storageVersion(crd: KubeObject): string | undefined {
  return (crd.spec.versions as Obj[]).find((v) => v.storage)?.name;
}

/** The strategy of `customresourcedefinitions` (a status subresource, validation, finalizer). */
export function crdStrategy(): Partial<Strategy> {
  return {
    statusSubresource: true,
    prepareForCreate(crd) {
      defaultNames(crd);
      const errs = validateCrd(crd);
      if (!errs.empty) throw invalid(crd, errs);
      const finalizers: string[] = crd.metadata.finalizers ?? [];
      if (!finalizers.includes(CRD_CLEANUP_FINALIZER)) {
        crd.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
      }
      const stored = storageVersion(crd);
      crd.status = {
        conditions: [],
        acceptedNames: { plural: "", kind: "" },
        storedVersions: stored ? [stored] : [],
      };
    },
    prepareForUpdate(crd, old) {
      defaultNames(crd);
      const errs = validateCrd(crd, old);
      if (!errs.empty) throw invalid(crd, errs);
      // storedVersions keeps every version objects may have been written at.
      const stored = storageVersion(crd);
      const versions: string[] = [...(old.status?.storedVersions ?? [])];
      if (stored && !versions.includes(stored)) versions.push(stored);
      crd.status = { ...crd.status, storedVersions: versions };
    },
  };
}
