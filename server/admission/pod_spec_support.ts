/**
 * "Accepted means honoured" at admission: a pod (or a workload's pod template) that sets a field
 * the node does not honour is refused with a 422 naming the field —
 * `Pod "x" is invalid: spec.volumes[0].nfs: Forbidden: not supported by Skiff` — instead of being
 * stored and then silently not done. What is honoured and what is refused is the table in
 * `pod_spec_fields.ts`. (ServiceAccounts are checked by service_account.ts.)
 *
 * On update only what the update introduces is refused, so objects stored before a refusal
 * existed can still be labelled, scaled, bound and deleted.
 */
import { formatValue } from "../../shared/api/field_errors.ts";
import { jsonEqual } from "../../shared/api/validation.ts";
import { InvalidError, type StatusCause } from "../../shared/errors.ts";
import type { AdmissionPlugin } from "./admission.ts";
import { type FieldSupport, fieldSupport, POD_SPEC_FIELDS } from "./pod_spec_fields.ts";
import { hasPodSpec, podSpecOf } from "./pod_template.ts";

/** The message of a refused field. */
export const NOT_SUPPORTED = "not supported by Skiff";

/** An entry's `noop` and `supported` values as JSON, computed once per entry. */
const acceptedJson = new WeakMap<FieldSupport, Set<string>>();

/** True when the entry lets this value through (`noop`/`supported` compare as JSON). */
export function accepts(entry: FieldSupport, value: unknown): boolean {
  if (entry.refused === undefined) return true;
  let json = acceptedJson.get(entry);
  if (!json) {
    json = new Set([...entry.noop ?? [], ...entry.supported ?? []].map((v) => JSON.stringify(v)));
    acceptedJson.set(entry, json);
  }
  if (json.size > 0 && json.has(JSON.stringify(value))) return true;
  if (entry.allowed?.(value)) return true;
  return false;
}

function refusal(field: string, entry: FieldSupport | undefined, value: unknown): StatusCause {
  if (entry?.supported) {
    return {
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${formatValue(value)}: supported values: ${
        entry.supported.map(formatValue).join(", ")
      }`,
      field,
    };
  }
  return { reason: "FieldValueForbidden", message: `Forbidden: ${NOT_SUPPORTED}`, field };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The fields of a pod spec the node would not honour, as 422 causes; `specPath` prefixes the
 * field paths (`spec`, `spec.template.spec`).
 */
export function unsupportedFields(spec: Record<string, unknown>, specPath: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const visit = (value: unknown, generic: string, concrete: string) => {
    if (value === undefined || value === null) return;
    // Subtree entries are never descended into, so what is found here is the field's own entry.
    const found = fieldSupport(generic);
    if (!found) {
      // A key no entry knows (loose objects keep unknown keys): nothing on the node reads it.
      causes.push(refusal(concrete, undefined, value));
      return;
    }
    const entry = found.entry;
    if (!accepts(entry, value)) {
      causes.push(refusal(concrete, entry, value));
      return;
    }
    if (entry.subtree) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isObject(item)) visitObject(item, `${generic}[]`, `${concrete}[${i}]`);
      });
    } else if (isObject(value)) visitObject(value, generic, concrete);
  };
  const visitObject = (obj: Record<string, unknown>, generic: string, concrete: string) => {
    for (const [k, v] of Object.entries(obj)) {
      visit(v, generic ? `${generic}.${k}` : k, `${concrete}.${k}`);
    }
  };
  visitObject(spec, "", specPath);
  return causes;
}

/** Builds the admission plugin refusing what the node does not do. */
export function podSpecSupportAdmission(): AdmissionPlugin {
  return (attrs) => {
    if (!hasPodSpec(attrs.resource)) return;
    const view = podSpecOf(attrs.resource, attrs.object);
    if (!view) return;
    const old = attrs.operation === "UPDATE"
      ? podSpecOf(attrs.resource, attrs.oldObject)
      : undefined;
    // An update that leaves the pod spec as it was (a label, a finalizer, a status) introduces
    // nothing: skip walking both specs to find that out.
    if (old && jsonEqual(view.spec, old.spec)) return;
    let causes: StatusCause[];
    if (old) {
      // Only the fields the update changes can introduce a refusal: walk those, on both sides.
      const changed = Object.keys(view.spec).filter((k) => !jsonEqual(view.spec[k], old.spec[k]));
      const pick = (spec: Record<string, unknown>) =>
        Object.fromEntries(changed.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k]]));
      const before = new Set(
        unsupportedFields(pick(old.spec), old.specPath).map((c) => JSON.stringify(c)),
      );
      causes = unsupportedFields(pick(view.spec), view.specPath)
        .filter((c) => !before.has(JSON.stringify(c)));
    } else {
      causes = unsupportedFields(view.spec, view.specPath);
    }
    if (causes.length > 0) {
      throw new InvalidError(
        {
          kind: attrs.kind,
          resource: attrs.resource,
          group: attrs.group || undefined,
          name: attrs.name,
        },
        causes,
      );
    }
  };
}

/** The refused fields with their notes, for documentation. */
export function refusedFields(): { path: string; note?: string }[] {
  return Object.entries(POD_SPEC_FIELDS).filter(([, e]) => e.refused !== undefined)
    .map(([path, e]) => ({ path, note: e.note }));
}

/** For tests: an object carrying `value` at a PodSpec-relative generic path. */
export function withField(
  spec: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const out = structuredClone(spec);
  const parts = path.split(".");
  // deno-lint-ignore no-explicit-any
  let cur: any = out;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const isList = part.endsWith("[]");
    const key = isList ? part.slice(0, -2) : part;
    if (last) {
      cur[key] = value;
      return;
    }
    if (isList) {
      cur[key] ??= [{}];
      cur = cur[key][0];
    } else {
      cur[key] ??= {};
      cur = cur[key];
    }
  });
  return out;
}
