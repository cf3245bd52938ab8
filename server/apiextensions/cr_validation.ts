/**
 * Decoding and validation of custom resources (the KindValidator of a CRD's served version), as
 * kube-apiextensions-apiserver does on every write: envelope checks, metadata as ObjectMeta,
 * pruning of undeclared fields (`fieldValidation=Strict` refuses them with a 400, `Warn` reports
 * them), defaults from the schema, then validation against `openAPIV3Schema` and its CEL rules
 * (validation_rules.ts) as one 422.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { ObjectMeta } from "../../shared/api/meta.ts";
import { FieldErrors } from "../../shared/api/field_errors.ts";
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { validateNoNewFinalizers, validateObjectMeta } from "../../shared/api/validation_rules.ts";
import { type ValidateOptions, zodCauses } from "../../shared/api/validation.ts";
import { BadRequestError, InvalidError } from "../../shared/errors.ts";
import type { KindValidator } from "../registry/generic_registry.ts";
import { applyDefaults, type JSONSchemaProps, prune, validateValue } from "./schema.ts";
import { checkValidationRules, schemaHasRules } from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The validator of one served version of a CRD. */
export function customResourceValidator(
  info: ResourceInfo,
  schema: JSONSchemaProps,
): KindValidator {
  const decode = (raw: unknown, options: ValidateOptions): KubeObject => {
    if (!isObject(raw)) {
      throw new BadRequestError(`the body of the request must be a JSON object`);
    }
    const expected = apiVersionOf(info);
    if (raw.apiVersion !== undefined && raw.apiVersion !== expected) {
      throw new BadRequestError(
        `the API version in the data (${raw.apiVersion}) does not match the expected API version (${expected})`,
      );
    }
    if (raw.kind !== undefined && raw.kind !== info.kind) {
      throw new BadRequestError(
        `${raw.kind} in version "${info.version}" cannot be handled as a ${info.kind}: the kind in the data (${raw.kind}) does not match the expected kind (${info.kind})`,
      );
    }
    // The registry may leave `status: undefined` (a status subresource keeps the stored one).
    const obj = withoutUndefined(structuredClone(raw)) as Obj;
    obj.apiVersion = expected;
    obj.kind = info.kind;
    const meta = ObjectMeta.safeParse(isObject(obj.metadata) ? obj.metadata : {});
    if (!meta.success) {
      throw invalid(
        info,
        obj,
        zodCauses(meta.error).map((c) => ({ ...c, field: `metadata.${c.field}` })),
      );
    }
    const unknown = prune(obj, schema);
    for (const k of Object.keys(isObject(obj.metadata) ? obj.metadata : {})) {
      if (!(k in meta.data)) unknown.push(`metadata.${k}`);
    }
    obj.metadata = meta.data;
    if (unknown.length > 0) {
      const messages = unknown.sort().map((f) => `unknown field ${JSON.stringify(f)}`);
      const mode = options.fieldValidation ?? "Warn";
      if (mode === "Strict") {
        throw new BadRequestError(
          `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${
            messages.join(", ")
          }`,
        );
      }
      if (mode === "Warn") options.warnings?.push(...messages);
    }
    applyDefaults(obj, schema);
    return obj as KubeObject;
  };
  const check = (obj: KubeObject, old?: KubeObject) => {
    const errs = new FieldErrors();
    validateObjectMeta("CustomResource", obj.metadata, errs, { namespaced: info.namespaced });
    if (old) validateNoNewFinalizers(obj, old, errs);
    // The schema's own `metadata` (at most name/generateName rules) applies to the metadata too.
    validateValue(obj, schema, "", errs);
    if (errs.empty) checkValidationRules(obj, old, schema, errs);
    else if (schemaHasRules(schema)) {
      // As kube-apiserver: rules are not run on an object the schema already refuses.
      errs.invalid(
        "",
        null,
        "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      );
    }
    if (!errs.empty) throw invalid(info, obj, errs.causes);
    return obj;
  };
  return {
    create: (raw, options) => check(decode(raw, options)),
    update: (raw, old, options) => check(decode(raw, options), old),
  };
}

function invalid(
  info: ResourceInfo,
  obj: Obj,
  causes: ConstructorParameters<typeof InvalidError>[1],
): InvalidError {
  return new InvalidError(
    { kind: info.kind, resource: info.plural, group: info.group, name: obj.metadata?.name },
    causes,
  );
}

function withoutUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefined);
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = withoutUndefined(x);
  return out;
}
